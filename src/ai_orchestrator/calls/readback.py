"""The usage of a call that did not end cleanly, read back from the agent's own files.

One path for every ending but a clean success: a call stopped while aio lives (``--timeout``,
Ctrl-C, SIGTERM/SIGHUP to aio, the agent CLI killed, an API error — ``session_call``) and a
call whose aio died (``recover``). The streams do not carry the usage of a call cut short:
Gemini prints usage only with its result, Codex only at ``turn.completed`` (so a stopped turn
would be billed to the next call of the thread, or lost after ``--new-session``), and Claude's
stream lines carry placeholder output counts. The CLIs' session files hold what the API
served (``agents.agent_files``).

- ``read_call_usage(agent, session_id, cwd, since, state, resume_id)``: the
  ``agent_files.read_back`` of the call that started at ``since`` (``None``: no file found).
- ``adopt(result, found)``: folds what the files say into ``result``, per model: the file's
  usage (and per-request usage) replaces the stream's for every model where it counts at
  least as many tokens, so a placeholder or a missing stream usage never wins and a request
  only the stream saw is kept. When the file's usage is taken, its backend ``state`` (the Codex
  cumulative baseline, the Claude conversation totals) is merged into ``result.state`` so the
  next call diffs from it. Returns whether the usage is *known*: the file or the stream
  holds usage of this call. A file without a response of this call proves nothing (the CLI
  may have died between a response and writing it): that call is "usage unknown", never $0.
- Where the usage came from is named on the record by ``recording.build_record``
  (``found``: ``usage_source = {kind, path}``, ``cost_source: transcript`` when computed).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ai_orchestrator.agents.base import AgentResult

if TYPE_CHECKING:
    from ai_orchestrator.agents.homes.agent_files import FileUsage
    from ai_orchestrator.core.usage import ModelUsage


def read_call_usage(
    agent: str,
    session_id: str | None,
    cwd: Path,
    since: datetime,
    state: Mapping[str, Any],
    resume_id: str | None,
) -> FileUsage | None:
    """What the agent's files say the call that started at ``since`` used."""
    # Only a call that did not succeed needs the readers of all three CLIs' formats.
    from ai_orchestrator.agents.homes.agent_files import read_back

    return read_back(agent, session_id, cwd, since, state, resume_id)


def _weight(usage: ModelUsage | None) -> int:
    if usage is None:
        return -1
    return usage.input + usage.output + usage.cache_read + usage.cache_write


def adopt(result: AgentResult, found: FileUsage | None) -> bool:
    """Fold ``found`` into ``result`` (see the module docstring); whether usage is known."""
    if found is None:
        return bool(result.usage) or result.reported_cost is not None
    taken = False
    for model, usage in found.usage.items():
        if _weight(usage) >= _weight(result.usage.get(model)):
            result.usage[model] = usage
            result.requests[model] = list(found.requests.get(model, []))
            taken = True
    if taken or not result.usage:
        result.state = {**result.state, **found.state}
    if result.usage and (result.model is None or result.model not in result.usage):
        result.model = max(result.usage, key=lambda m: _weight(result.usage[m]))
    return bool(result.usage) or result.reported_cost is not None
