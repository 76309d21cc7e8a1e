"""Reading and writing the two files of a session: the log and its summary.

- ``parse_log`` reads ``interactions.jsonl``: a line that is not a valid interaction
  (bad JSON, wrong types, numbers out of range, nesting too deep) is skipped and counted,
  never fatal; an unterminated last line (a torn append) is reported separately.
- ``summary_of_log`` is the one way a summary is rebuilt from a parsed log (the fold,
  plus the log's size and its unreadable and torn lines), whoever rebuilds it: a read,
  an append, a migration or a repair.
- ``read_summary`` reads ``metadata.json`` and says whether it can be trusted, whether it
  was written by the earlier shell version (``legacy``), or whether it is *foreign*: not
  parseable, or not one of our summaries. ``keep_foreign_copy`` preserves such a file as
  ``metadata.corrupt-<time>.json`` (once) before the store replaces it, so nothing a user
  or an older tool wrote is ever overwritten without a copy.
- ``quarantine`` appends lines moved out of the log to ``interactions.corrupt.jsonl``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.interaction import Interaction
from ai_orchestrator.core.names import SessionName
from ai_orchestrator.infra.fsutil import (
    append_durably,
    atomic_write,
    open_nofollow,
    read_bytes,
    read_tail,
    unique_suffix,
)
from ai_orchestrator.infra.timeutil import format_iso, now_iso, parse_iso
from ai_orchestrator.store.legacy_format import parse_legacy_metadata
from ai_orchestrator.store.records import normalize_interaction
from ai_orchestrator.store.summary import (
    build_summary,
    carried,
    summary_outdated,
    summary_problem,
)

METADATA = "metadata.json"
LOG = "interactions.jsonl"
QUARANTINE = "interactions.corrupt.jsonl"
LEGACY_BACKUP = "metadata.legacy.json"
_CREATED_RE = re.compile(rb'"created_at"\s*:\s*"([^"\\]{1,64})"')


@dataclass
class LogRead:
    """The parsed content of an interactions log."""

    records: list[Interaction]
    size: int
    corrupt_lines: list[int] = field(default_factory=list)  # 1-based line numbers
    torn_tail: int = 0  # bytes of an unterminated last line
    whole: bool = True  # False: the records of the log's last bytes only (``read_log_file``)

    def problems(self) -> list[str]:
        return log_problems(len(self.corrupt_lines), self.torn_tail, self.corrupt_lines)


def log_problems(corrupt: int, torn_tail: int, lines: list[int] | None = None) -> list[str]:
    out = []
    if corrupt:
        where = ""
        if lines:
            shown = ", ".join(str(n) for n in lines[:5])
            where = f" (line {shown}{'…' if len(lines) > 5 else ''})"
        out.append(f"{corrupt} unreadable line(s) in {LOG} skipped{where}")
    if torn_tail:
        out.append(f"torn last line in {LOG} ({torn_tail} bytes) ignored (run: aio session repair)")
    return out


def parse_log(data: bytes, session: SessionName) -> LogRead:
    """Parse ``interactions.jsonl`` content, skipping (and reporting) bad lines."""
    result = LogRead(records=[], size=len(data))
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    if tail.strip():
        result.torn_tail = len(tail)
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = normalize_interaction(json.loads(raw), session, stored=True)
        except (ValueError, InvalidInput, RecursionError):
            result.corrupt_lines.append(number)
            continue
        result.records.append(record)
    return result


def read_log_file(path: Path, session: SessionName, limit: int | None = None) -> LogRead:
    """The log at ``path`` parsed; with ``limit``, only its last ``limit`` bytes, from the
    first line that begins in them (a cut line is never read as a record or counted as a
    corrupt one), ``whole`` saying whether that was all of it."""
    if limit is None:
        return parse_log(read_bytes(path) or b"", session)
    data, whole = read_tail(path, limit) or (b"", True)
    parsed = parse_log(data if whole else data.partition(b"\n")[2], session)
    parsed.whole = whole
    return parsed


def summary_of_log(
    path: Path,
    session: SessionName,
    parsed: LogRead,
    created_at: str | None,
    base: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The summary of the session at ``path`` whose log parsed as ``parsed``.

    ``created_at`` and ``base`` (conversation fields) come from the previous summary;
    without a creation time the directory's is used, so every rebuild dates a session
    the same way.
    """
    summary = build_summary(session, parsed.records, created_at or fallback_created(path), base)
    summary["log_size"] = parsed.size
    summary["corrupt_lines"] = len(parsed.corrupt_lines)
    summary["torn_tail"] = parsed.torn_tail
    return summary


