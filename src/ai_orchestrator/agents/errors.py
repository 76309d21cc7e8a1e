"""Errors raised when an agent process cannot be started.

They live here (not in ``ai_orchestrator.errors``) because only the agents layer raises
them; they still derive from ``AioError``, so the CLI maps them to exit code 1 with their
one-line message.
"""

from __future__ import annotations

from ai_orchestrator.errors import AioError


class AgentLaunchError(AioError):
    """The agent process could not be started (bad working directory, OS refused the exec)."""


class AgentNotFound(AgentLaunchError):
    """The agent executable does not exist, is not on PATH, or is not executable."""
