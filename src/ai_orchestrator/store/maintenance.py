"""Repair and tidying of one session (``aio session repair``, ``clean``).

Everything here runs with the session's write lock held by the caller, so no append or
summary rewrite is in flight: a temp file found then is the leftover of a crash, and the
log can be rewritten. Nothing a user might need is deleted — unreadable log lines move to
``interactions.corrupt.jsonl``, a damaged or foreign ``metadata.json`` is kept as
``metadata.corrupt-<time>.json``, and a shell-version one as ``metadata.legacy.json``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from ai_orchestrator.core.errors import UnsafeStore
from ai_orchestrator.core.names import SessionName
from ai_orchestrator.core.schema import versioned
from ai_orchestrator.infra import locks
from ai_orchestrator.infra.fsutil import (
    atomic_write,
    file_error,
    not_regular_error,
    read_bytes,
    tighten_path,
)
from ai_orchestrator.store.legacy import migrate_locked
from ai_orchestrator.store.logfile import (
    LEGACY_BACKUP,
    LOG,
    METADATA,
    QUARANTINE,
    LogRead,
    SummaryRead,
    keep_foreign_copy,
    parse_log,
    quarantine,
    read_summary,
    summary_of_log,
    write_summary,
)
from ai_orchestrator.store.records import serialize

# Files the store replaces with atomic_write inside a session directory.
_TEMP_TARGETS = (METADATA, LOG, LEGACY_BACKUP)


def _is_temp(name: str) -> bool:
    if not name.startswith(".") or ".tmp-" not in name:
        return False
    target = name[1 : name.index(".tmp-")]
    return target in _TEMP_TARGETS or target.startswith("metadata.corrupt-")


def temp_files(path: Path) -> list[str]:
    """Names of ``.<file>.tmp-*`` entries of the store's atomic writes in ``path`` (a
    directory of that name is not one of ours: it is left alone, see ``odd_entries``)."""
    with os.scandir(path) as entries:
        return [
            entry.name
            for entry in entries
            if _is_temp(entry.name) and not entry.is_dir(follow_symlinks=False)
        ]


def purge_temp_files(path: Path) -> int:
    """Remove temp files left by interrupted atomic writes (write lock held: none of
    them belongs to a write in flight)."""
    names = temp_files(path)
    for name in names:
        try:
            os.unlink(path / name)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise file_error(path / name, exc, action="remove leftover") from None
    return len(names)


# The entries of a session directory that must be regular files when present.
_REGULAR = (METADATA, LOG, QUARANTINE, LEGACY_BACKUP, locks.WRITE_LOCK, locks.RUN_LOCK)


def odd_entries(path: Path) -> dict[str, str]:
    """What repair cannot fix, by entry name: a file of the session that is not a regular
    file (FIFO, socket, device, directory) and a leftover temp directory. Repair never
    removes them: they are not ours, and what they hold is unknown."""
    found = {}
    with os.scandir(path) as entries:
        for entry in entries:
            expected = entry.name in _REGULAR or _is_temp(entry.name)
            if not expected or entry.is_symlink():
                continue
            mode = entry.stat(follow_symlinks=False).st_mode
            if not stat.S_ISREG(mode):
                found[entry.name] = str(not_regular_error(Path(entry.path), mode, action="use"))
    return found


def fix_modes(path: Path) -> int:
    """Tighten every entry of a session directory to 0700/0600; refuse symlinks. An odd
    entry (FIFO, socket, device, or a directory where a file belongs: ``odd_entries``) is
    left untouched, mode included: repair reports it and changes nothing about it."""
    fixed = 0
    with os.scandir(path) as entries:
        for entry in entries:
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                raise UnsafeStore(entry.path, "it is a symbolic link")
            expected_file = entry.name in _REGULAR or _is_temp(entry.name)
            if not (stat.S_ISREG(st.st_mode) or (stat.S_ISDIR(st.st_mode) and not expected_file)):
                continue
            wanted = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
            if stat.S_IMODE(st.st_mode) & ~wanted:
                os.chmod(entry.path, stat.S_IMODE(st.st_mode) & wanted)
                fixed += 1
    return fixed


def tighten_index(root: Path) -> int:
    """Tighten the summary index and its SQLite side files to 0600."""
    from ai_orchestrator.store.index import INDEX_FILE

    return sum(
        tighten_path(root / f"{INDEX_FILE}{suffix}") for suffix in ("", "-journal", "-wal", "-shm")
    )


def _summary_was(current: SummaryRead, log_size: int, migrated: bool) -> str:
    if migrated:
        return f"in the earlier shell version's format (migrated; original kept as {LEGACY_BACKUP})"
    if current.summary is None:
        return current.problem or "missing"
    if current.outdated:
        return "in an older format (rebuilt)"
    if current.summary["log_size"] != log_size:
        return "out of date (rebuilt)"
    return "consistent"


def repair_locked(path: Path, session: SessionName) -> dict[str, Any]:
    """The work of ``SessionStore.repair`` (write lock held)."""
    current = read_summary(path, session)
    migrated = migrate_locked(path, session) if current.legacy is not None else None
    if migrated is not None:
        current = read_summary(path, session)
    data = read_bytes(path / LOG) or b""
    parsed = parse_log(data, session)
    summary_was = _summary_was(current, len(data), migrated is not None)
    moved = 0
    if parsed.corrupt_lines or parsed.torn_tail:
        lines = data.split(b"\n")
        bad = [lines[n - 1] for n in parsed.corrupt_lines]
        if parsed.torn_tail:
            bad.append(lines[-1])
        quarantine(path, bad)  # first, so a crash before the rewrite loses nothing
        moved = len(bad)
        data = b"".join(serialize(r) for r in parsed.records)
        atomic_write(path / LOG, data)
        parsed = LogRead(parsed.records, len(data))  # what the log holds now
    kept = keep_foreign_copy(path, current)
    write_summary(path, summary_of_log(path, session, parsed, current.created_at, current.base))
    return versioned({
        "session_name": session.name,
        "interactions": len(parsed.records),
        "quarantined_lines": moved,
        "summary_was": summary_was,
        "kept_copy": kept,
        "migrated": migrated is not None,
        "modes_fixed": fix_modes(path),
        "temp_files_removed": purge_temp_files(path),
    })
