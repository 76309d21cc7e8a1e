"""Retention policies: which sessions a store keeps (age, count, total size), pins, the archive.

The policy (``RetentionPolicy``) is the ``[retention]`` table of the user config file
(``infra.user_config``), each key overridable by a flag of ``aio session clean --policy``::

    [retention]
    max_age_days = 90          # remove sessions last used this many days ago or more
    max_count = 200            # keep at most this many sessions (the most recently used)
    max_total_size = "2GB"     # keep the store's sessions under this size (bytes or B/KB/MB/GB/
                               # KiB/MiB/GiB)
    archive = true             # export each session into SESSION_DIR/archive/<date>/ first
    auto = false               # apply once a day from any aio command

Deciding (``plan_policy``), over every readable session, oldest last use first:

- **exempt**, never removed: a pinned session (``pin``) and one in use (its run lock is held
  by a live process). Both still count toward ``max_count`` and ``max_total_size``: they
  occupy the store.
- ``max_age_days``: every other session last used that long ago or more;
- ``max_count``: while more sessions remain than allowed, the oldest removable one;
- ``max_total_size``: while the remaining sessions' files add up to more, the oldest one.

A session that cannot be read is never counted nor removed (it is named, as by ``clean``).

Removing is ``lifecycle.clean`` — the one place for the deletion rules (locks, in use,
foreign entries, pending calls, trash) — with a ``PolicyGuard`` that runs under each
session's locks right before its removal: it refuses a pinned session (pins are written
under the session's write lock, so a pin made after planning is never missed), then writes
the archive copy (fsynced and renamed into place) when ``archive`` is on. A crash between
archive and removal leaves both: nothing is lost; the next run archives it again under a
new file name. A session used after it was planned is kept.

Files (under ``SESSION_DIR``; ``retention`` and ``archive`` are aio's root directories, see
``store.discovery``): ``retention/pins.json`` (``{"schema_version", "pins": {name: pinned
at}}``), ``retention/last-applied`` (the automatic run's stamp), ``retention/.lock``, and
``archive/<YYYY-MM-DD>/<session>.json`` (an ``aio session export`` file of that one session,
so ``aio session import`` reads it back).

The automatic run (``auto_due``, ``apply_auto``): at most once a day; the check is two
``stat`` calls (the stamp, the config file: a changed config is read again at once), and
the stamp is written before the policy runs, so a run that keeps failing is not retried on
every command.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ai_orchestrator.core.errors import InvalidInput, SessionBusy, SessionPinned, StoreError
from ai_orchestrator.core.names import SessionName, parse_session_name
from ai_orchestrator.core.schema import versioned
from ai_orchestrator.infra import locks
from ai_orchestrator.infra.fsutil import atomic_write, ensure_private_dir, read_bytes
from ai_orchestrator.infra.timeutil import now_iso, within_days
from ai_orchestrator.infra.user_config import config_path, read_table
from ai_orchestrator.store.discovery import ARCHIVE_DIR, RETENTION_DIR
from ai_orchestrator.store.export import export_session, write_json_export
from ai_orchestrator.store.index import SessionRow, SummaryIndex, unreadable_entries
from ai_orchestrator.store.lifecycle import CleanPlan, CleanProgress, CleanReport, Settle, clean
from ai_orchestrator.store.session_store import SessionStore
from ai_orchestrator.store.stats import check_days

PINS_FILE = "pins.json"
STAMP_FILE = "last-applied"
LOCK_FILE = ".lock"
AUTO_INTERVAL = 24 * 3600.0  # seconds between two automatic runs
POLICY_KEYS = ("max_age_days", "max_count", "max_total_size", "archive", "auto")
MAX_COUNT = 10**9
MAX_BYTES = 2**62
_UNITS = {
    "": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3,
    "gb": 1000**3, "t": 1000**4, "tb": 1000**4, "kib": 1024, "mib": 1024**2, "gib": 1024**3,
    "tib": 1024**4,
}  # fmt: skip
_SIZE = re.compile(r"\A\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*\Z")


@dataclass(frozen=True)
class RetentionPolicy:
    """What the store keeps; ``None`` limits do not apply (see the module docstring)."""

    max_age_days: float | None = None
    max_count: int | None = None
    max_total_bytes: int | None = None
    archive: bool = False
    auto: bool = False

    def limits(self) -> bool:
        return any(v is not None for v in (self.max_age_days, self.max_count,
                                           self.max_total_bytes))  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_age_days": self.max_age_days,
            "max_count": self.max_count,
            "max_total_bytes": self.max_total_bytes,
            "archive": self.archive,
            "auto": self.auto,
        }


def parse_size(value: object, where: str) -> int:
    """Bytes from an integer or a string like ``"500MB"``, ``"1.5 GiB"`` (``InvalidInput``)."""
    if isinstance(value, bool):
        raise InvalidInput(f"{where}: expected a size (bytes, or e.g. \"500MB\"), got {value!r}")
    amount: float
    if isinstance(value, int):
        amount = value
    elif isinstance(value, str) and (match := _SIZE.match(value)):
        unit = match.group(2).lower()
        if unit not in _UNITS:
            raise InvalidInput(f"{where}: unknown size unit {match.group(2)!r} (B, KB, MB, "
                               "GB, TB, KiB, MiB, GiB, TiB)")  # fmt: skip
        amount = float(match.group(1)) * _UNITS[unit]
    else:
        raise InvalidInput(f"{where}: expected a size (bytes, or e.g. \"500MB\"), got {value!r}")
    if not math.isfinite(amount) or amount < 0 or amount > MAX_BYTES:
        raise InvalidInput(f"{where}: {value!r} is not a size between 0 and {MAX_BYTES} bytes")
    return int(amount)


def _count(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise InvalidInput(f"{where}: expected a whole number from 0 to {MAX_COUNT}, "
                           f"got {value!r}")  # fmt: skip
    return value


def _age(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{where}: expected a number of days, got {value!r}")
    try:
        return check_days(float(value), where, allow_zero=True)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc}") from None


def _flag(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{where}: expected true or false, got {value!r}")
    return value


def policy_from(table: Mapping[str, Any], where: str = "[retention]") -> RetentionPolicy:
    """The policy a ``[retention]`` table states; ``InvalidInput`` naming the first bad key
    (an unknown key is refused too: a misspelt limit must not silently mean "no limit")."""
    unknown = sorted(set(table) - set(POLICY_KEYS))
    if unknown:
        raise InvalidInput(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(POLICY_KEYS)})")
    get = table.get
    return RetentionPolicy(
        max_age_days=None if get("max_age_days") is None
        else _age(get("max_age_days"), f"{where} max_age_days"),
        max_count=None if get("max_count") is None
        else _count(get("max_count"), f"{where} max_count"),
        max_total_bytes=None if get("max_total_size") is None
        else parse_size(get("max_total_size"), f"{where} max_total_size"),
        archive=_flag(get("archive", False), f"{where} archive"),
        auto=_flag(get("auto", False), f"{where} auto"),
    )  # fmt: skip


def load_policy(env: Mapping[str, str] | None = None) -> RetentionPolicy:
    """The ``[retention]`` table of the user config file (no limits when there is none)."""
    return policy_from(read_table("retention", env), f"{config_path(env)}: [retention]")


# ------------------------------------------------------------------------------ pins


def _retention_dir(store: SessionStore, *, create: bool) -> Path:
    path = store.root / RETENTION_DIR
    if create:
        ensure_private_dir(path, what="retention directory")
    return path


def pins(store: SessionStore) -> dict[str, str]:
    """Pinned session names and when they were pinned. A damaged pins file is a
    ``StoreError``: nothing may be removed while what is pinned is unknown."""
    path = store.root / RETENTION_DIR / PINS_FILE
    data = read_bytes(path)
    if data is None:
        return {}
    try:
        doc = json.loads(data)
        found = doc["pins"]
        if not isinstance(found, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in found.items()
        ):
            raise ValueError("pins is not an object of names")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise StoreError(
            f"{path} is damaged ({exc}); nothing is removed by a policy until it is fixed "
            "(pin the sessions to keep again, then delete the file)"
        ) from None
    return dict(found)


def set_pin(store: SessionStore, name: str, pinned: bool) -> bool:
    """Pin or unpin session ``name``; False if it already was so. Written under the
    session's write lock (a removal checks pins under it) and the pins lock."""
    session = parse_session_name(name)
    path = store._existing_dir(session)  # NotFound for a session that does not exist
    folder = _retention_dir(store, create=True)
    with (
        locks.locked(path / locks.WRITE_LOCK, timeout=None, what=f"session {session.name}"),
        locks.locked(folder / LOCK_FILE, timeout=None, what="the pins"),
    ):
        current = pins(store)
        if (session.name in current) == pinned:
            return False
        if pinned:
            current[session.name] = now_iso()
        else:
            del current[session.name]
        doc = versioned(pins=dict(sorted(current.items())))
        atomic_write(folder / PINS_FILE, (json.dumps(doc, indent=2) + "\n").encode())
    return True


