"""The summary index's lean read of one session: its row straight from ``metadata.json``.

A first listing (no index yet) reads every session; ``SessionStore.load`` costs about
twenty system calls and a typed round trip per session (pathlib, the marker, the mode
tightening and odd-file checks, a validated open, ``SessionSummary``), which at 100,000
sessions is minutes. ``lean_read`` takes the common case only, with the same outcome
``load`` would give, and answers ``None`` for anything else, which the caller then reads
the slow way (``load``), so every rule stays where it is:

- the session directory, ``metadata.json`` and ``interactions.jsonl`` are exactly what
  ``load`` leaves unchanged and reads without complaint: a real directory of ours with
  no group/other bits (nothing to tighten), both files regular, ours, mode exactly 0600
  (nothing to tighten; readable by us, so ``check_readable`` of the log would pass);
- ``.lock``, ``.run.lock`` and ``pending-call.json`` are absent, or regular files with no
  bit to tighten (so no odd file is refused or reported);
- the summary is the whole file (its size as ``lstat`` gave it), parses (``msgspec``: the
  same object as ``json.loads``, or refused), is well-formed (``summary_problem``), not
  outdated, and its ``log_size`` is the log's size in the signature (else it is rebuilt
  from the log: the slow way).

A rescan also pauses the cyclic garbage collector (``collector_paused``).

System calls per session: ``lstat`` of the directory, of ``metadata.json`` and of the
three lock/pending names, then ``open``/``read``/``close`` of the summary; the log's
``lstat`` is the discovery scan's. The stats are returned so the caller packs the
signature from the very ``lstat``s taken *before* the read (as ``_signature``): a change
made while it reads leaves a signature that no longer matches, read again next time.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from stat import S_IFDIR, S_IFMT, S_IFREG, S_IMODE
from typing import Any

import msgspec

from ai_orchestrator.core.names import as_session_name
from ai_orchestrator.infra import locks
from ai_orchestrator.infra.fsutil import DIR_MODE, FILE_MODE
from ai_orchestrator.store.index_row import SessionRow
from ai_orchestrator.store.logfile import METADATA, log_problems
from ai_orchestrator.store.pending import PENDING
from ai_orchestrator.store.summary import summary_outdated, summary_problem

_UID = os.geteuid()
_PLAIN_FILE = S_IFREG | FILE_MODE  # the whole st_mode: no setuid/sticky/exec bit either
_OPEN = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NONBLOCK", 0)
)  # a FIFO or link swapped in after the ``lstat`` never blocks nor is followed
_decode = msgspec.json.decode
_SIDE_FILES = (f"/{locks.WRITE_LOCK}", f"/{locks.RUN_LOCK}", f"/{PENDING}")
Stats = tuple[os.stat_result, os.stat_result, os.stat_result]
"""``lstat`` of the session directory, ``metadata.json`` and ``interactions.jsonl``."""


def lean_read(
    prefix: str, name: str, log_st: os.stat_result | None
) -> tuple[Stats, SessionRow] | None:
    """The row of session ``name`` (its directory ``prefix + name``) and the ``lstat``s
    its signature is made of, or ``None``: read it the slow way (``SessionStore.load``).
    ``log_st``: the discovery scan's ``lstat`` of its log."""
    if log_st is None or log_st.st_mode != _PLAIN_FILE or log_st.st_uid != _UID:
        return None
    path = prefix + name
    lstat = os.lstat
    try:
        dir_st = lstat(path)
        meta_st = lstat(f"{path}/{METADATA}")
    except OSError:
        return None
    if (
        S_IFMT(dir_st.st_mode) != S_IFDIR
        or S_IMODE(dir_st.st_mode) & ~DIR_MODE
        or dir_st.st_uid != _UID
        or meta_st.st_mode != _PLAIN_FILE
        or meta_st.st_uid != _UID
    ):
        return None
    for side in _SIDE_FILES:
        try:
            st = lstat(path + side)
        except FileNotFoundError:
            continue
        except OSError:
            return None
        if S_IFMT(st.st_mode) != S_IFREG or S_IMODE(st.st_mode) & ~FILE_MODE:
            return None  # odd (reported, refused) or loose (tightened): ``load`` does it
    size = meta_st.st_size
    try:
        fd = os.open(f"{path}/{METADATA}", _OPEN)
    except OSError:
        return None
    try:
        data = os.read(fd, size + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(data) != size:
        return None  # changed since its ``lstat``: the slow way
    try:
        # ``json.loads`` gives the same object or msgspec refuses it (NaN, a lone
        # surrogate, a BOM, a number beyond a double: the slow way then), 3× faster.
        summary: Any = _decode(data)
        if summary_problem(summary, as_session_name(name)) is not None:
            return None
        if summary_outdated(summary) or summary["log_size"] != log_st.st_size:
            return None
        problems = log_problems(summary["corrupt_lines"], summary.get("torn_tail", 0))
        row = SessionRow.from_summary(name, path, summary, problems, [])
    except Exception:  # whatever it is, ``load`` says it as it always has
        return None
    return (dir_st, meta_st, log_st), row


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a rescan reads: it builds 100,000 rows that
    live until the listing ends and frees a summary's objects as it goes (no cycles), yet
    the collector would walk the growing heap again and again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


__all__ = ["Stats", "collector_paused", "lean_read"]
