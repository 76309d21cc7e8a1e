"""Find and stop every process an agent started, even the ones that left its process group.

Why this exists
    Signalling the agent's process group is not enough: Gemini CLI starts ``run_shell_command``
    tools *detached* (``setsid``: a new session and group), Claude's background shells and any
    ``nohup``/double-fork do the same. Such a process survives ``killpg`` on the agent's group
    and, once the agent dies, is re-parented away from it. This module tracks the agent's
    whole process *tree* instead.

Contract
    - ``enable_subreaper()`` makes this process a child subreaper (Linux
      ``prctl(PR_SET_CHILD_SUBREAPER)``, via ctypes, once per process): orphaned descendants
      are re-parented to us instead of to init, so they stay findable and we can reap them.
      It returns ``False`` (and changes nothing) where that is unavailable.
    - ``Tracker(baseline)``, once ``attach(child_pid)`` is called, remembers every process it
      has ever seen below the child (at each ``refresh()``, which ``signal``/``busy`` call): the
      child's descendants by parent pid, plus our *own* new children other than the agent
      (re-parented orphans, since we are the subreaper) and their descendants. ``baseline``
      (our children before the agent was launched) are never treated as the agent's.
    - ``signal(sig)`` sends ``sig`` to each live tracked process and to its process group, except
      members of the child's own group for any signal but SIGKILL (the runner signals that
      group itself; each gets a catchable signal once) and a group of our own session (a
      tracked process can never be in it: the agent runs in a new session; the check is a
      guard). Identity is (pid, start time): a pid reused by an
      unrelated process is never signalled.
    - ``busy(pgid)`` is whether group ``pgid`` or a tracked process is still running (zombies
      do not count); ``None`` without ``/proc``.
    - ``reap()`` collects the exit status of tracked processes that are our zombies (never
      the agent itself: the runner reaps it, keeping its pid reserved until then).
    - Every function returns a neutral value without ``/proc`` (``snapshot()`` → ``None``);
      then only the process-group handling of the runner applies.

Cost: with the subreaper on and the kernel's ``/proc/<pid>/task/<tid>/children`` files,
``refresh``/``signal``/``busy`` read only the agent's tree (about 0.1 ms for an agent
that left nothing); otherwise each scans all of ``/proc`` (milliseconds with hundreds of
processes). The runner calls them at most once per ``TRACK_INTERVAL`` while the agent runs
and a few times during the shutdown.
"""

from __future__ import annotations

import contextlib
import os
import signal as _signal
from dataclasses import dataclass

from ai_orchestrator.agents.process.subreaper import become_subreaper

__all__ = [
    "ProcInfo",
    "Tracker",
    "descendants",
    "enable_subreaper",
    "own_children",
    "snapshot",
]

_subreaper: bool | None = None


def enable_subreaper() -> bool:
    """Become a child subreaper (Linux only; idempotent). ``True`` when it is in effect."""
    global _subreaper
    if _subreaper is None:
        _subreaper = become_subreaper()
    return _subreaper


@dataclass(frozen=True)
class ProcInfo:
    """One process as ``/proc/<pid>/stat`` shows it."""

    pid: int
    ppid: int
    pgid: int
    sid: int
    state: str
    start: int  # start time in clock ticks since boot: (pid, start) identifies a process

    @property
    def live(self) -> bool:
        return self.state not in ("Z", "X")


def _read_stat(pid: int) -> ProcInfo | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None  # exited while we looked
    # "pid (comm) state ppid pgrp session … starttime(22nd)"; comm may contain ") ".
    fields = stat.rpartition(b")")[2].split()
    try:
        return ProcInfo(
            pid=pid,
            ppid=int(fields[1]),
            pgid=int(fields[2]),
            sid=int(fields[3]),
            state=fields[0].decode("ascii", "replace"),
            start=int(fields[19]),
        )
    except (IndexError, ValueError):
        return None


def snapshot() -> dict[int, ProcInfo] | None:
    """Every process visible in ``/proc``; ``None`` when there is no ``/proc``."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    table: dict[int, ProcInfo] = {}
    for name in names:
        if name.isdigit():
            info = _read_stat(int(name))
            if info is not None:
                table[info.pid] = info
    return table


_children_files: bool | None = None
_ORPHAN, _BELOW = -1, -2  # trust markers in Tracker._walk_tree (start times are >= 0)


def _has_children_files() -> bool:
    """Whether the kernel has ``/proc/<pid>/task/<tid>/children`` (CONFIG_PROC_CHILDREN)."""
    global _children_files
    if _children_files is None:
        _children_files = os.path.exists(f"/proc/self/task/{os.getpid()}/children")
    return _children_files


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` from its threads' ``children`` files ([] when it is gone)."""
    found: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                found.extend(int(child) for child in fh.read().split())
        except (OSError, ValueError):
            continue  # the thread ended while we looked
    return found


def descendants(pid: int) -> list[ProcInfo] | None:
    """Every live or zombie process below ``pid`` right now (``None`` without ``/proc``).
    Complete for a subreaper's own tree: no orphan of it can be re-parented elsewhere."""
    if _has_children_files():
        found: list[ProcInfo] = []
        stack = _children(pid)
        while stack:
            info = _read_stat(stack.pop())
            if info is not None:
                found.append(info)
                stack.extend(_children(info.pid))
        return found
    table = snapshot()
    if table is None:
        return None
    below: dict[int, list[ProcInfo]] = {}
    for info in table.values():
        below.setdefault(info.ppid, []).append(info)
    found, pids = [], [pid]
    while pids:
        for info in below.get(pids.pop(), ()):
            found.append(info)
            pids.append(info.pid)
    return found