class PinGuard:
    """Refuses the removal of a pinned session (``aio session delete``)."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store

    def keep(self, name: str) -> None:
        if name in pins(self.store):
            raise SessionPinned(name)

    def before_remove(self, session: SessionName, path: Path) -> None:
        return None


@dataclass
class PolicyGuard(PinGuard):
    """Pins, then the archive copy, under each session's locks (module docstring)."""

    store: SessionStore
    archive: bool
    now: datetime
    archived: list[dict[str, str]] = field(default_factory=list)

    def before_remove(self, session: SessionName, path: Path) -> None:
        if self.archive:
            target = archive_session(self.store, session.name, self.now)
            self.archived.append({"session_name": session.name, "path": str(target)})


def archive_session(store: SessionStore, name: str, now: datetime) -> Path:
    """Write session ``name`` as an importable export into ``archive/<date>/``; a name
    taken already (archived earlier that day) gets ``.2``, ``.3``… so nothing is replaced."""
    import io

    folder = store.root / ARCHIVE_DIR
    ensure_private_dir(folder, what="archive directory")
    folder = folder / now.astimezone(UTC).strftime("%Y-%m-%d")
    ensure_private_dir(folder, what="archive directory")
    out = io.StringIO()
    write_json_export(iter([export_session(store, name)]), out)
    target, n = folder / f"{name}.json", 1
    while os.path.lexists(target):
        n += 1
        target = folder / f"{name}.{n}.json"
    atomic_write(target, out.getvalue().encode("utf-8"))
    return target


