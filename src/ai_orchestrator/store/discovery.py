"""What in ``SESSION_DIR`` is a session: aio's marker, the one discovery of the store.

A directory is a session only if aio made it. Its name alone (``<command>-<feature-id>``)
proves nothing: ``backup-2024/`` or ``my-project/`` may be anyone's. **The marker**
(``session_marker``) is a store file in a shape aio writes, in a real directory (never a
symbolic link) with a valid session name:

1. ``interactions.jsonl`` as a regular file. Every aio session has one from its creation:
   since this version the directory is created with its (empty) log inside and renamed
   into place (``session_store``), and earlier versions created it in the first write;
2. ``metadata.json`` as a regular file holding aio's summary (an object with
   ``schema_version`` and this ``session_name``) or the shell version's metadata
   (``legacy_format``), so sessions of every earlier version and of the shell version count;
3. ``pending-call.json`` as a regular file holding aio's pending-call marker (an object with
   ``schema_version`` and ``record_id``): a run of an earlier version killed before its
   first record;
4. ``.run.lock`` as a regular file: the run lock has a name no other tool uses, and an
   earlier version created it before the log when a run failed before its first record;
5. ``.lock`` holding aio's holder line (``{pid, host, command, since}``): an earlier
   version killed while it held the write lock of a session it was creating.

An empty ``.lock`` alone is *not* a marker (the shell version and many tools use the name).
Anything else in the store is **not aio's**: listed once by every read command as such
(``Discovery.foreign``), never written into, never removed.

``discover(root)`` is the one scan every command uses (list, stats, export, clean, repair,
migrate, the index): sessions, shell-version sessions under names that are not valid
(``strays``, see ``store.transfer``), entries that could not be examined (``errors``) and
the foreign ones. ``is_store_entry`` names what aio (or the shell version) writes inside a
session directory: removal deletes only those (``store.trash``), so a file a user put in a
session directory, or wrote into it while it was being removed, is never lost.

aio's own bookkeeping at the root (``ROOT_FILES``, ``is_aio_own``) is neither a session nor
foreign. Its temporary directories carry a ``+`` in their names (``.aio+trash-…``,
``.aio+new-…``), a character outside every session name and every name the shell version
could write, so they can never collide with a session.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ai_orchestrator.core import env
from ai_orchestrator.core.names import FEATURE_ID_PATTERN, is_session_name
from ai_orchestrator.core.schema import SCHEMA_KEY
from ai_orchestrator.infra import locks
from ai_orchestrator.infra.fsutil import peek_bytes
from ai_orchestrator.store.journal import JOURNAL
from ai_orchestrator.store.legacy_format import is_legacy_metadata, parse_legacy_metadata
from ai_orchestrator.store.logfile import LEGACY_BACKUP, LOG, METADATA, QUARANTINE
from ai_orchestrator.store.pending import PENDING

# Root-level files aio writes (the todo log and its lock, the summary index and SQLite's
# side files, the index's change journal). A shell-version ``--session-name .`` wrote
# metadata.json and .lock at the root.
# aio's own rooms keep their files in these root directories (a session name always holds a
# ``-``, so none can be one): the usage index (``usage.db``), the team settings (``team``)
# and the session templates (``templates``, ``store.templates``).
USAGE_DIR = env.USAGE_DIR
TEAM_DIR = "team"
# The retention policy's pins and stamp, and the archive it exports into (store.retention).
RETENTION_DIR = "retention"
ARCHIVE_DIR = "archive"
TEMPLATES_DIR = "templates"
ROOT_FILES = frozenset(
    {
        USAGE_DIR,
        TEAM_DIR,
        RETENTION_DIR,
        ARCHIVE_DIR,
        TEMPLATES_DIR,
        "todos.jsonl",
        ".todos.jsonl.lock",
        "index.sqlite",
        "index.sqlite-journal",
        "index.sqlite-wal",
        "index.sqlite-shm",
        "index.list",  # the kept default listing (``store.index_query``)
        JOURNAL,
        METADATA,
        locks.WRITE_LOCK,
    }
)
TRASH_PREFIX = ".aio+trash-"  # a removal in progress (store.trash)
NEW_PREFIX = ".aio+new-"  # a session being created (session_store)
# What earlier versions named their trash: ``.trash-<session name or "legacy">-<pid>-<hex8>``.
OLD_TRASH = re.compile(rf"\A\.trash-(?:[a-z][a-z0-9]{{0,31}}-{FEATURE_ID_PATTERN}|legacy)"
                        r"-[0-9]+-[0-9a-f]{8}\Z")
_SHELL_NAME = re.compile(r"\A[A-Za-z0-9._-]{1,100}\Z")
_HOLDER_KEYS = frozenset({"pid", "host", "command", "since"})  # ``infra.locks`` holder line

# Session-directory entries aio (or the shell version) writes; see ``is_store_entry``.
STORE_FILES = frozenset(
    {METADATA, LOG, QUARANTINE, LEGACY_BACKUP, locks.WRITE_LOCK, locks.RUN_LOCK, PENDING,
     "metadata.json.bak"}  # the shell version's ``sed -i.bak`` without jq
)
_STORE_PATTERNS = re.compile(
    r"\A(?:metadata\.legacy\..+\.json|metadata\.corrupt-.+\.json"
    r"|pending-call\.corrupt-.+\.json|\..+\.tmp-.+)\Z"
)


def is_store_entry(name: str) -> bool:
    """True if ``name`` is a file name aio (or the shell version) writes in a session."""
    return name in STORE_FILES or _STORE_PATTERNS.match(name) is not None


def is_aio_own(name: str) -> bool:
    """A root entry that is aio's bookkeeping: its files, trash, sessions being created,
    and the trash of earlier versions (their exact name shape; ``purge_trash`` still
    deletes only store files out of them)."""
    return (
        name in ROOT_FILES
        or name.startswith((TRASH_PREFIX, NEW_PREFIX))
        or OLD_TRASH.match(name) is not None
        or name.startswith((".todos.jsonl.tmp-", f"{JOURNAL}.tmp-", "index.list.tmp-"))
    )


def _small_json(path: Path) -> object:
    """The JSON in a regular file (``None``: absent, odd, unreadable or not JSON), read
    with ``peek_bytes``: what is examined here may be anyone's, and is left unchanged
    (``fsutil.open_nofollow`` would tighten its mode)."""
    data = peek_bytes(path)
    if data is None:
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return parse_legacy_metadata(data)


def _may_be_stray(name: str) -> bool:
    """A name a shell-version session may have that is not a valid session name: a
    dot-name only if the shell's sanitiser allowed it and it is no temp file of aio's."""
    if name.startswith("."):
        return _SHELL_NAME.match(name) is not None and ".tmp-" not in name
    return True


def _regular(path: Path) -> bool:
    """``path`` is a regular file; ``OSError`` when that cannot be told (EACCES: the
    session is then unreadable, not foreign)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return False


