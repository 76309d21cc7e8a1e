"""Automated session optimisation (``calls.compaction``) with the scripted agent: tracking the
context, compacting past the threshold before the next call (summary method), ``aio session
compact``, the record and the summary, failures, and hostile settings."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from ai_orchestrator.agents.base import AgentResult
from ai_orchestrator.calls.compaction import (
    CompactionSettings,
    compacts_headlessly,
    load_settings,
    parse_threshold,
)
from ai_orchestrator.calls.context import context_size
from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.usage import ModelUsage
from ai_orchestrator.store import SessionStore
from tests.fakes.inprocess import FakeLauncher
from tests.helpers import aio_inprocess

WINDOW = 10_000


SETTINGS = 'threshold = 0.8\nwindows = {"scripted-sonnet" = 10000}\n'


def setup(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, steps: str,
          compaction: str = SETTINGS) -> None:  # fmt: skip
    config = home / ".config" / "aio" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("[compaction]\n" + compaction)
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("model: scripted-sonnet\nsteps:\n" + textwrap.indent(steps, "  "))
    monkeypatch.setenv("AIO_SCRIPTED_SCENARIO", str(scenario))


def step(answer: str, prompt_tokens: int, output: int = 40) -> str:
    return (
        f"- answer: {json.dumps(answer)}\n"
        f"  usage: {{scripted-sonnet: {{input: {prompt_tokens - 500}, output: {output}, "
        "cache_read: 400, cache_write: 100}}\n"
    )


def run(tmp_path: Path, prompt: str) -> tuple[int, str, str]:
    result = aio_inprocess("run", "--agent", "scripted", "run-big", prompt, cwd=tmp_path)
    return result.code, result.out, result.err


def test_past_the_threshold_the_next_call_runs_in_a_compacted_conversation(
    session_dir: Path, isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    fake_launcher: FakeLauncher,
) -> None:  # fmt: skip
    steps = (
        step("first answer", 8_000)  # 80% of 10k: at the threshold
        + step("HANDOVER: the goal is G; next step is S.", 8_600)  # the hand-over
        + step("I have the context.", 1_200)  # the primed new conversation
        + step("second answer", 1_500)  # the user's call, in the new conversation
        + step("third answer", 1_700)
    )
    setup(isolated_home, tmp_path, monkeypatch, steps)
    code, out, err = run(tmp_path, "first")
    assert code == 0 and "compacting the conversation" not in err
    store = SessionStore()
    first = store.load("run-big").summary.to_json()
    assert first["context"]["tokens"] == 8_000
    old_id = first["agent_session_id"]

    code, out, err = run(tmp_path, "second")
    assert code == 0, err
    assert out.strip() == "second answer"
    assert "context 8,000 of 10,000 tokens (80%, threshold 80%)" in err
    assert "compacted (summary): context 8,000 → 1,200 tokens" in err
    # The primed conversation got the hand-over; the user's call resumed the new one.
    primed, user_call = fake_launcher.calls[-2], fake_launcher.calls[-1]
    assert b"HANDOVER: the goal is G" in (primed.stdin or b"")
    assert "--resume" not in primed.argv
    assert "--resume" in user_call.argv
    summary = store.load("run-big").summary.to_json()
    new_id = summary["agent_session_id"]
    assert new_id != old_id and user_call.argv[user_call.argv.index("--resume") + 1] == new_id
    [event] = summary["compactions"]
    assert event["method"] == "summary" and event["trigger"] == "auto"
    assert (event["before"], event["after"], event["replaced"]) == (8_000, 1_200, old_id)
    assert summary["context"]["tokens"] == 1_500
    records = store.read_log("run-big").records
    assert [r.compaction is not None for r in records] == [False, False, True, False]
    assert summary["interaction_count"] == 4  # the compaction's calls are recorded and paid

    shown = aio_inprocess("session", "show", "run-big", "--json")
    assert json.loads(shown.out)["compactions"][0]["after"] == 1_200
    text = aio_inprocess("session", "show", "run-big").out
    assert "Compacted:" in text and "8,000 → 1,200 tokens" in text and "Context: 1,500" in text

    # Export and import keep the context and the compactions (they are record fields).
    exported = aio_inprocess("session", "export")
    other = tmp_path / "other-store"
    imported = aio_inprocess("session", "import", "-", input=exported.out,
                             env={"SESSION_DIR": str(other)})  # fmt: skip
    assert imported.code == 0, imported.err
    again = SessionStore(other).load("run-big").summary.to_json()
    assert again["compactions"] == summary["compactions"] and again["context"]["tokens"] == 1_500

    # Below the threshold nothing happens.
    code, out, err = run(tmp_path, "third")
    assert code == 0 and "compacting the conversation" not in err
    assert len(store.load("run-big").summary.to_json()["compactions"]) == 1


def test_session_compact_on_demand(
    session_dir: Path, isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    fake_launcher: FakeLauncher,
) -> None:  # fmt: skip
    steps = step("small", 2_000) + step("HANDOVER: all of it", 2_300) + step("ok", 900)
    setup(isolated_home, tmp_path, monkeypatch, steps)
    assert run(tmp_path, "first")[0] == 0
    result = aio_inprocess("session", "compact", "run-big", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["method"] == "summary" and data["trigger"] == "manual"
    assert (data["before"], data["after"], data["calls"]) == (2_000, 900, 2)
    assert "compacted (summary): context 2,000 → 900 tokens" in result.err
    none = aio_inprocess("session", "compact", "run-none")
    assert none.code == 1 and "not found" in none.err


def test_an_empty_hand_over_leaves_the_conversation_and_the_call_goes_on(
    session_dir: Path, isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    fake_launcher: FakeLauncher,
) -> None:  # fmt: skip
    steps = step("first", 9_000) + step("", 9_100) + step("second answer", 9_300)
    setup(isolated_home, tmp_path, monkeypatch, steps)
    assert run(tmp_path, "first")[0] == 0
    old_id = SessionStore().load("run-big").summary.to_json()["agent_session_id"]
    code, out, err = run(tmp_path, "second")
    assert code == 0 and out.strip() == "second answer"
    assert "the compaction failed" in err and "empty hand-over" in err
    summary = SessionStore().load("run-big").summary.to_json()
    assert summary["agent_session_id"] == old_id and "compactions" not in summary


@pytest.mark.parametrize(
    "compaction",
    [
        'threshold = "off"\nwindows = {"scripted-sonnet" = 10000}\n',  # off
        "threshold = 0.8\n",  # no window known for the model
    ],
)
def test_off_or_no_window_never_compacts(
    session_dir: Path, isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    fake_launcher: FakeLauncher, compaction: str,
) -> None:  # fmt: skip
    steps = step("first", 9_900) + step("second", 9_950)
    setup(isolated_home, tmp_path, monkeypatch, steps, compaction)
    monkeypatch.setattr(
        "ai_orchestrator.calls.compaction.context_window", lambda agent, model, **_: (None, "none")
    )
    assert run(tmp_path, "first")[0] == 0
    code, _out, err = run(tmp_path, "second")
    assert code == 0 and "compacting the conversation" not in err


@pytest.mark.parametrize(
    ("compaction", "env", "needle"),
    [
        ("threshold = 0\n", None, "threshold"),
        ("threshold = 1.5\n", None, "threshold"),
        ("threshold = nan\n", None, "threshold"),
        ("threshold = -0.5\n", None, "threshold"),
        ('threshold = "lots"\n', None, "threshold"),
        ("threshold = true\n", None, "threshold"),
        ('windows = {"m" = 0}\n', None, "windows.m"),
        ('windows = {"m" = "big"}\n', None, "windows.m"),
        ("windows = 5\n", None, "windows"),
        ("thresold = 0.5\n", None, "unknown key 'thresold'"),
        ("", "120%", "AIO_COMPACT_THRESHOLD"),
        ("", "0.0", "AIO_COMPACT_THRESHOLD"),
        ("", "inf", "AIO_COMPACT_THRESHOLD"),
    ],
)
def test_hostile_settings_are_one_clear_line_exit_2(
    session_dir: Path, isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    fake_launcher: FakeLauncher, compaction: str, env: str | None, needle: str,
) -> None:  # fmt: skip
    setup(isolated_home, tmp_path, monkeypatch, step("first", 100) + step("x", 100), compaction)
    if env is not None:
        assert run(tmp_path, "first")[0] == 0
        monkeypatch.setenv("AIO_COMPACT_THRESHOLD", env)
    code, _out, err = run(tmp_path, "second")
    lines = err.strip().splitlines()
    assert code == 2 and needle in lines[-1] and "Traceback" not in err, err
    # Refused before any call: the first call too (a bad setting never waits for a
    # conversation to be large to show).
    calls = 1 if env is not None else 0
    assert len(fake_launcher.calls) == calls


def test_threshold_forms() -> None:
    assert parse_threshold("80%", "x") == 0.8 and parse_threshold(1, "x") == 1.0
    assert parse_threshold("off", "x") is None and parse_threshold(False, "x") is None
    assert load_settings({"AIO_COMPACT_THRESHOLD": "50%", "HOME": "/nonexistent"}) == (
        CompactionSettings(threshold=0.5, windows=None)
    )
    with pytest.raises(InvalidInput):
        parse_threshold(None, "x")
    assert compacts_headlessly("claude") and not compacts_headlessly("gemini")


def _usage(prompt: int, requests: int = 1) -> ModelUsage:
    return ModelUsage(input=prompt - 30, cache_read=20, cache_write_5m=10, output=5,
                      requests=requests)  # fmt: skip


def test_context_size_is_the_last_requests_prompt() -> None:
    per_request = AgentResult(
        agent="claude", outcome="success", model="m",
        usage={"m": _usage(3_000, 2), "haiku": _usage(50)},
        requests={"m": [_usage(1_000), _usage(2_000)]},
    )  # fmt: skip
    assert context_size(per_request) == 2_000  # the last request, not the sum
    one = AgentResult(agent="scripted", outcome="success", model="m", usage={"m": _usage(700)})
    assert context_size(one) == 700
    several = AgentResult(
        agent="gemini", outcome="success", model="m", usage={"m": _usage(9_000, 3)}
    )
    assert context_size(several) is None  # a total over three requests is none of them
    compacted = AgentResult(
        agent="claude", outcome="success", model="m",
        compaction={"pre_tokens": 90_000, "post_tokens": 3_100},
    )  # fmt: skip
    assert context_size(compacted) == 3_100
    assert context_size(AgentResult(agent="x", outcome="crash")) is None


def test_a_compaction_the_cli_did_by_itself_is_recorded() -> None:
    from ai_orchestrator.calls.recording import build_record
    from ai_orchestrator.core.names import parse_session_name

    session = parse_session_name("run-big")
    by_itself = AgentResult(
        agent="claude", outcome="success", model="m", usage={"m": _usage(2_700)},
        requests={"m": [_usage(2_700)]},
        compaction={"trigger": "auto", "pre_tokens": 500_027, "post_tokens": 2_674},
    )  # fmt: skip
    record = build_record("go on", by_itself, session=session, task_id=None, model="m",
                          cwd=Path("/"), session_id=None, action="resumed",
                          state=None).to_json()  # fmt: skip
    assert record["context_tokens"] == 2_700  # the request after the compaction
    assert record["compaction"] == {
        "method": "agent", "trigger": "agent", "before": 500_027, "after": 2_700,
        "agent_trigger": "auto",
    }  # fmt: skip
    plain = AgentResult(agent="claude", outcome="success", model="m", usage={"m": _usage(9)})
    record = build_record("x", plain, session=session, task_id=None, model="m", cwd=Path("/"),
                          session_id=None, action="resumed", state=None).to_json()  # fmt: skip
    assert "compaction" not in record


def test_a_workflow_conversation_compacts_before_its_next_call_and_says_so(
    session_dir: Path, isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    fake_launcher: FakeLauncher,
) -> None:  # fmt: skip
    from ai_orchestrator.calls.conversation import Conversation, Hooks
    from ai_orchestrator.calls.options import CallOptions

    steps = step("plan v1", 9_000) + step("HANDOVER: plan v1", 9_200) + step("ok", 700)
    setup(isolated_home, tmp_path, monkeypatch, steps + step("plan v2", 1_000))
    said: list[str] = []
    hooks = Hooks(info=said.append, warn=lambda m: said.append("warning: " + m))
    options = CallOptions("scripted", tmp_path)
    conversation = Conversation(SessionStore(), "plan-demo", options, hooks=hooks)
    assert conversation.ask("plan it", "plan").text == "plan v1"
    assert conversation.ask("plan it again", "plan").text == "plan v2"
    assert any("compacting the conversation" in line for line in said), said
    assert any("compacted (summary): context 9,000 → 700 tokens" in line for line in said)
    assert SessionStore().load("plan-demo").summary.to_json()["compactions"][0]["trigger"] == "auto"


def test_the_compact_at_flag_overrides_the_settings(
    session_dir: Path, isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    fake_launcher: FakeLauncher,
) -> None:  # fmt: skip
    steps = step("one", 6_000) + step("two", 6_100) + step("HANDOVER: h", 6_200) + step("ok", 500)
    setup(isolated_home, tmp_path, monkeypatch, steps + step("three", 800))
    monkeypatch.setenv("AIO_COMPACT_THRESHOLD", "0.9")
    assert run(tmp_path, "first")[0] == 0
    refused = aio_inprocess("run", "--agent", "scripted", "run-big", "x", "--compact-at", "200%",
                            cwd=tmp_path)  # fmt: skip
    assert refused.code == 2 and "--compact-at" in refused.err
    code, _out, err = run(tmp_path, "second")  # 61% < 90%: nothing
    assert code == 0 and "compacting the conversation" not in err
    flagged = aio_inprocess("run", "--agent", "scripted", "run-big", "third", "--compact-at",
                            "60%", cwd=tmp_path)  # fmt: skip
    assert flagged.code == 0, flagged.err
    assert "threshold 60%" in flagged.err and "compacted (summary)" in flagged.err
    assert flagged.out.strip() == "three"