# ------------------------------------------------------------------------------ plan


def session_bytes(path: Path) -> int:
    """The size of a session's regular files (what removing it frees)."""
    total = 0
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                try:
                    if entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
    except OSError:
        return 0
    return total


def _ago(row: SessionRow, now: datetime) -> str:
    from ai_orchestrator.infra.timeutil import parse_iso

    moment = parse_iso(row.last_activity)
    if moment is None:
        return "never used"
    days = (now - moment).total_seconds() / 86400
    return f"last used {days:.1f} days ago"


def plan_policy(
    store: SessionStore, policy: RetentionPolicy, now: datetime | None = None
) -> CleanPlan:
    """What ``policy`` removes from ``store`` now (the rules are in the module docstring)."""
    now = now or datetime.now(UTC)
    found = store.discover()
    rows, errors = SummaryIndex(store).rows(found)
    errors = found.errors + errors
    pinned = pins(store)
    order = sorted(rows, key=lambda r: (r.last_activity or "", r.name))
    exempt: list[dict[str, str]] = []
    removable: list[SessionRow] = []
    for row in order:
        holder = locks.read_holder(store.path_of(row.name) / locks.RUN_LOCK)
        if row.name in pinned:
            exempt.append({"session_name": row.name, "reason": "pinned"})
        elif holder is not None:
            exempt.append({"session_name": row.name, "reason": f"in use by {holder.describe()}"})
        else:
            removable.append(row)
    reasons: dict[str, str] = {}
    if policy.max_age_days is not None:
        for row in removable:
            if not within_days(row.last_activity, policy.max_age_days, now):
                reasons[row.name] = f"{_ago(row, now)} (max_age_days {policy.max_age_days:g})"
    if policy.max_count is not None:
        excess = len(rows) - len(reasons) - policy.max_count
        for row in removable:
            if excess <= 0:
                break
            if row.name not in reasons:
                reasons[row.name] = f"over max_count {policy.max_count} ({_ago(row, now)})"
                excess -= 1
    if policy.max_total_bytes is not None:
        sizes = {r.name: session_bytes(store.path_of(r.name)) for r in rows}
        total = sum(size for name, size in sizes.items() if name not in reasons)
        for row in removable:
            if total <= policy.max_total_bytes:
                break
            if row.name not in reasons:
                reasons[row.name] = (
                    f"over max_total_size {policy.max_total_bytes} bytes ({_ago(row, now)})"
                )
                total -= sizes[row.name]
    candidates = sorted((r for r in rows if r.name in reasons), key=lambda r: r.name)
    return CleanPlan(
        older_than=policy.max_age_days,
        now=now,
        rows=rows,
        candidates=candidates,
        errors=errors,
        unreadable=unreadable_entries(rows, errors),
        not_aio=[f.to_dict() for f in found.foreign],
        reasons={name: reasons[name] for name in sorted(reasons)},
        exempt=sorted(exempt, key=lambda e: e["session_name"]),
        policy=policy.to_dict(),
    )