def fallback_created(path: Path) -> str:
    """The creation time of a session that recorded none: its directory's mtime."""
    try:
        moment = datetime.fromtimestamp(os.lstat(path).st_mtime, UTC)
    except OSError:
        return now_iso()
    return format_iso(moment)


def quarantine(path: Path, lines: list[bytes]) -> None:
    """Append ``lines`` to the session's ``interactions.corrupt.jsonl`` (durably)."""
    fd = open_nofollow(path / QUARANTINE, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        append_durably(fd, b"".join(line + b"\n" for line in lines), path / QUARANTINE)
    finally:
        os.close(fd)


def write_summary(session_path: Path, summary: dict[str, Any]) -> None:
    """Atomically replace ``metadata.json`` of the session at ``session_path``."""
    atomic_write(session_path / METADATA, summary_bytes(summary))


def summary_bytes(summary: dict[str, Any]) -> bytes:
    """The file content for ``summary``; raises ``ValueError`` for non-finite numbers."""
    # Compact on purpose: list/stats parse 10,000 of these per call.
    data = json.dumps(summary, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (data + "\n").encode("utf-8")


@dataclass
class SummaryRead:
    """What ``metadata.json`` holds and how far it can be trusted."""

    summary: dict[str, Any] | None  # a well-formed summary of ours, else None
    problem: str | None = None  # why ``summary`` is None (when the file exists)
    data: bytes | None = None  # the raw content (None: no file)
    legacy: dict[str, Any] | None = None  # the shell version's object, if it is one
    outdated: bool = False  # ours, well-formed, but older: rebuild quietly
    created_at: str | None = None  # salvaged creation time, even from a damaged file
    base: dict[str, Any] = field(default_factory=dict)  # conversation fields to carry

    @property
    def missing(self) -> bool:
        return self.data is None

    @property
    def foreign(self) -> bool:
        """The file exists but is neither a well-formed summary of ours nor the shell
        version's: keep a copy before replacing it."""
        return self.data is not None and self.summary is None and self.legacy is None


def read_summary(path: Path, session: SessionName) -> SummaryRead:
    """Read and classify ``metadata.json`` of the session directory ``path``."""
    data = read_bytes(path / METADATA)
    if data is None:
        return SummaryRead(None, f"{METADATA} is missing")
    result = SummaryRead(None, data=data, created_at=_salvage_created(data))
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        obj = None
        result.problem = f"{METADATA} is not valid JSON"
    if obj is not None:
        result.problem = summary_problem(obj, session)
    if result.problem is not None:
        # Only now: a summary of ours is never the shell version's.
        result.legacy = parse_legacy_metadata(data, obj)
        if result.legacy is not None:
            result.problem = (
                f"{METADATA} is in the earlier shell version's format (run: aio session migrate)"
            )
        return result
    if isinstance(obj, dict):
        result.summary = obj
        result.base = carried(obj)
        result.outdated = summary_outdated(obj)
        result.created_at = obj["created_at"]
    return result


def _salvage_created(data: bytes) -> str | None:
    match = _CREATED_RE.search(data)
    if match is None:
        return None
    moment = parse_iso(match.group(1).decode("utf-8", "replace"))
    return format_iso(moment) if moment else None


def keep_foreign_copy(path: Path, read: SummaryRead) -> str | None:
    """Save a foreign ``metadata.json`` (``read``, about to be replaced) next to it, 0600,
    unless the same content is kept already; the copy's name, or ``None``."""
    if not read.foreign or read.data is None or _already_kept(path, read.data):
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path / f"metadata.corrupt-{stamp}-{unique_suffix()}.json"
    atomic_write(target, read.data)
    return target.name


def _already_kept(path: Path, data: bytes) -> bool:
    """True if ``data`` is already saved as one of the session's kept copies."""
    try:
        names = os.listdir(path)
    except OSError:
        return False
    return any(
        (name.startswith("metadata.corrupt-") or name == LEGACY_BACKUP)
        and read_bytes(path / name) == data
        for name in names
    )


def summary_under_lock(
    path: Path, session: SessionName, log_fd: int, current: SummaryRead
) -> tuple[dict[str, Any], int]:
    """Summary consistent with the log (the caller holds the write lock) and the log size."""
    size = os.fstat(log_fd).st_size
    summary = current.summary
    if summary is not None and not current.outdated and summary["log_size"] == size:
        return summary, size
    keep_foreign_copy(path, current)
    parsed = parse_log(os.pread(log_fd, size, 0) if size else b"", session)
    return summary_of_log(path, session, parsed, current.created_at, current.base), size
