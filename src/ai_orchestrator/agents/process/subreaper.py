"""Become a child subreaper (Linux ``prctl(PR_SET_CHILD_SUBREAPER)``).

Shared by ``proctree`` (aio's own process) and ``watchdog`` (the process between aio and the
agent): orphaned descendants are then re-parented to the caller instead of to init, so they
stay findable and reapable. Kept apart and import-light (``sys`` only; ``ctypes`` when called)
because the watchdog imports it at start-up, which every agent call pays for.
"""

from __future__ import annotations

import sys

_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Make this process a child subreaper (Linux ``prctl``); ``True`` when in effect."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False
