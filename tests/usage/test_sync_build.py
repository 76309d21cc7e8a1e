"""The cold-build order of the usage index: ``req``'s secondary indexes are built after a
first sync's rows are in and exist after every sync (also one following an interrupted first
sync); sidechain replays are found whichever sync brings the main-chain copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_orchestrator.usage import db as usage_db
from ai_orchestrator.usage.sync import open_index, sync
from tests.usage.test_index import SONNET as SONNET_ID
from tests.usage.test_index import _assistant, _line, _totals, _u


def _indexes() -> set[str]:
    conn = open_index()
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    finally:
        conn.close()
    return {name for (name,) in rows}


def _project(home: Path) -> Path:
    project = home / ".claude" / "projects" / "-p"
    project.mkdir(parents=True, exist_ok=True)
    return project


def _sessions(project: Path, *, files: int, requests: int, filler: int = 0) -> None:
    """``files`` transcripts of ``requests`` requests (1 input, 1 output token each), each
    followed by a user line of ``filler`` bytes."""
    user = _line(type="user", message={"content": "p" * filler}) if filler else ""
    for n in range(files):
        (project / f"s{n}.jsonl").write_text(
            "".join(
                _assistant(f"msg_{n}_{k}", "r", "2026-12-01T10:00:00Z", _u(1, 1), session=f"s{n}")
                + user
                for k in range(requests)
            )
        )


def test_a_first_sync_leaves_every_index_and_uses_them(isolated_home: Path) -> None:
    project = _project(isolated_home)
    (project / "s.jsonl").write_text(
        _assistant("msg_1", "r1", "2026-12-01T10:00:00Z", _u(1, 2), session="s")
    )
    sync()
    assert set(usage_db.REQ_INDEXES) <= _indexes()
    conn = open_index()
    try:
        plan = " ".join(
            str(row)
            for row in conn.execute(
                "EXPLAIN QUERY PLAN SELECT 1 FROM req WHERE sidechain = 1 AND msg_id = 'x'"
            )
        )
    finally:
        conn.close()
    assert "req_side" in plan or "req_msg" in plan


def test_an_interrupted_first_sync_gets_its_indexes_back(isolated_home: Path) -> None:
    _sessions(_project(isolated_home), files=4, requests=20)

    def stop(done: int, files: int, done_bytes: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sync(progress=stop)
    missing = set(usage_db.REQ_INDEXES) - _indexes()
    assert missing, "the first sync was expected to defer its indexes"
    sync()
    assert set(usage_db.REQ_INDEXES) <= _indexes()
    assert _totals()["totals"]["requests"] == 80


@pytest.mark.parametrize("main_first", [True, False])
def test_a_sidechain_replay_is_dropped_whichever_sync_brings_the_main_copy(
    isolated_home: Path, main_first: bool
) -> None:
    project = _project(isolated_home)
    (project / "sid1" / "subagents").mkdir(parents=True)
    main = _assistant("msg_1", "req_1", "2026-12-01T10:00:01Z", _u(10, 200, 100, 50))
    side = _assistant("msg_2", "req_2", "2026-12-01T10:00:03Z", _u(5, 7), sidechain=True)
    replay = _assistant(
        "msg_1", "req_9", "2026-12-01T10:00:04Z", _u(10, 200, 100, 50), sidechain=True
    )
    first, second = (
        (project / "sid1.jsonl", main),
        (project / "sid1" / "subagents" / "agent-a.jsonl", side + replay),
    )
    if not main_first:
        first, second = second, first
    first[0].write_text(first[1])
    sync()
    second[0].write_text(second[1])
    sync()
    t = _totals()["totals"]
    assert (t["input"], t["output"], t["requests"]) == (15, 207, 2)
    conn = open_index()
    try:
        replays = conn.execute("SELECT key FROM req WHERE replay = 1").fetchall()
    finally:
        conn.close()
    assert replays == [("c:msg_1:req_9",)]


def test_an_index_of_the_earlier_layout_gains_the_new_index(isolated_home: Path) -> None:
    project = _project(isolated_home)
    (project / "s.jsonl").write_text(
        _assistant("msg_1", "r1", "2026-12-01T10:00:00Z", _u(1, 2), session="s")
    )
    sync()
    conn = open_index()
    try:
        conn.execute("DROP INDEX req_side")
    finally:
        conn.close()
    with open(project / "s.jsonl", "a") as f:
        f.write(_assistant("msg_2", "r2", "2026-12-01T10:00:01Z", _u(1, 2), session="s"))
    sync()
    assert "req_side" in _indexes()
    assert _totals()["totals"]["requests"] == 2


_ODD_LINES = [
    # the usual shape, and the same request as a later, larger snapshot
    {"type": "assistant", "sessionId": "s", "requestId": "r1", "timestamp": "2026-12-01T10:00:00Z",
     "uuid": "u1", "cwd": "/w", "gitBranch": "main", "isSidechain": False,
     "message": {"id": "msg_1", "model": SONNET_ID, "content": [{"type": "text", "text": "a"}],
                 "usage": {"input_tokens": 1, "output_tokens": 2}}},
    {"type": "assistant", "sessionId": "s", "requestId": "r1", "timestamp": "2026-12-01T10:00:01Z",
     "message": {"id": "msg_1", "model": SONNET_ID, "usage": {"input_tokens": 1,
                 "output_tokens": 9, "cache_creation_input_tokens": 4,
                 "cache_creation": {"ephemeral_1h_input_tokens": 3}}}, "costUSD": 0.5},
    # a message that is not an object, none at all, a usage that is not an object
    {"type": "assistant", "timestamp": "2026-12-01T10:00:02Z", "message": "usage"},
    {"type": "assistant", "timestamp": "2026-12-01T10:00:02Z", "usage": {"input_tokens": 5}},
    {"type": "assistant", "timestamp": "2026-12-01T10:00:02Z",
     "message": {"id": "msg_2", "usage": [1, 2]}},
    # odd value types: a numeric type, a list as the id, a string count, a float count
    {"type": 7, "message": {"id": "msg_3", "usage": {"input_tokens": 5}}},
    {"type": "assistant", "timestamp": "2026-12-01T10:00:03Z", "sessionId": ["x"],
     "message": {"id": ["msg_4"], "model": None, "usage": {"input_tokens": "5",
                 "output_tokens": 2.7}}},
    # not an assistant line, though it has a usage key; a user line with a nested usage key
    {"type": "user", "timestamp": "2026-12-01T10:00:04Z",
     "message": {"id": "msg_5", "usage": {"input_tokens": 5}}},
    {"type": "assistant", "timestamp": "2026-12-01T10:00:05Z", "requestId": "r6",
     "message": {"id": "msg_6", "model": SONNET_ID, "content": [{"type": "tool_use",
                 "input": {"usage": {"input_tokens": 99}}}], "usage": {"output_tokens": 3}}},
]


def test_the_fast_claude_decoder_reads_what_the_full_parse_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json

    from ai_orchestrator.usage import parsers

    raw = "".join(json.dumps(line) + "\n" for line in _ODD_LINES)
    # duplicate keys (the last wins), not JSON, a top-level array, invalid UTF-8 in a value
    raw += ('{"type": "user", "type": "assistant", "timestamp": "2026-12-01T10:00:06Z", '
            '"message": {"id": "msg_7", "usage": {"output_tokens": 1}, '
            '"usage": {"output_tokens": 4}}}\n'
            '{"usage": oops}\n[{"usage": 1}]\n')  # fmt: skip
    data = raw.encode() + b'{"type": "assistant", "message": {"id": "\xff", "usage": {}}}\n'

    def parsed() -> list[tuple[object, ...]]:
        found = parsers.parse_claude(data, {}, "/p/-w/s.jsonl")
        return sorted(
            (r.key, r.model, r.ts, r.session, r.project, r.branch, r.msg_id, r.sidechain,
             r.reported_cost, r.usage.input, r.usage.output, r.usage.cache_write_5m,
             r.usage.cache_write_1h)
            for r in found
        )

    assert parsers._decode_claude is not None, "msgspec (a dependency) is not installed"
    fast = parsed()
    monkeypatch.setattr(parsers, "_decode_claude", None)
    full = parsed()
    assert fast == full
    assert {key for key, *_ in fast} >= {"c:msg_1:r1", "c:msg_6:r6", "c:msg_7:"}
    msg_1 = next(row for row in fast if row[0] == "c:msg_1:r1")
    assert msg_1[-4:] == (1, 9, 1, 3) and msg_1[8] == 0.5  # the larger snapshot, whole


def test_a_token_count_beyond_any_real_one_is_skipped_not_a_crash(isolated_home: Path) -> None:
    project = _project(isolated_home)
    (project / "s.jsonl").write_text(
        _assistant("msg_1", "r1", "2026-12-01T10:00:00Z", _u(10**19, 1), session="s")
        + _assistant("msg_2", "r2", "2026-12-01T10:00:00Z", _u(10**40, 1), session="s")
        + _assistant("msg_3", "r3", "2026-12-01T10:00:00Z", _u(1, 1), session="s")
    )
    done = sync()
    assert done.requests == 1 and _totals()["totals"]["input"] == 1


@pytest.mark.slow
@pytest.mark.process  # SIGKILLed sync processes
def test_a_parallel_first_sync_killed_with_sigkill_loses_nothing(isolated_home: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    _sessions(_project(isolated_home), files=24, requests=300, filler=2000)
    code = (
        "from ai_orchestrator.usage import sync as s; s.PARALLEL_BYTES = 0; s.COMMIT_SECONDS = 0;"
        " s.sync()"
    )
    for delay in (0.5, 1.0, 2.0):
        proc = subprocess.Popen([sys.executable, "-c", code])
        time.sleep(delay)  # when it dies does not matter: every instant must be safe
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    sync()
    t = _totals()["totals"]
    assert (t["requests"], t["input"], t["output"]) == (7_200, 7_200, 7_200)
    assert set(usage_db.REQ_INDEXES) <= _indexes()


@pytest.mark.parametrize("how", ["rewritten in place", "deleted and written again"])
def test_another_file_at_the_same_path_is_read_whole_even_on_the_same_inode(
    isolated_home: Path, how: str
) -> None:
    """A transcript replaced by another one that is at least as long as the offset read: on
    the same inode (rewritten in place; or a deleted file's inode given back, which the second
    case allows but cannot force) and the same size check, only the first bytes tell them
    apart. Reading from the old offset would miss the new file's first requests."""
    project = _project(isolated_home)
    path = project / "s.jsonl"
    path.write_text(_assistant("msg_1", "r1", "2026-12-01T10:00:00Z", _u(1, 2), session="s"))
    sync()
    assert _totals()["totals"]["requests"] == 1
    replacement = "".join(
        _assistant(f"msg_{n}", f"r{n}", "2026-12-01T11:00:00Z", _u(10, 20), session="s")
        for n in (7, 8)
    )
    if how == "rewritten in place":
        inode = path.stat().st_ino
        with path.open("r+") as handle:
            handle.truncate(0)
            handle.write(replacement)
        assert path.stat().st_ino == inode
    else:
        path.unlink()
        path.write_text(replacement)
    sync()
    totals = _totals()["totals"]
    # the first file's row is kept (rows outlive their files) and both new ones are read
    assert (totals["requests"], totals["input"], totals["output"]) == (3, 21, 42)
    sync()  # and read once: a later sync finds nothing new
    assert _totals()["totals"]["requests"] == 3


def test_a_grown_transcript_is_still_read_from_its_offset(isolated_home: Path) -> None:
    """The head check must not turn every append into a whole re-read: the bytes read by the
    second sync are only the appended line."""
    project = _project(isolated_home)
    path = project / "s.jsonl"
    first = _assistant("msg_1", "r1", "2026-12-01T10:00:00Z", _u(1, 2), session="s")
    path.write_text(first)
    sync()
    more = _assistant("msg_2", "r2", "2026-12-01T10:05:00Z", _u(3, 4), session="s")
    with path.open("a") as handle:
        handle.write(more)
    report = sync()
    assert report.bytes_read == len(more.encode())
    totals = _totals()["totals"]
    assert (totals["requests"], totals["input"], totals["output"]) == (2, 4, 6)