def session_marker(path: Path, name: str | None = None) -> str | None:
    """Which store file marks ``path`` as an aio session (see the module docstring), or
    ``None``. ``name`` is the session name the summary must carry (default: the
    directory's). Raises ``OSError`` if ``path`` itself cannot be examined."""
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        return None
    if _regular(path / LOG):
        return LOG
    name = path.name if name is None else name
    meta = _small_json(path / METADATA)
    if isinstance(meta, dict):
        if SCHEMA_KEY in meta and meta.get("session_name") == name:
            return METADATA
        if is_legacy_metadata(meta):
            return METADATA
    pending = _small_json(path / PENDING)
    if isinstance(pending, dict) and SCHEMA_KEY in pending and "record_id" in pending:
        return PENDING
    if _regular(path / locks.RUN_LOCK):
        return locks.RUN_LOCK
    holder = _small_json(path / locks.WRITE_LOCK)
    if isinstance(holder, dict) and set(holder) >= _HOLDER_KEYS:
        return locks.WRITE_LOCK
    return None


def is_shell_stray(path: Path) -> bool:
    """A directory holding the shell version's ``metadata.json`` (any name)."""
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            return False
    except OSError:
        return False
    meta = _small_json(path / METADATA)
    return is_legacy_metadata(meta)


@dataclass
class Foreign:
    """A root entry that is not aio's: its name and what it is."""

    name: str
    kind: str  # "directory", "file", "symbolic link", "other"
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind, "reason": self.reason}


@dataclass
class Discovery:
    """One scan of the store root (see ``discover``)."""

    sessions: list[str] = field(default_factory=list)  # valid names with aio's marker
    strays: list[str] = field(default_factory=list)  # shell sessions with invalid names
    errors: list[tuple[str, str]] = field(default_factory=list)  # could not be examined
    foreign: list[Foreign] = field(default_factory=list)  # not aio's: left alone
    # ``lstat`` of a session's log taken by the scan, so the index need not repeat it
    log_stats: dict[str, os.stat_result] = field(default_factory=dict)
    root_summary: bool = False  # a ``metadata.json`` at the root (a shell ``--session-name .``)

    def may_hold_strays(self) -> bool:
        """Whether ``store.transfer.stray_sessions`` can find any: without a stray name or a
        summary at the root it finds none, so a listing need not load the transfer code."""
        return bool(self.strays) or self.root_summary


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISLNK(mode):
        return "symbolic link"
    return "other"


def _log_stat(directory: str) -> os.stat_result | None:
    """The common case, one ``lstat``: ``interactions.jsonl`` as a regular file."""
    try:
        st = os.lstat(f"{directory}/{LOG}")
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def discover(root: Path) -> Discovery:
    """Classify every entry of the store root ``root`` (which must exist): the one
    definition of "a session" every command uses. Read-only: it never creates, changes
    or removes anything. Each list is in name order.

    Cost: one ``lstat`` per session (its log; the directory's type comes from the scan;
    kept in ``log_stats`` for the index's freshness check), string paths on that path
    (pathlib would triple the cost of a 10,000-session scan).
    """
    found = Discovery()
    with os.scandir(root) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    for entry in entries:
        name = entry.name
        valid = is_session_name(name)  # no session name is one of aio's own entries
        if not valid and is_aio_own(name):
            found.root_summary = found.root_summary or name == METADATA
            continue
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError as exc:
            found.errors.append((name, f"cannot examine {entry.path}: {exc.strerror}"))
            continue
        log_st = _log_stat(entry.path) if valid and is_dir else None
        if log_st is not None:
            found.sessions.append(name)
            found.log_stats[name] = log_st
            continue
        try:
            mode = entry.stat(follow_symlinks=False).st_mode
        except OSError as exc:
            found.errors.append((name, f"cannot examine {entry.path}: {exc.strerror}"))
            continue
        if not stat.S_ISDIR(mode):
            reason = "a symbolic link, not a session directory" if stat.S_ISLNK(mode) else (
                "not a directory"
            )
            found.foreign.append(Foreign(name, _kind(mode), reason))
            continue
        path = Path(entry.path)
        if valid:
            try:
                marker = session_marker(path)
            except OSError as exc:
                found.errors.append((name, f"cannot examine {path}: {exc.strerror}"))
                continue
            if marker is not None:
                found.sessions.append(name)
                continue
            reason = "no aio store file in it"
        elif _may_be_stray(name) and is_shell_stray(path):
            found.strays.append(name)
            continue
        else:
            reason = "its name is not a session name"
        found.foreign.append(Foreign(name, "directory", reason))
    return found
