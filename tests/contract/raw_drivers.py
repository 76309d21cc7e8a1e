"""Raw per-CLI knowledge for the smoke tests: flags, output parsing, usage mapping, errors.

Each ``RawDriver`` knows, for one real CLI at its pinned version: the headless argv (prompt
always on stdin), how to resume, which flag allows file writes, how to read session id /
answer / usage from its output, how the server's native usage shows up in that output, how a
request body encodes the conversation, and what a 500/529 looks like. Facts come from
/work/shared/reference/real-cli-harness.md and were re-checked against the pinned versions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fakeapi.clis import MODELS
from tests.fakeapi.procs import CliResult
from tests.fakeapi.turns import Turn


@dataclass(frozen=True)
class Parsed:
    """What a CLI printed for one successful run."""

    session_id: str
    answer: str
    usage: dict[str, Any]


def _texts(content: Any) -> list[str]:
    """Text strings of an Anthropic/OpenAI content value (str or list of blocks)."""
    if isinstance(content, str):
        return [content]
    return [b["text"] for b in content or [] if isinstance(b, dict) and "text" in b]


class RawDriver:
    """Base class; see the module docstring."""

    name = ""
    api = ""

    def first_args(self, write: bool = False) -> list[str]:
        raise NotImplementedError

    def resume_args(self, session_id: str) -> list[str]:
        raise NotImplementedError

    def parse(self, result: CliResult) -> Parsed:
        raise NotImplementedError

    def sent_usage(self, n: int) -> dict[str, Any]:
        """A distinctive native usage object (``n`` varies the numbers)."""
        raise NotImplementedError

    def printed_usage(self, sent: dict[str, Any]) -> dict[str, Any]:
        """What the CLI prints for one request that carried ``sent``."""
        raise NotImplementedError

    def resumed_usage(self, first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
        """What a resumed process prints after requests carrying ``first`` then ``second``."""
        return self.printed_usage(second)

    def write_turn(self, path: Path, content: str) -> Turn:
        """A tool-use turn that makes the CLI create ``path`` with ``content``."""
        raise NotImplementedError

    def history(self, body: Any) -> list[tuple[str, str]]:
        """(role, text) pairs of the conversation in a main request; role user|assistant."""
        raise NotImplementedError

    def tool_results(self, body: Any) -> list[str]:
        """Serialized tool results present in a main request."""
        raise NotImplementedError

    def check_error(self, result: CliResult, status: int, message: str) -> None:
        """Assert the CLI's documented reaction to an HTTP ``status`` error."""
        raise NotImplementedError


