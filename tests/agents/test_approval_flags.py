"""``--approval-mode`` and ``--allowed-tools``: one builder (``agents._common.approval_flags``)
for the Gemini CLI and its fork Qwen Code, each with its own mode and tool names."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_orchestrator.agents import registry
from ai_orchestrator.agents.base import PERMISSION_MODES, AgentRequest, Permission
from ai_orchestrator.core.errors import InvalidInput

# backend -> (acceptEdits as the CLI names it, the CLI's own modes, its name for Edit)
FORKS = {
    "gemini": ("auto_edit", ("auto_edit", "yolo"), "replace"),
    "qwen": ("auto-edit", ("auto-edit", "auto", "yolo"), "edit"),
}


def argv(key: str, permission: Permission) -> list[str]:
    request = AgentRequest(prompt="p", cwd=Path("/w"), permission=permission)
    return registry.get_backend(key).build(request, key).argv


def flag(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


@pytest.mark.parametrize("key", sorted(FORKS))
def test_our_modes_are_mapped_and_the_clis_own_pass_as_they_are(key: str) -> None:
    accept_edits, own, _ = FORKS[key]
    mapped = {"acceptEdits": accept_edits, "plan": "plan", "default": "default",
              "dontAsk": "default", "bypassPermissions": "yolo"}
    assert set(mapped) == set(PERMISSION_MODES)
    for mode, native in [*mapped.items(), *((m, m) for m in own)]:
        assert flag(argv(key, Permission(mode=mode)), "--approval-mode") == native, mode
    assert "--approval-mode" not in argv(key, Permission())


@pytest.mark.parametrize("key", sorted(FORKS))
def test_a_mode_of_another_cli_is_refused_naming_the_accepted_ones(key: str) -> None:
    other = next(m for k, (_, own, _) in FORKS.items() if k != key for m in own
                 if m not in FORKS[key][1])
    for mode in (other, "manual", "YOLO", ""):
        if not mode:
            assert "--approval-mode" not in argv(key, Permission(mode=mode))
            continue
        with pytest.raises(InvalidInput) as info:
            argv(key, Permission(mode=mode))
        assert f"invalid permission mode {mode!r} for {key}; use one of " in str(info.value)
        assert all(m in str(info.value) for m in (*PERMISSION_MODES, *FORKS[key][1]))


@pytest.mark.parametrize("key", sorted(FORKS))
def test_tools_are_named_as_the_cli_names_them_each_once(key: str) -> None:
    edit = FORKS[key][2]
    tools = ["Bash(git diff:*)", " Edit ", "Bash", "Edit(src/**)", "glob", "my_tool(x)"]
    assert flag(argv(key, Permission(allowed_tools=tools)), "--allowed-tools") == (
        f"run_shell_command,{edit},glob,my_tool(x)"
    )
    assert "--allowed-tools" not in argv(key, Permission(allowed_tools=[]))


@pytest.mark.parametrize("key", sorted(FORKS))
@pytest.mark.parametrize("tool", ["-rf", "--yolo", "", "a\nb", "x\x00"])
def test_a_tool_that_could_read_as_a_flag_is_refused(key: str, tool: str) -> None:
    with pytest.raises(InvalidInput, match="invalid tool"):
        argv(key, Permission(allowed_tools=["Bash", tool]))
