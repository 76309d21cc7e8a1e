"""The ``aio session`` / ``ai-session`` commands, run as real processes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ai_orchestrator import __version__
from ai_orchestrator.store import SessionStore
from tests.helpers import aio_inprocess as aio
from tests.helpers import as_record, interaction, write_legacy_store


def ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat().replace("+00:00", "Z")


@pytest.fixture
def populated(session_dir: Path) -> SessionStore:
    store = SessionStore()
    store.record(
        as_record(
            "implement-alpha",
            interaction(timestamp=ago(40), cost=0.3, tokens={"input": 10, "output": 10}),
        )
    )
    store.record(
        as_record(
            "plan-beta",
            interaction(
                timestamp=ago(1),
                cost=0.1,
                model="gemini-2.5-pro",
                agent="gemini",
                tokens={"input": 5000, "output": 1},
            ),
        )
    )
    store.record(
        as_record(
            "review-gamma",
            interaction(timestamp=ago(10), cost=2.0, tokens={"input": 1, "output": 1}),
        )
    )
    store.record(
        as_record(
            "review-gamma",
            interaction(timestamp=ago(9), cost=0.0, cost_source="unpriced", model="mystery-model"),
        )
    )
    return store


def test_version_and_alias() -> None:
    result = aio("--version")
    assert result.code == 0 and result.out.strip() == f"aio {__version__}"
    assert "list" in aio("--help", prog="ai-session").out


def test_list_empty_store(session_dir: Path) -> None:
    result = aio("session", "list")
    assert result.code == 0
    assert "No sessions found" in result.err
    data = aio("session", "list", "--json").json()
    assert data["sessions"] == [] and data["total_sessions"] == 0


@pytest.mark.parametrize(
    "key, expected",
    [
        ("name", ["implement-alpha", "plan-beta", "review-gamma"]),
        ("date", ["plan-beta", "review-gamma", "implement-alpha"]),
        ("tokens", ["plan-beta", "review-gamma", "implement-alpha"]),
        ("cost", ["review-gamma", "implement-alpha", "plan-beta"]),
    ],
)
def test_list_sorts(populated: SessionStore, key: str, expected: list[str]) -> None:
    data = aio("session", "list", "--sort", key, "--json").json()
    assert [s["session_name"] for s in data["sessions"]] == expected


def test_list_active_window(populated: SessionStore) -> None:
    data = aio("session", "list", "--active", "--json").json()
    assert {s["session_name"] for s in data["sessions"]} == {"plan-beta", "review-gamma"}
    assert data["total_sessions"] == 3 and data["active_sessions"] == 2
    data = aio("session", "list", "--active", "--days", "5", "--json").json()
    assert [s["session_name"] for s in data["sessions"]] == ["plan-beta"]
    text = aio("session", "list").out
    assert "implement-alpha" in text and "Total sessions: 3 (Active: 2" in text


def test_list_json_is_indented_like_every_other_json(populated: SessionStore) -> None:
    raw = aio("session", "list", "--json").out
    assert raw.startswith('{\n  "schema_version": 1,\n  "session_dir": ')
    assert '\n  "sessions": [\n    {"schema_version": 1, "session_name": ' in raw
    assert raw.endswith("\n  ]\n}\n")
    assert len(json.loads(raw)["sessions"]) == 3


def test_show_last_0_does_not_claim_nothing_was_recorded(populated: SessionStore) -> None:
    result = aio("session", "show", "review-gamma", "--last", "0")
    assert result.code == 0
    assert "No interactions recorded yet" not in result.out
    assert "Interactions: 2 (0 failed)" in result.out and "Recent interactions" not in result.out


def test_show_human_and_json(populated: SessionStore) -> None:
    result = aio("session", "show", "review-gamma")
    assert result.code == 0
    assert "Cost: $2.0000 (1 unpriced)" in result.out
    assert "In use: no" in result.out
    data = aio("session", "show", "review-gamma", "--json", "--last", "1").json()
    assert data["interaction_count"] == 2
    assert len(data["recent_interactions"]) == 1
    assert data["recent_interactions"][0]["model"] == "mystery-model"
    assert data["busy"] is False


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_show_names_the_lock_holder(populated: SessionStore, session_dir: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time; from ai_orchestrator.store import SessionStore;"
            "l=SessionStore(sys.argv[1]).run_lock('plan-beta', command='aio plan beta');"
            "print('held', flush=True); time.sleep(60)",
            str(session_dir),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        data = aio("session", "show", "plan-beta", "--json").json()
        assert data["busy"] is True and data["holder"]["pid"] == holder.pid
        assert data["holder"]["command"] == "aio plan beta"
        assert f"pid {holder.pid}" in aio("session", "show", "plan-beta").out
        # clean never deletes a session in use
        result = aio("session", "clean", "--older-than", "0", "--yes", "--json")
        report = result.json()
        assert "plan-beta" in [s["session_name"] for s in report["skipped"]]
        assert (session_dir / "plan-beta").is_dir()
    finally:
        holder.kill()
        holder.wait()


def test_stats_totals_and_breakdowns(populated: SessionStore) -> None:
    stats = aio("session", "stats", "--json").json()
    assert stats["total_sessions"] == 3
    assert stats["active_sessions"] == 2
    assert stats["interactions"] == 4
    assert stats["cost"] == pytest.approx(2.4)
    assert stats["unpriced_interactions"] == 1
    assert stats["most_active"][0] == {"session_name": "review-gamma", "interactions": 2}
    by_model = aio("session", "stats", "--by", "model", "--json").json()["groups"]
    assert set(by_model) == {"claude-sonnet-4-5", "gemini-2.5-pro", "mystery-model"}
    assert by_model["claude-sonnet-4-5"]["cost"] == pytest.approx(2.3)
    by_command = aio("session", "stats", "--by", "command", "--json").json()["groups"]
    assert by_command["review"]["interactions"] == 2 and by_command["plan"]["sessions"] == 1
    by_feature = aio("session", "stats", "--by", "feature", "--json").json()["groups"]
    assert set(by_feature) == {"alpha", "beta", "gamma"}
    by_day = aio("session", "stats", "--by", "day", "--json").json()["groups"]
    assert len(by_day) == 4
    one = aio("session", "stats", "--session", "plan-beta", "--json").json()
    assert one["total_sessions"] == 1 and one["tokens"]["input"] == 5000
    text = aio("session", "stats").out
    assert "Most active sessions:" in text and "review-gamma (2 interactions)" in text


def test_clean_dry_run_confirm_and_yes(populated: SessionStore, session_dir: Path) -> None:
    result = aio("session", "clean", "--older-than", "30", "--dry-run")
    assert result.code == 0 and "implement-alpha" in result.err and "Would remove: 1" in result.err
    assert (session_dir / "implement-alpha").exists()
    result = aio("session", "clean", "--older-than", "30", input="n\n")
    assert "Cancelled" in result.err and (session_dir / "implement-alpha").exists()
    result = aio("session", "clean", "--older-than", "30", input="y\n")
    assert result.code == 0 and "removed implement-alpha" in result.out
    assert not (session_dir / "implement-alpha").exists()
    assert (session_dir / "review-gamma").exists()
    result = aio("session", "clean", "--older-than", "5", "--force")
    assert not (session_dir / "review-gamma").exists() and (session_dir / "plan-beta").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["session", "clean", "--older-than", "abc"],
        ["session", "clean"],
        ["session", "list", "--sort", "size"],
        ["session", "list", "--days", "-3"],
        ["session", "show", "../../etc"],
        ["session", "show", "Implement-X"],
        ["session", "export", "--format", "xml"],
        ["session", "bogus"],
    ],
)
def test_bad_input_is_exit_2_without_traceback(session_dir: Path, args: list[str]) -> None:
    result = aio(*args)
    assert result.code == 2, result.err
    assert "Traceback" not in result.err
    assert result.err.strip()


def test_export_to_stdout_when_piped_and_to_a_private_file(
    populated: SessionStore, tmp_path: Path
) -> None:
    result = aio("session", "export")
    data = json.loads(result.out)
    # the seed guide's `ai-session export | jq '[.[].interactions[].cost] | add'`
    assert sum(i["cost"] for s in data for i in s["interactions"]) == pytest.approx(2.4)
    target = tmp_path / "backup.json"
    result = aio("session", "export", "--output", str(target), "--active")
    assert result.code == 0 and "Exported 2 session(s)" in result.err
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert [s["session_name"] for s in json.loads(target.read_text())] == [
        "plan-beta",
        "review-gamma",
    ]
    csv_text = aio("session", "export", "--format", "csv", "-o", "-").out
    assert len(csv_text.strip().splitlines()) == 5


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_export_default_file_name_on_a_terminal(populated: SessionStore, tmp_path: Path) -> None:
    # A pseudo-terminal on stdout makes export pick its default file name.
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.run(
        [sys.executable, "-m", "ai_orchestrator", "session", "export"],
        stdout=follower,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        timeout=60,
    )
    os.close(follower)
    os.close(leader)
    assert proc.returncode == 0, proc.stderr
    files = list(tmp_path.glob("sessions-export-*.json"))
    assert len(files) == 1
    assert len(json.loads(files[0].read_text())) == 3
    assert stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_import_file_and_stdin_idempotent(populated: SessionStore, tmp_path: Path) -> None:
    exported = aio("session", "export").out
    other = tmp_path / "other-store"
    env_result = subprocess.run(
        [sys.executable, "-m", "ai_orchestrator", "session", "import", "-", "--json"],
        input=exported,
        capture_output=True,
        text=True,
        env={**os.environ, "SESSION_DIR": str(other)},
    )
    assert env_result.returncode == 0, env_result.stderr
    assert json.loads(env_result.stdout)["interactions_added"] == 4
    path = tmp_path / "e.json"
    path.write_text(exported)
    again = subprocess.run(
        [sys.executable, "-m", "ai_orchestrator", "session", "import", str(path), "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "SESSION_DIR": str(other)},
    )
    assert json.loads(again.stdout)["interactions_added"] == 0


def test_import_invalid_is_refused(session_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"session_name": "run-x", "interactions": [{"tokens": {"input": -5}}]}]')
    result = aio("session", "import", str(bad))
    assert result.code == 2 and "tokens.input" in result.err
    assert not session_dir.exists() or not any(session_dir.iterdir())
    assert aio("session", "import", str(tmp_path / "missing.json")).code == 2


def test_record_delete_repair_path(session_dir: Path) -> None:
    result = aio("session", "record", "run-x", input=json.dumps(interaction(cost=0.75)))
    assert result.code == 0 and result.json()["added"] is True
    assert aio("session", "record", "run-x", input="{not json").code == 2
    assert aio("session", "record", "bad name", input="{}").code == 2
    with_id = json.dumps(interaction(id="fixed-1"))
    assert aio("session", "record", "run-x", input=with_id).json()["added"] is True
    assert aio("session", "record", "run-x", input=with_id).json()["added"] is False
    assert aio("session", "show", "run-x", "--json").json()["interaction_count"] == 2
    assert aio("session", "path").out.strip() == str(session_dir)
    assert aio("session", "path", "run-x").out.strip() == str(session_dir / "run-x")
    repaired = aio("session", "repair", "run-x", "--json").json()
    assert repaired["interactions"] == 2
    assert aio("session", "delete", "run-x", input="n\n").code == 0
    assert (session_dir / "run-x").exists()
    assert aio("session", "delete", "run-x", "--yes").code == 0
    assert not (session_dir / "run-x").exists()
    assert aio("session", "delete", "run-x", "--yes").code == 1


def test_corrupt_session_does_not_break_list_or_stats(
    populated: SessionStore, session_dir: Path
) -> None:
    (session_dir / "plan-beta" / "metadata.json").write_text("{{{{")
    with open(session_dir / "review-gamma" / "interactions.jsonl", "ab") as handle:
        handle.write(b"\x00\x01garbage\n")
    listing = aio("session", "list", "--json")
    assert listing.code == 0
    sessions = {s["session_name"]: s for s in listing.json()["sessions"]}
    assert sessions["plan-beta"]["problems"] and sessions["review-gamma"]["problems"]
    assert sessions["plan-beta"]["interaction_count"] == 1
    stats = aio("session", "stats", "--json").json()
    # list repaired plan-beta's summary from its log; the unreadable line stays flagged
    assert (
        json.loads((session_dir / "plan-beta" / "metadata.json").read_text())["interaction_count"]
        == 1
    )
    assert stats["interactions"] == 4 and stats["sessions_with_problems"] == 1
    result = aio("session", "show", "review-gamma")
    assert result.code == 0 and "unreadable line" in result.err


def test_migrate_command(session_dir: Path) -> None:
    write_legacy_store(session_dir)
    listed = aio("session", "list", "--json").json()["sessions"]
    assert listed[0]["interaction_count"] == 2
    result = aio("session", "migrate", "--json")
    assert result.json()["migrated"] == ["implement-payment-gateway"]
    assert aio("session", "show", "implement-payment-gateway", "--json").json()["problems"] == []


def test_export_into_a_pipe_writes_into_it_and_never_replaces_it(
    session_dir: Path, tmp_path: Path
) -> None:
    """`-o /dev/stdout`, a FIFO, a device: written into, never swapped for a file (the
    atomic rename would destroy it — as root, even /dev/null)."""
    import threading

    SessionStore().record(as_record("plan-alpha", interaction()))
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = aio("session", "export", "--output", str(fifo))
    reader.join(timeout=30)
    assert result.code == 0, result.err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still the pipe
    assert [s["session_name"] for s in json.loads(received[0])] == ["plan-alpha"]