def apply_policy(
    store: SessionStore,
    plan: CleanPlan,
    policy: RetentionPolicy,
    *,
    progress: CleanProgress | None = None,
    settle: Settle | None = None,
) -> CleanReport:
    """Remove the plan's candidates through ``lifecycle.clean`` with the ``PolicyGuard``."""
    guard = PolicyGuard(store, policy.archive, plan.now)
    report = clean(store, plan, progress=progress, settle=settle, guard=guard)
    report.archived = guard.archived
    return report


# ------------------------------------------------------------------------------ auto


def auto_due(root: Path, env: Mapping[str, str] | None = None, now: float | None = None) -> bool:
    """True when the daily automatic run may be due: no stamp younger than a day, or a
    config file changed since the stamp. Only ``stat`` calls; never creates anything."""
    try:
        stamp = os.stat(root / RETENTION_DIR / STAMP_FILE).st_mtime
    except FileNotFoundError:
        return os.path.isdir(root)
    except OSError:
        return False
    now = time.time() if now is None else now
    if not 0 <= now - stamp < AUTO_INTERVAL:
        return True
    try:
        return os.stat(config_path(env)).st_mtime > stamp
    except OSError:
        return False


def apply_auto(
    store: SessionStore,
    *,
    settle: Settle | None = None,
    env: Mapping[str, str] | None = None,
) -> CleanReport | None:
    """Apply the configured policy if ``auto`` is on and it did not run within a day (by
    any process: the stamp is re-checked under the retention lock, taken without waiting);
    ``None`` when nothing ran."""
    if not auto_due(store.root, env):
        return None
    policy = load_policy(env)
    if not policy.auto or not policy.limits() or not store.check_root():
        return None
    folder = _retention_dir(store, create=True)
    try:
        lock = locks.acquire(folder / LOCK_FILE, timeout=0, what="the retention policy")
    except SessionBusy:
        return None  # another command is applying it right now
    with lock:
        if not auto_due(store.root, env):
            return None
        atomic_write(folder / STAMP_FILE, (now_iso() + "\n").encode())
    plan = plan_policy(store, policy)
    return apply_policy(store, plan, policy, settle=settle)
