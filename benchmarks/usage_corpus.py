"""A realistic synthetic history of agent transcripts for the usage-index benchmark.

``python benchmarks/usage_corpus.py OUT [--mib 1024] [--seed 7]`` writes under ``OUT``:

- ``claude/projects/<project>/<session>.jsonl``: Claude Code transcripts shaped like the real
  history ccusage's fixture generator describes (file sizes log-normal: median ~105 KB,
  p99 ~5.4 MB, one file per ~400 KB; ~128 projects; lines ~3 KB on average, ~40% with usage).
  Every response is written as 1-3 lines sharing ``message.id``/``requestId`` whose first
  copies carry placeholder output counts (streaming snapshots); tool results carry large
  escaped payloads; ~20% of sessions have subagent files (``<session>/subagents/``,
  ``isSidechain``) and a few of those replay a parent message under a new request id
  (``/btw``); one large ``file-history-snapshot`` file has no usage at all.
- ``codex/sessions/YYYY/MM/DD/rollout-*.jsonl``: Codex rollouts with cumulative
  ``token_count`` events (cached input a subset of input, reasoning of output), each snapshot
  repeated once as the CLI does on rate-limit updates (~5% of the bytes).
- ``gemini/.gemini/tmp/<project>/chats/session-*.jsonl``: Gemini CLI chats (~3%).

Deterministic for a seed. The per-request usage sums are written to ``OUT/expected.json``
(what a correct index must report), so the benchmark can check totals.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

CLAUDE_MODELS = ("claude-sonnet-4-5-20250929", "claude-opus-4-5-20251101",
                 "claude-haiku-4-5-20251001")  # fmt: skip
START = datetime(2026, 10, 1, tzinfo=UTC)
WORDS = ("the", "router", "null", "check", "test", "passes", "function", "returns", "value",
         "\"quoted\"", "path/to/file.py", "\\n", "{json}", "self", "import", "error", "x=1")


class Totals:
    def __init__(self) -> None:
        self.by_agent: dict[str, dict[str, int]] = {}

    def add(self, agent: str, **counts: int) -> None:
        slot = self.by_agent.setdefault(agent, {})
        for key, value in counts.items():
            slot[key] = slot.get(key, 0) + value
        slot["requests"] = slot.get("requests", 0) + 1


def _text(rng: random.Random, size: int) -> str:
    words = []
    length = 0
    while length < size:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:size]


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _dump(entry: dict[str, Any]) -> str:
    return json.dumps(entry, separators=(",", ":")) + "\n"


class ClaudeWriter:
    def __init__(self, rng: random.Random, totals: Totals, pool: list[str]) -> None:
        self.rng, self.totals, self.pool = rng, totals, pool

    def usage(self) -> dict[str, Any]:
        r = self.rng
        w5 = r.choice((0, 0, r.randrange(100, 20_000)))
        w1 = r.choice((0, 0, 0, r.randrange(100, 5_000)))
        return {"input_tokens": r.randrange(1, 50), "cache_creation_input_tokens": w5 + w1,
                "cache_read_input_tokens": r.randrange(0, 150_000),
                "output_tokens": r.randrange(20, 3_000), "service_tier": "standard",
                "cache_creation": {"ephemeral_5m_input_tokens": w5,
                                   "ephemeral_1h_input_tokens": w1}}  # fmt: skip

    def session(self, path: Path, target: int, session: str, cwd: str, moment: datetime,
                sidechain: bool = False,
                replay_from: list[tuple[str, dict[str, Any]]] | None = None,
                ) -> list[tuple[str, dict[str, Any]]]:  # fmt: skip
        r = self.rng
        base = {"parentUuid": None, "isSidechain": sidechain, "userType": "external", "cwd": cwd,
                "sessionId": session, "version": "2.1.330", "gitBranch": r.choice(
                    ("main", "main", "feature/login", "fix/router"))}  # fmt: skip
        written = 0
        responses: list[tuple[str, dict[str, Any]]] = []
        model = r.choice(CLAUDE_MODELS)
        with path.open("w") as out:
            while written < target:
                moment += timedelta(seconds=r.randrange(2, 90))
                kind = r.random()
                if replay_from and kind < 0.1:
                    msg_id, usage = r.choice(replay_from)  # a /btw replay: not a new request
                    entry = {**base, "type": "assistant", "requestId": f"req_{uuid.uuid4().hex}",
                             "timestamp": _ts(moment), "uuid": str(uuid.uuid4()),
                             "message": {"id": msg_id, "type": "message", "role": "assistant",
                                         "model": model, "content": [],
                                         "usage": usage}}  # fmt: skip
                    line = _dump(entry)
                elif kind < 0.45:
                    line = self.response(base, moment, model, responses)
                else:
                    size = int(min(r.lognormvariate(7.4, 1.1), 400_000))
                    payload = self.pool[r.randrange(len(self.pool))][:size]
                    entry = {**base, "type": "user", "timestamp": _ts(moment),
                             "uuid": str(uuid.uuid4()),
                             "message": {"role": "user", "content": [{
                                 "type": "tool_result", "tool_use_id": "toolu_x",
                                 "content": payload}]},
                             "toolUseResult": {"stdout": payload[: size // 2],
                                               "stderr": ""}}  # fmt: skip
                    line = _dump(entry)
                out.write(line)
                written += len(line)
        return responses

    def response(self, base: dict[str, Any], moment: datetime, model: str,
                 responses: list[tuple[str, dict[str, Any]]]) -> str:  # fmt: skip
        r = self.rng
        msg_id, req = f"msg_{uuid.uuid4().hex[:24]}", f"req_{uuid.uuid4().hex[:24]}"
        final = self.usage()
        lines = []
        copies = r.choice((1, 2, 2, 3))
        for copy in range(copies):
            usage = dict(final)
            if copy < copies - 1:
                # a streaming snapshot: a placeholder below the final count
                usage["output_tokens"] = r.randrange(1, min(30, final["output_tokens"]))
            block = {"type": "text", "text": _text(r, r.randrange(50, 1500))} if copy % 2 == 0 \
                else {"type": "tool_use", "id": "toolu_1", "name": "Edit",
                      "input": {"file_path": "/src/a.py", "old_string": _text(r, 300),
                                "new_string": _text(r, 300)}}  # fmt: skip
            entry = {**base, "type": "assistant", "requestId": req, "timestamp": _ts(moment),
                     "uuid": str(uuid.uuid4()),
                     "message": {"model": model, "id": msg_id, "type": "message",
                                 "role": "assistant", "content": [block],
                                 "stop_reason": "tool_use", "usage": usage}}  # fmt: skip
            lines.append(_dump(entry))
        self.totals.add(
            "claude", input=final["input_tokens"], output=final["output_tokens"],
            cache_read=final["cache_read_input_tokens"],
            cache_write=final["cache_creation_input_tokens"],
        )  # fmt: skip
        responses.append((msg_id, final))
        return "".join(lines)


def _sizes(rng: random.Random, total: int) -> list[int]:
    count = max(4, total // 400_000)
    raw = [min(rng.lognormvariate(math.log(105_000), 1.69), 87e6) for _ in range(count)]
    scale = total / sum(raw)
    return [max(2_000, int(s * scale)) for s in raw]


def _codex(root: Path, rng: random.Random, totals: Totals, budget: int, pool: list[str]) -> None:
    written = 0
    n = 0
    while written < budget:
        n += 1
        thread = str(uuid.UUID(int=rng.getrandbits(128)))
        moment = START + timedelta(hours=rng.randrange(0, 24 * 60))
        day = root / "sessions" / moment.strftime("%Y/%m/%d")
        day.mkdir(parents=True, exist_ok=True)
        path = day / f"rollout-{moment.strftime('%Y-%m-%dT%H-%M-%S')}-{thread}.jsonl"
        lines = [_dump({"timestamp": _ts(moment), "type": "session_meta", "payload": {
            "id": thread, "cwd": f"/home/dev/codex-{n % 16}", "originator": "codex_cli",
            "cli_version": "0.169.0", "git": {"branch": "main"}}}),
            _dump({"timestamp": _ts(moment), "type": "turn_context",
                   "payload": {"model": "gpt-5", "cwd": f"/home/dev/codex-{n % 16}"}})]  # fmt: skip
        total = {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0,
                 "reasoning_output_tokens": 0, "total_tokens": 0}  # fmt: skip
        for _ in range(rng.randrange(3, 40)):
            moment += timedelta(seconds=rng.randrange(5, 120))
            inp = rng.randrange(2_000, 60_000)
            cached = rng.randrange(0, inp)
            out = rng.randrange(50, 4_000)
            reasoning = rng.randrange(0, out)
            last = {"input_tokens": inp, "cached_input_tokens": cached, "output_tokens": out,
                    "reasoning_output_tokens": reasoning, "total_tokens": inp + out}  # fmt: skip
            total = {k: total[k] + last[k] for k in total}
            payload = pool[rng.randrange(len(pool))][: rng.randrange(200, 20_000)]
            lines.append(_dump({"timestamp": _ts(moment), "type": "response_item", "payload": {
                "type": "message", "role": "assistant", "content": [
                    {"type": "output_text", "text": payload}]}}))  # fmt: skip
            event = _dump({"timestamp": _ts(moment), "type": "event_msg", "payload": {
                "type": "token_count", "info": {"total_token_usage": total,
                                                "last_token_usage": last}}})  # fmt: skip
            lines += [event, event]  # the CLI repeats a snapshot on rate-limit updates
            totals.add("codex", input=inp - cached, cache_read=cached, output=out,
                       reasoning=reasoning)  # fmt: skip
        text = "".join(lines)
        path.write_text(text)
        written += len(text)


def _gemini(root: Path, rng: random.Random, totals: Totals, budget: int) -> None:
    written = 0
    n = 0
    while written < budget:
        n += 1
        session = str(uuid.UUID(int=rng.getrandbits(128)))
        moment = START + timedelta(hours=rng.randrange(0, 24 * 60))
        chats = root / ".gemini" / "tmp" / f"proj{n % 8}" / "chats"
        chats.mkdir(parents=True, exist_ok=True)
        path = chats / f"session-{moment.strftime('%Y-%m-%dT%H-%M')}-{session[:8]}.jsonl"
        lines = [_dump({"sessionId": session, "projectHash": "h", "startTime": _ts(moment),
                        "lastUpdated": _ts(moment), "kind": "main"})]  # fmt: skip
        for i in range(rng.randrange(2, 30)):
            moment += timedelta(seconds=rng.randrange(5, 120))
            prompt = rng.randrange(1_000, 80_000)
            cached = rng.randrange(0, prompt)
            out = rng.randrange(20, 2_000)
            thoughts = rng.randrange(0, 500)
            lines.append(_dump({"id": f"u{i}", "timestamp": _ts(moment), "type": "user",
                                "content": _text(rng, 200)}))  # fmt: skip
            tokens = {"input": prompt, "output": out, "cached": cached, "thoughts": thoughts,
                      "tool": 0, "total": prompt + out + thoughts}  # fmt: skip
            lines.append(_dump({"id": f"g{i}", "timestamp": _ts(moment), "type": "gemini",
                                "content": _text(rng, rng.randrange(100, 4000)),
                                "model": "gemini-2.5-pro", "tokens": tokens}))  # fmt: skip
            totals.add("gemini", input=prompt - cached, cache_read=cached,
                       output=out + thoughts, reasoning=thoughts)  # fmt: skip
        text = "".join(lines)
        path.write_text(text)
        written += len(text)


def generate(out: Path, mib: int, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    uuid.uuid4 = lambda: uuid.UUID(int=rng.getrandbits(128), version=4)  # type: ignore[assignment]
    totals = Totals()
    pool = [json.dumps(_text(rng, 400_000))[1:-1] for _ in range(8)]  # escaped payloads
    total = mib * 2**20
    claude_bytes = int(total * 0.92)
    projects = out / "claude" / "projects"
    writer = ClaudeWriter(rng, totals, pool)
    big = int(total * 0.04)  # one file-history-snapshot file without any usage line
    snap = projects / "-home-dev-proj-0"
    snap.mkdir(parents=True, exist_ok=True)
    with (snap / f"{uuid.uuid4()}.jsonl").open("w") as f:
        done = 0
        while done < big:
            line = _dump({"type": "file-history-snapshot", "messageId": str(uuid.uuid4()),
                          "snapshot": {"trackedFileBackups": {"a.py": pool[0][:60_000]}}})
            f.write(line)
            done += len(line)
    sizes = _sizes(rng, claude_bytes - big)
    files = 1
    for size in sizes:
        project = f"-home-dev-proj-{rng.randrange(128)}"
        cwd = "/home/dev/proj-" + project.rsplit("-", 1)[1]
        session = str(uuid.uuid4())
        folder = projects / project
        folder.mkdir(parents=True, exist_ok=True)
        moment = START + timedelta(minutes=rng.randrange(0, 60 * 24 * 60))
        if rng.random() < 0.2 and size > 20_000:
            main_size = int(size * 0.6)
            responses = writer.session(folder / f"{session}.jsonl", main_size, session, cwd,
                                       moment)  # fmt: skip
            sub = folder / session / "subagents"
            sub.mkdir(parents=True, exist_ok=True)
            replay = responses if rng.random() < 0.25 else None
            writer.session(sub / f"agent-{uuid.uuid4().hex[:8]}.jsonl", size - main_size,
                           session, cwd, moment, sidechain=True, replay_from=replay)  # fmt: skip
            files += 2
        else:
            writer.session(folder / f"{session}.jsonl", size, session, cwd, moment)
            files += 1
    _codex(out / "codex", rng, totals, int(total * 0.05), pool)
    _gemini(out / "gemini", rng, totals, int(total * 0.03))
    summary = {"mib": mib, "seed": seed, "claude_files": files, "expected": totals.by_agent}
    (out / "expected.json").write_text(json.dumps(summary, indent=2))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(generate(args.out, args.mib, args.seed), indent=2))


if __name__ == "__main__":
    main()
