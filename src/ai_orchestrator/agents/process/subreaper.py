"""Become a child subreaper (Linux ``prctl(PR_SET_CHILD_SUBREAPER)``); die with the parent
(``prctl(PR_SET_PDEATHSIG)``, ``die_with_parent``: the usage sync's forked workers).

Shared by ``proctree`` (aio's own process) and ``watchdog`` (the process between aio and the
agent): orphaned descendants are then re-parented to the caller instead of to init, so they
stay findable and reapable. Kept apart and import-light (``sys`` only; ``ctypes`` when called)
because the watchdog imports it at start-up, which every agent call pays for.
"""

from __future__ import annotations

import os
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


_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when its parent dies (Linux ``prctl``; elsewhere nothing); at
    once if ``parent`` is already gone (it died before the request took effect)."""
    import signal

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)
