"""``push --watch``: push now, then again whenever the store's logs change, debounced.

The store is polled (``stat`` of each session log: size and mtime) every ``interval``
seconds. A change starts a quiet period: the push runs once nothing changed for
``debounce`` seconds, or ``max_wait`` after the first change at the latest (a store that
never goes quiet is still pushed). A failed push (server down) is reported through
``on_error`` and retried at the next change or after ``retry`` seconds; it does not end the
watch — except a schema newer than this aio or a bad setting, which waiting cannot fix.
Ctrl-C (``KeyboardInterrupt``) ends it: during a push the open transaction is rolled
back by the server, so at most the batch in flight is pushed again next time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from ai_orchestrator.core.errors import AioError, InvalidInput, TeamSchemaTooNew
from ai_orchestrator.store.logfile import LOG
from ai_orchestrator.store.session_store import SessionStore
from ai_orchestrator.team.config import TeamSettings
from ai_orchestrator.team.push import PushReport, push


def snapshot(store: SessionStore) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every session log."""
    found = {}
    for name in store.names():
        try:
            st = os.stat(store.root / name / LOG, follow_symlinks=False)
        except OSError:
            continue
        found[name] = (st.st_size, st.st_mtime_ns)
    return found


def watch(
    store: SessionStore,
    settings: TeamSettings,
    *,
    on_push: Callable[[PushReport], None],
    on_error: Callable[[AioError], None],
    with_prompts: bool = False,
    interval: float = 2.0,
    debounce: float = 5.0,
    max_wait: float = 60.0,
    retry: float = 30.0,
    rounds: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Push until interrupted (module doc); ``rounds`` bounds the pushes (tests)."""
    pushes = 0
    while rounds is None or pushes < rounds:
        seen = snapshot(store)
        try:
            on_push(push(store, settings, with_prompts=with_prompts))
            failed = False
        except (TeamSchemaTooNew, InvalidInput):
            raise  # waiting does not fix these: the watch ends with their exit code
        except AioError as exc:
            on_error(exc)
            failed = True
        pushes += 1
        if rounds is not None and pushes >= rounds:
            return
        first_change: float | None = None
        last_change = time.monotonic()
        waited = 0.0
        while True:
            sleep(interval)
            waited += interval
            now = time.monotonic()
            current = snapshot(store)
            if current != seen:
                seen = current
                last_change = now
                first_change = first_change or now
            if first_change is not None and (
                now - last_change >= debounce or now - first_change >= max_wait
            ):
                break
            if failed and waited >= retry:
                break
