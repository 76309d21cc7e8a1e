"""``claude_transcript.final_outputs``: the final per-message output counts from Claude Code's
transcript file, best effort (the module docstring's contract)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.agents.homes import claude_transcript
from ai_orchestrator.agents.homes.claude_transcript import final_outputs

SID = "0b7a4c11-8f0e-4d9b-9c1a-7e44aabbccdd"


def assistant(msg_id: str, output: Any) -> dict[str, Any]:
    return {"type": "assistant", "message": {"id": msg_id, "usage": {"output_tokens": output}}}


@pytest.fixture
def projects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "claude-config"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    return config / "projects"


def write(path: Path, *lines: dict[str, Any] | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (line if isinstance(line, str) else json.dumps(line) for line in lines)
    path.write_text("\n".join(text) + "\n")
    return path


def test_reads_the_cwd_directory_and_keeps_the_largest_count(projects: Path) -> None:
    cwd = Path("/work/my_project.v2")
    folder = projects / re.sub(r"[^A-Za-z0-9]", "-", str(cwd))
    write(
        folder / f"{SID}.jsonl",
        assistant("msg_1", 1),  # the placeholder the stream also showed
        {"type": "user", "message": {"content": "tool result"}},
        assistant("msg_1", 87),  # the CLI rewrote the message once it was complete
        assistant("msg_2", 40),
    )
    assert folder.name == "-work-my-project-v2"
    assert final_outputs(SID, cwd) == {"msg_1": 87, "msg_2": 40}


def test_falls_back_to_any_project_directory_holding_the_session(projects: Path) -> None:
    # Long cwd paths are shortened by the CLI: the file is found by the session id alone.
    write(projects / "-shortened-elsewhere" / f"{SID}.jsonl", assistant("msg_1", 12))
    assert final_outputs(SID, Path("/some/where/else")) == {"msg_1": 12}


def test_malformed_lines_and_values_are_skipped(projects: Path) -> None:
    write(
        projects / "-w" / f"{SID}.jsonl",
        '{"type": "assistant", "message": ',  # torn line
        '["assistant"]',
        assistant("msg_bool", True),
        assistant("msg_neg", -5),
        assistant("msg_text", "12"),
        {"type": "assistant", "message": {"id": 7, "usage": {"output_tokens": 3}}},
        assistant("msg_ok", 9),
    )
    assert final_outputs(SID, Path("/w")) == {"msg_ok": 9}


@pytest.mark.parametrize("session_id", [None, "", f"../../{SID}", "a/b", "*"])
def test_an_id_that_could_name_another_path_reads_nothing(
    projects: Path, session_id: str | None
) -> None:
    write(projects / "-w" / f"{SID}.jsonl", assistant("msg_1", 5))
    write(projects / "-w" / "a" / "b.jsonl", assistant("msg_1", 5))
    assert final_outputs(session_id, Path("/w")) == {}


def test_missing_or_oversized_files_give_nothing(
    projects: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert final_outputs(SID, Path("/w")) == {}  # no projects directory at all
    path = write(projects / "-w" / f"{SID}.jsonl", assistant("msg_1", 5))
    monkeypatch.setattr(claude_transcript, "MAX_BYTES", path.stat().st_size - 1)
    assert final_outputs(SID, Path("/w")) == {}


# -- TranscriptTail: the live reader ------------------------------------------------------------


def test_tail_reads_only_what_was_appended_and_waits_for_whole_lines(projects: Path) -> None:
    cwd = Path("/work/live")
    path = projects / re.sub(r"[^A-Za-z0-9]", "-", str(cwd)) / f"{SID}.jsonl"
    tail = claude_transcript.TranscriptTail(SID, cwd)
    found: dict[str, int] = {}
    assert tail.read_new(found) is False and found == {}  # no file yet: nothing, no error
    write(path, assistant("msg_1", 1))
    assert tail.read_new(found) is True and found == {"msg_1": 1}
    line = json.dumps(assistant("msg_1", 56))
    with path.open("a") as handle:
        handle.write(line[:20])  # the CLI is still writing this line
    assert tail.read_new(found) is False and found == {"msg_1": 1}
    with path.open("a") as handle:
        handle.write(line[20:] + "\n" + json.dumps(assistant("msg_2", 7)) + "\n")
    assert tail.read_new(found) is True and found == {"msg_1": 56, "msg_2": 7}
    assert tail.read_new(found) is False  # nothing new
    # a smaller count never lowers a known one; junk lines are skipped
    with path.open("a") as handle:
        handle.write("not json\n" + json.dumps(assistant("msg_2", 3)) + "\n")
    assert tail.read_new(found) is False and found["msg_2"] == 7


def test_tail_starts_again_when_the_file_is_replaced(projects: Path) -> None:
    cwd = Path("/work/live")
    path = projects / re.sub(r"[^A-Za-z0-9]", "-", str(cwd)) / f"{SID}.jsonl"
    write(path, assistant("msg_1", 5), assistant("msg_2", 6))
    tail = claude_transcript.TranscriptTail(SID, cwd)
    found: dict[str, int] = {}
    assert tail.read_new(found)
    replacement = path.with_suffix(".new")
    write(replacement, assistant("msg_3", 9))
    replacement.replace(path)  # a new inode, shorter than what was read
    assert tail.read_new(found) and found["msg_3"] == 9
    path.unlink()
    assert tail.read_new(found) is False  # gone: no error, found again later
    write(path, assistant("msg_4", 1))
    assert tail.read_new(found) and found["msg_4"] == 1


def test_tail_starts_again_when_the_file_is_rewritten_in_place(projects: Path) -> None:
    """Same inode, same length (what a freed-and-reused inode also looks like): the head
    differs, so the tail reads the new file from the start instead of past its end."""
    cwd = Path("/work/live")
    path = projects / re.sub(r"[^A-Za-z0-9]", "-", str(cwd)) / f"{SID}.jsonl"
    write(path, assistant("msg_1", 5))
    tail = claude_transcript.TranscriptTail(SID, cwd)
    found: dict[str, int] = {}
    assert tail.read_new(found) and found == {"msg_1": 5}
    inode, size = path.stat().st_ino, path.stat().st_size
    with path.open("r+") as handle:  # truncate and rewrite through the same inode
        handle.truncate(0)
        handle.write(json.dumps(assistant("msg_9", 7)) + "\n")
    assert (path.stat().st_ino, path.stat().st_size) == (inode, size)
    assert tail.read_new(found) and found["msg_9"] == 7
    # vanished, then back with the same bytes on whatever inode: read again, no error
    text = path.read_bytes()
    path.unlink()
    assert tail.read_new(found) is False
    path.write_bytes(text.replace(b'"msg_9"', b'"msg_8"'))
    assert tail.read_new(found) and found["msg_8"] == 7