class ClaudeDriver(RawDriver):
    name, api = "claude", "anthropic"

    def first_args(self, write: bool = False) -> list[str]:
        extra = ["--permission-mode", "acceptEdits"] if write else []
        return ["-p", "--output-format", "json", "--model", MODELS["claude"], *extra]

    def resume_args(self, session_id: str) -> list[str]:
        return [*self.first_args(), "--resume", session_id]

    def parse(self, result: CliResult) -> Parsed:
        out = result.json()
        usage = {k: out["usage"][k] for k in ("input_tokens", "output_tokens",
                 "cache_creation_input_tokens", "cache_read_input_tokens", "cache_creation")}
        model_usage = out["modelUsage"][MODELS["claude"]]
        usage["modelUsage"] = {k: model_usage[k] for k in ("inputTokens", "outputTokens",
                               "cacheReadInputTokens", "cacheCreationInputTokens")}
        return Parsed(out["session_id"], out["result"], usage)

    def sent_usage(self, n: int) -> dict[str, Any]:
        return {"input_tokens": 1234 * n, "output_tokens": 56 * n,
                "cache_creation_input_tokens": 789 * n, "cache_read_input_tokens": 4321 * n,
                "cache_creation": {"ephemeral_5m_input_tokens": 700 * n,
                                   "ephemeral_1h_input_tokens": 89 * n}}

    def printed_usage(self, sent: dict[str, Any]) -> dict[str, Any]:
        return {**sent, "modelUsage": {
            "inputTokens": sent["input_tokens"], "outputTokens": sent["output_tokens"],
            "cacheReadInputTokens": sent["cache_read_input_tokens"],
            "cacheCreationInputTokens": sent["cache_creation_input_tokens"]}}

    def resumed_usage(self, first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
        # 2.1.330: `usage` covers this process only, `modelUsage` is restored (cumulative).
        one, two = self.printed_usage(first), self.printed_usage(second)
        total = {k: one["modelUsage"][k] + v for k, v in two["modelUsage"].items()}
        return {**two, "modelUsage": total}

    def write_turn(self, path: Path, content: str) -> Turn:
        return {"text": "Writing the file.",
                "tool_use": {"name": "Write", "input": {"file_path": str(path),
                                                         "content": content}}}

    def history(self, body: Any) -> list[tuple[str, str]]:
        return [(m["role"], t) for m in body["messages"] if m["role"] in ("user", "assistant")
                for t in _texts(m["content"])]

    def tool_results(self, body: Any) -> list[str]:
        return [json.dumps(b) for m in body["messages"] if isinstance(m["content"], list)
                for b in m["content"] if b.get("type") == "tool_result"]

    def check_error(self, result: CliResult, status: int, message: str) -> None:
        assert result.returncode == 1, result.describe()
        out = result.json()
        assert out["is_error"] is True and out["api_error_status"] == status, out
        assert out["result"].startswith(f"API Error: {status} {message}."), out["result"]
        assert out["total_cost_usd"] == 0


class GeminiDriver(RawDriver):
    name, api = "gemini", "gemini"

    def first_args(self, write: bool = False) -> list[str]:
        extra = ["--approval-mode", "auto_edit"] if write else []
        return ["-o", "json", "-m", MODELS["gemini"], *extra]

    def resume_args(self, session_id: str) -> list[str]:
        return [*self.first_args(), "--resume", session_id]

    def parse(self, result: CliResult) -> Parsed:
        out = result.json()
        tokens = out["stats"]["models"][MODELS["gemini"]]["tokens"]
        return Parsed(out["session_id"], out["response"], dict(tokens))

    def sent_usage(self, n: int) -> dict[str, Any]:
        return {"promptTokenCount": 1234 * n, "candidatesTokenCount": 56 * n,
                "cachedContentTokenCount": 400 * n, "thoughtsTokenCount": 78 * n,
                "totalTokenCount": (1234 + 56 + 78) * n}

    def printed_usage(self, sent: dict[str, Any]) -> dict[str, Any]:
        return {"prompt": sent["promptTokenCount"], "candidates": sent["candidatesTokenCount"],
                "cached": sent["cachedContentTokenCount"], "thoughts": sent["thoughtsTokenCount"],
                "total": sent["totalTokenCount"], "tool": 0,
                "input": sent["promptTokenCount"] - sent["cachedContentTokenCount"]}

    def write_turn(self, path: Path, content: str) -> Turn:
        return {"tool_use": {"name": "write_file",
                             "input": {"file_path": str(path), "content": content}}}

    def history(self, body: Any) -> list[tuple[str, str]]:
        role = {"user": "user", "model": "assistant"}
        return [(role[c["role"]], p["text"]) for c in body["contents"]
                for p in c["parts"] if "text" in p]

    def tool_results(self, body: Any) -> list[str]:
        return [json.dumps(p) for c in body["contents"] for p in c["parts"]
                if "functionResponse" in p]

    def check_error(self, result: CliResult, status: int, message: str) -> None:
        # Exit code is the HTTP status mod 256; stdout empty; JSON error report on stderr.
        assert result.returncode == status % 256, result.describe()
        assert result.stdout == "", result.describe()
        report = json.loads(result.stderr[result.stderr.rindex("\n{\n"):])
        assert report["error"]["code"] == status, report
        inner = json.loads(report["error"]["message"])
        assert inner["error"] == {"code": status, "message": message,
                                  "status": "INTERNAL" if status == 500 else "UNKNOWN"}


class CodexDriver(RawDriver):
    name, api = "codex", "openai"
    _base = ("exec", "--json", "--skip-git-repo-check")

    def first_args(self, write: bool = False) -> list[str]:
        extra = ["--sandbox", "workspace-write"] if write else []
        return [*self._base, *extra]

    def resume_args(self, session_id: str) -> list[str]:
        return [*self._base, "resume", session_id]

    def parse(self, result: CliResult) -> Parsed:
        events = result.jsonl()
        started = [e for e in events if e["type"] == "thread.started"]
        answers = [e["item"]["text"] for e in events if e["type"] == "item.completed"
                   and e["item"]["type"] == "agent_message"]
        usage = [e["usage"] for e in events if e["type"] == "turn.completed"]
        assert len(started) == 1 and answers and len(usage) == 1, result.describe()
        return Parsed(started[0]["thread_id"], answers[-1], usage[0])

    def sent_usage(self, n: int) -> dict[str, Any]:
        return {"input_tokens": 1234 * n, "input_tokens_details": {"cached_tokens": 400 * n},
                "output_tokens": 56 * n, "output_tokens_details": {"reasoning_tokens": 20 * n}}

    def printed_usage(self, sent: dict[str, Any]) -> dict[str, Any]:
        return {"input_tokens": sent["input_tokens"],
                "cached_input_tokens": sent["input_tokens_details"]["cached_tokens"],
                "cache_write_input_tokens": 0, "output_tokens": sent["output_tokens"],
                "reasoning_output_tokens": sent["output_tokens_details"]["reasoning_tokens"]}

    def resumed_usage(self, first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
        # turn.completed.usage is cumulative for the thread, across processes.
        one, two = self.printed_usage(first), self.printed_usage(second)
        return {k: one[k] + two[k] for k in one}

    def write_turn(self, path: Path, content: str) -> Turn:
        lines = "".join(f"+{line}\n" for line in content.splitlines())
        patch = f"*** Begin Patch\n*** Add File: {path.name}\n{lines}*** End Patch\n"
        return {"tool_use": {"name": "apply_patch", "input": patch}}

    def history(self, body: Any) -> list[tuple[str, str]]:
        return [(i["role"], t) for i in body["input"] if i.get("type") == "message"
                and i.get("role") in ("user", "assistant") for t in _texts(i["content"])]

    def tool_results(self, body: Any) -> list[str]:
        return [json.dumps(i) for i in body["input"]
                if i.get("type") in ("function_call_output", "custom_tool_call_output")]

    def check_error(self, result: CliResult, status: int, message: str) -> None:
        assert result.returncode == 1, result.describe()
        events = result.jsonl()
        assert events[-1]["type"] == "turn.failed", result.describe()
        failed = events[-1]["error"]["message"]
        assert {"type": "error", "message": failed} in events
        if status == 500:  # codex replaces 5xx bodies with a canned text
            assert failed.startswith("We’re currently experiencing high demand"), failed
        else:
            assert failed.startswith(f"unexpected status {status} "), failed
            assert message in failed, failed


DRIVERS: dict[str, RawDriver] = {d.name: d for d in (ClaudeDriver(), GeminiDriver(),
                                                      CodexDriver())}
