"""The summary hand-over: what a conversation is asked for when another one takes over from it
without its history, and how that hand-over is given to the new one.

Two users: escalation (``workflow.phases.handover``: to another model or agent, when a fork
is not possible) and compaction (``calls.compaction``: the same agent, in a fresh
conversation, when the old one's context grew past the threshold and the agent cannot
compact itself headlessly).
"""

from __future__ import annotations

HANDOFF_REQUEST = (
    "This conversation is being handed over to {target} ({reason}). Write the hand-over for "
    "whoever continues it, who will NOT see this conversation: the goal; what has been done "
    "(files changed, decisions and why); what was tried and failed, with the exact errors; "
    "what remains and the next concrete step. Be specific and complete but brief. Reply with "
    "the hand-over only; change no files."
)


def handoff_request(target: str, reason: str) -> str:
    """The prompt that asks the old conversation for its hand-over."""
    return HANDOFF_REQUEST.format(target=target, reason=reason)


def handed_block(handed: str) -> str:
    """The hand-over as the new conversation receives it."""
    return f"Its hand-over:\n<handover>\n{handed.strip()}\n</handover>"