def own_children() -> set[int]:
    """Pids whose parent is this process (cheap ``children`` files when the kernel has them)."""
    if _has_children_files():
        return set(_children(os.getpid()))
    me = os.getpid()
    return {p.pid for p in (snapshot() or {}).values() if p.ppid == me}


class Tracker:
    """The agent's process tree, remembered across re-parenting (see the module docstring)."""

    def __init__(self, baseline: set[int]) -> None:
        self.baseline = set(baseline)
        self.child: int | None = None
        self._child_start: int | None = None
        self.known: dict[int, int] = {}  # pid -> start time, every process seen below the child
        self._me = os.getpid()
        self._my_sid = os.getsid(0)
        self._my_pgid = os.getpgid(0)

    def attach(self, child_pid: int) -> None:
        self.child = child_pid
        info = _read_stat(child_pid)
        self._child_start = info.start if info else None

    def refresh(self) -> dict[int, ProcInfo] | None:
        """Find every current descendant and add it to ``known``; returns the processes seen
        (the whole tree at least). With the subreaper on and ``children`` files, only the
        tree is read (cheap); otherwise all of ``/proc`` is scanned."""
        if self.child is not None and _subreaper and _has_children_files():
            return self._walk_tree()
        table = snapshot()
        if table is None or self.child is None:
            return table
        roots = {self.child}
        roots |= {pid for pid, start in self.known.items() if self._same(table, pid, start)}
        for info in table.values():  # orphans re-parented to us (we are the subreaper)
            if (
                info.ppid == self._me
                and info.pid not in self.baseline
                and info.pid != self.child
                and (self._child_start is None or info.start >= self._child_start)
            ):
                roots.add(info.pid)
        children: dict[int, list[int]] = {}
        for info in table.values():
            children.setdefault(info.ppid, []).append(info.pid)
        stack = list(roots)  # every root is verified: the child, (pid, start) matches, orphans
        while stack:
            pid = stack.pop()
            found = table.get(pid)
            if found is None:
                continue
            if pid != self.child:
                self.known[pid] = found.start  # below a verified root: ours, even a reused pid
            stack.extend(children.get(pid, ()))
        return table

    def _walk_tree(self) -> dict[int, ProcInfo]:
        """``refresh`` by following ``children`` files from the roots. Complete because, as
        the subreaper, we inherit every orphan of the tree: nothing below the child can be
        re-parented out of reach of ``_children(self._me)``."""
        assert self.child is not None
        table: dict[int, ProcInfo] = {}
        # (pid, how to trust it): a start time it must have, _ORPHAN (a new child of ours:
        # trusted unless it predates the agent) or _BELOW (a child of a trusted process).
        stack: list[tuple[int, int]] = [(self.child, self._child_start or _BELOW)]
        stack += list(self.known.items())
        stack += [(pid, _ORPHAN) for pid in _children(self._me) if pid not in self.baseline]
        while stack:
            pid, trust = stack.pop()
            if pid in table:
                continue
            info = _read_stat(pid)
            if info is None:
                continue
            if trust == _ORPHAN:
                if pid == self.child or (
                    self._child_start is not None and info.start < self._child_start
                ):
                    continue
            elif trust != _BELOW and info.start != trust:
                continue  # the pid was reused by an unrelated process
            table[pid] = info
            if pid != self.child:
                self.known[pid] = info.start
            stack.extend((kid, _BELOW) for kid in _children(pid))
        return table

    @staticmethod
    def _same(table: dict[int, ProcInfo], pid: int, start: int) -> bool:
        info = table.get(pid)
        return info is not None and info.start == start

    def _live(self, table: dict[int, ProcInfo]) -> list[ProcInfo]:
        found = []
        for pid, start in self.known.items():
            info = table.get(pid)
            if info is not None and info.start == start and info.live:
                found.append(info)
        return found

    def busy(self, pgid: int) -> bool | None:
        """Whether group ``pgid`` or a tracked process still runs; ``None`` without ``/proc``."""
        table = self.refresh()
        if table is None:
            return None
        if any(p.pgid == pgid and p.live for p in table.values()):
            return True
        return bool(self._live(table))

    def signal(self, sig: _signal.Signals) -> int:
        """Send ``sig`` to every live tracked process and its group; returns how many."""
        table = self.refresh()
        if not table:
            return 0
        live = self._live(table)
        groups = set()
        for info in live:
            if info.pgid == self.child and sig != _signal.SIGKILL:
                continue  # the runner signals the child's group: a second TERM could cut
                # short a TERM handler that is still cleaning up
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(info.pid, sig)
            if info.pgid > 1 and info.pgid != self._my_pgid and info.sid != self._my_sid:
                groups.add(info.pgid)
        for pgid in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, sig)
        return len(live)

    def reap(self) -> None:
        """Collect tracked processes that ended as our children (zombies of the subreaper)."""
        if not self.known:
            return  # the usual case: the agent left nothing behind, nothing to read
        table = self.refresh() or {}
        for pid, start in list(self.known.items()):
            info = table.get(pid)
            if info is None or info.start != start:
                del self.known[pid]  # gone (reaped by its own parent): nothing to collect
                continue
            if info.ppid != self._me or info.live:
                continue
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            del self.known[pid]
