"""A derived SQLite index of session summaries, so ``list`` and ``stats`` stay fast.

``SESSION_DIR/index.sqlite`` caches, per session, the summary document that ``load``
produced plus the numbers ``list``/``stats`` sort and add up. It is a cache and nothing
else: the session files stay the truth, writers never touch the index (they only note
what they change in ``changes.journal``, see ``journal``), and deleting it loses nothing
(the next listing rebuilds it).

**Warm path** (re-reads only what changed). The index keeps a watermark into the change
journal, the journal's identity, the boot id and the names to *recheck*. A listing takes
the discovery scan (``store.discovery``: the one definition of a session, with one
``lstat`` of each log), reads the index and the journal after the watermark, compares
every cached row's *signature* with its files, and reads from their files only the
sessions noted in the journal, the rechecked ones, those whose signature moved and those
that appeared (those that vanished are dropped). What is caught how:

- *aio writes* (record, import, repair, migrate, a read that repairs): noted ``+`` before
  and ``-`` after, under the session's write lock; read at the next listing.
- *A write while a listing runs*: its notes lie after the offset the listing read up to,
  so the next listing reads the session again; a ``+`` without its ``-`` keeps the
  session in *recheck* (read from its files every time) until a ``-`` follows.
- *A writer killed between its session write and its note*: its ``+`` was noted before
  the write, so the session stays in recheck: every listing reads it from its files.
- *Two listings at once*: each commits only if the index is still the one it read
  (a generation number), so a slow listing never puts back rows older than the
  watermark another one stored; the loser's own answer is still exact.
- *Sessions added, removed or renamed* (by aio or by hand: ``rm -r``, ``mv``, ``cp -r``):
  the discovery scan's names against the index's. A directory without aio's marker is
  never a session: never listed as one, never written into.
- *Hand edits inside a session directory* (a record appended with an editor or
  ``echo >>``, a file deleted or planted, the summary rewritten in place, a mode
  changed): the signature is (inode, size, mtime) of ``interactions.jsonl`` (the scan's
  own ``lstat``) and of ``metadata.json``, plus the directory's mtime (an entry created,
  deleted or renamed); a loose mode, foreign owner or odd type never matches. Two extra
  ``lstat`` per session (all three are needed: an in-place append or summary rewrite
  leaves the directory's mtime alone, a planted odd lock file leaves both files alone).
  It is taken *before* the files are read, so a change made during the read leaves a
  signature that no longer matches: read again next time; and a row whose files changed
  less than a second ago is cached with a signature that never matches (``_settled``: an
  mtime's clock ticks coarsely, a same-size edit within one tick would keep the
  signature), so the next listing reads it again.
- *The journal cannot be trusted* — missing, not ours or another version, an unparseable
  (torn, fused) line, shorter than the watermark, another identity, another boot (notes
  are not fsynced), or an index that is new, corrupt or of another version: a **rescan**.

**Answers in SQL** (``listing`` with a query, ``store.index_query``): ``list --json``
and ``stats`` need no row in Python. The check above reads only (name, signature) of
each cached row; what it read from files is stored, and the query (``SUM``s, the
documents in the asked order) runs *in the transaction that stored it* (or, with
nothing to store, in a read transaction that finds the index's generation unchanged),
so it sees exactly the rows checked plus those it stored (``Listing.stored`` says which
of the two). Rows read from their files but not cached are handed to the query. If the
index moved meanwhile (another listing committed first) or cannot be written, the rows are
read into Python as before.

**Rescan** (``--rescan``, or an untrusted journal): first the journal a rescan starts
from is fixed (``start_journal``), then every session is checked against its row's
signature and read from its files if it differs. Rows with problems and unreadable
sessions are not cached: they are rechecked on every listing.

If the index cannot be opened or written (locked by another process, corrupt, read-only
file system) the caller still gets correct rows, computed from the files.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from stat import S_IFREG, S_ISREG
from typing import Any, Generic, TypeVar

from ai_orchestrator.core.errors import NotFound
from ai_orchestrator.infra.fsutil import tighten_path
from ai_orchestrator.store.discovery import Discovery
from ai_orchestrator.store.index_lean import collector_paused, lean_read
from ai_orchestrator.store.index_row import COLUMNS, ORDERS, SessionRow, unreadable_entries
from ai_orchestrator.store.journal import boot_id, read_since, start_journal
from ai_orchestrator.store.session_store import LOG, METADATA, SessionStore

INDEX_FILE = "index.sqlite"
_UID = os.geteuid()
_INDEX_VERSION = 7  # 3: reported cost; 4: journal; 5: packed sig; 6: sort indexes;
# 7: documents with failed calls per outcome (each session loaded again, which rebuilds an
# older summary that has failures but not their outcomes: `summary_outdated`)
__all__ = ["INDEX_FILE", "Listing", "SessionRow", "SummaryIndex", "unreadable_entries"]


_PACK = struct.Struct("<qQQqQQq")  # directory mtime; (inode, size, mtime) of summary, log
_KIND_AND_MODE = 0o170000 | 0o677  # the file type + the permission bits that matter
_PLAIN = S_IFREG | 0o600  # a regular file, read/write for us, nothing for anyone else
UNSETTLED = b""  # the signature of a row read again next time: it matches no files


def _signature(session_path: str, log_st: os.stat_result | None = None) -> bytes | None:
    """Stat signature of a session's files, or ``None`` if it must be loaded the slow way.

    The log's ``lstat`` comes from the discovery scan (``log_st``) when it made one, so
    this costs two ``lstat`` calls: the summary is always replaced by rename (new inode)
    and the log only grows, so (inode, size, mtime) of both catch every write, including
    hand edits in place (an editor's rewrite, ``echo >>``); the directory's mtime catches
    an entry created, deleted, renamed or replaced (e.g. a lock by a FIFO, see ``load``).
    Packed into bytes (a warm listing compares 100,000 of them: no string formatting).
    """
    lstat = os.lstat
    try:
        directory = lstat(session_path).st_mtime_ns
    except OSError:
        return None
    try:
        meta: os.stat_result | None = lstat(f"{session_path}/{METADATA}")
    except FileNotFoundError:
        meta = None
    except OSError:
        return None
    if log_st is None:
        try:
            log_st = lstat(f"{session_path}/{LOG}")
        except FileNotFoundError:
            pass
        except OSError:
            return None
    return _pack(directory, meta, log_st)


def _pack(
    directory: int, meta: os.stat_result | None, log_st: os.stat_result | None
) -> bytes | None:
    """The signature of the directory's mtime and the summary's and log's ``lstat``."""
    fields = [directory]
    for st in (meta, log_st):
        if st is None:
            fields += (0, 0, 0)
            continue
        # Anything unusual (symlink, loose mode, no read/write for us, foreign owner) goes
        # through ``load``, which enforces the rules or reports the problem.
        if st.st_mode & _KIND_AND_MODE != _PLAIN or st.st_uid != _UID:
            return None
        fields += (st.st_ino, st.st_size, st.st_mtime_ns)
    try:
        return _PACK.pack(*fields)
    except struct.error:  # out of range: never cached
        return None


def _settled(sig: bytes, now_ns: int) -> bool:
    """No file in ``sig`` changed within the last second. A file's mtime ticks coarsely:
    an in-place edit of the same size within the same tick would leave the signature
    equal, so a row that recent is read from its files again by the next listing."""
    fields: tuple[int, ...] = _PACK.unpack(sig)
    return now_ns - max(fields[0], fields[3], fields[6]) > 1_000_000_000


def _plain_files(index_path: str) -> bool:
    """True if the index and its SQLite side files are regular files or absent: SQLite
    opens them blocking and follows links, so anything else means rows come from the
    session files instead."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        try:
            st = os.lstat(index_path + suffix)
        except FileNotFoundError:
            continue
        except OSError:
            return False
        if not S_ISREG(st.st_mode):
            return False
    return True


Progress = Callable[[int, int], None]
"""Told ``(sessions read, of total)`` while a rescan reads the session files."""
T = TypeVar("T")
Query = Callable[[sqlite3.Connection, list[SessionRow]], T]
"""Answers a listing over every row: the index's (table ``sessions``, documents in
``docs``), in SQL, and those given, which are not in it (read from their files)."""


@dataclass
class Listing(Generic[T]):
    """What ``SummaryIndex.listing`` found: ``answer`` is the query's answer over every
    row (the index's, and ``rows``: those read from their files and not cached, which the
    query was given), or ``None``: then ``rows`` holds every row, in name order. ``stored``:
    the answer was given in the transaction that stored what this listing read (else the
    index was found unchanged)."""

    rows: list[SessionRow]
    errors: list[tuple[str, str]]
    answer: T | None = None
    stored: bool = False  # the answer came from the transaction that stored new rows


@dataclass
class _Snapshot:
    """The index as one read transaction saw it."""

    generation: int = -1  # -1: no trusted state (rescan)
    journal: str = ""
    watermark: int = 0
    boot: str = ""
    cached: list[tuple[Any, ...]] = field(default_factory=list)  # clean rows, name order
    recheck: dict[str, bool] = field(default_factory=dict)  # name -> a write is open


class SummaryIndex:
    """Rows for every session in ``store``, served from the cache where it is fresh."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store
        self.path = store.root / INDEX_FILE

    def _connect(self) -> sqlite3.Connection | None:
        conn: sqlite3.Connection | None = None
        try:
            if not _plain_files(str(self.path)):
                return None  # never follow a planted link or block on a FIFO
            conn = sqlite3.connect(self.path, timeout=0.5, isolation_level=None)
            # SQLite creates the file with the umask's mode; the index holds prompts'
            # previews, so it is private like everything else (also if it was loose).
            with contextlib.suppress(OSError):
                tighten_path(self.path)
            # Keep the rollback journal file between transactions: creating and deleting
            # it would change the store directory's mtime, which the warm path watches.
            conn.execute("PRAGMA journal_mode = PERSIST")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version != _INDEX_VERSION:
                conn.execute("BEGIN IMMEDIATE")
                for table in ("sessions", "docs", "meta", "recheck"):
                    conn.execute(f"DROP TABLE IF EXISTS {table}")
                columns = ", ".join(
                    f"{c} TEXT PRIMARY KEY" if c == "name" else c for c in COLUMNS[:-1]
                )
                conn.execute(f"CREATE TABLE sessions ({columns})")
                # Documents apart: totals then read a small table (pages of numbers, not
                # of 2 kB documents).
                conn.execute("CREATE TABLE docs (name TEXT PRIMARY KEY, doc BLOB)")
                conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value)")
                conn.execute("CREATE TABLE recheck (name TEXT PRIMARY KEY, open INTEGER)")
                for key, (_order, indexed) in ORDERS.items():
                    if indexed is not None:
                        conn.execute(f"CREATE INDEX by_{key} ON sessions ({indexed})")
                conn.execute(f"PRAGMA user_version = {_INDEX_VERSION}")
                conn.execute("COMMIT")
            if conn.execute("SELECT 1 FROM meta WHERE key = 'nonce'").fetchone() is None:
                # This index file's identity (the kept listing's tag, ``index_query``): a
                # new index never takes the generations of a deleted one for its own.
                with contextlib.suppress(sqlite3.Error):  # (read-only, busy: no kept listing)
                    conn.execute(
                        "INSERT OR IGNORE INTO meta VALUES ('nonce', ?)", (os.urandom(16).hex(),)
                    )
            return conn
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            if "locked" in str(exc) or "busy" in str(exc):
                return None  # another listing is setting it up: this one reads the files
            # A corrupt cache is worth nothing: drop it so the next run starts clean.
            with contextlib.suppress(OSError):
                if self.path.exists() and self.path.stat().st_size:
                    self.path.unlink()
            return None

    def rows(
        self,
        found: Discovery | None = None,
        *,
        rescan: bool = False,
        progress: Progress | None = None,
        docs: bool = True,
    ) -> tuple[list[SessionRow], list[tuple[str, str]]]:
        """All sessions (name order; ``found``: the caller's ``store.discover()``) and
        ``(name, error)`` for unreadable directories.

        Warm: the cached rows whose signature still matches their files, plus the
        sessions the journal names since the watermark, those whose signature moved and
        those that appeared. ``rescan`` (or an index or journal that cannot be trusted)
        reads every session whose signature moved and rebuilds the journal state,
        telling ``progress`` how far it got. Without ``docs``, rows served from the
        index have no ``doc`` or ``summary`` (totals need neither)."""
        done: Listing[None] = self.listing(found, rescan=rescan, progress=progress, docs=docs)
        return done.rows, done.errors

    def listing(
        self,
        found: Discovery | None = None,
        query: Query[T] | None = None,
        *,
        rescan: bool = False,
        progress: Progress | None = None,
        docs: bool = True,
    ) -> Listing[T]:
        """As ``rows``; with ``query``, the rows the index holds fresh are not read into
        Python at all: ``query`` answers over them in SQL, in the transaction that
        verified they are the rows this listing checked (so its answer is exactly what
        the files say), plus ``rows``: only those read from their files and not cached.
        Where that cannot be had (no index, a rescan, another listing committed first),
        ``answer`` is ``None`` and ``rows`` holds every row."""
        if not self.store.check_root():
            return Listing([], [])
        found = self.store.discover() if found is None else found
        if not found.sessions and not os.path.lexists(self.path):
            return Listing([], [])  # an empty store stays empty
        conn = self._connect()
        if conn is None:
            rows, errors, _cache, _recheck = self._scan(found, {}, progress)
            return Listing(rows, errors)
        try:
            done = self._rows(conn, found, rescan, progress, docs, query)
            if done is None:  # not answerable in SQL this time: the rows, read as before
                done = self._rows(conn, found, False, progress, docs)
            assert done is not None
            return done
        finally:
            conn.close()

    def _snapshot(
        self, conn: sqlite3.Connection, docs: bool = True, whole: bool = True
    ) -> _Snapshot:
        snap = _Snapshot()
        columns = ", ".join(f"sessions.{c}" for c in COLUMNS[:-1])
        query = (
            f"SELECT {columns}, docs.doc FROM sessions JOIN docs USING (name) ORDER BY name"
            if docs and whole
            else f"SELECT {columns}, NULL FROM sessions ORDER BY name"
            if whole
            else "SELECT name, sig FROM sessions"  # only what the signature check needs
        )
        try:
            conn.execute("BEGIN")
            try:
                meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
                snap.cached = conn.execute(query).fetchall()
                snap.recheck = {n: bool(o) for n, o in conn.execute("SELECT * FROM recheck")}
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error:
            return _Snapshot()
        if isinstance(meta.get("generation"), int) and isinstance(meta.get("watermark"), int):
            snap.generation = meta["generation"]
            snap.journal = str(meta.get("journal"))
            snap.watermark = meta["watermark"]
            snap.boot = str(meta.get("boot"))
        return snap

    def _rows(
        self,
        conn: sqlite3.Connection,
        found: Discovery,
        rescan: bool,
        progress: Progress | None,
        docs: bool,
        query: Query[T] | None = None,
    ) -> Listing[T] | None:
        """The listing (``None``: ``query`` could not be answered, see ``listing``)."""
        snap = self._snapshot(conn, docs, whole=query is None)
        changes = None
        if not rescan and snap.generation >= 0 and snap.boot == boot_id():
            changes = read_since(self.store.root, snap.journal, snap.watermark)
        if changes is None:
            # A rescan writes back the rows it kept, so it needs them whole.
            whole = snap if docs and query is None else self._snapshot(conn)
            return Listing(*self._rescan(conn, found, whole, progress))
        still_open = {n for n, o in snap.recheck.items() if o} - changes.settled
        still_open |= changes.opened
        load = set(snap.recheck) | changes.changed
        names = set(found.sessions)
        # Every cached row is checked against its files (hand edits, and writes whose
        # notes a rescan started after): two ``lstat`` per session, the log's from the
        # discovery scan. Only the rows that moved, and what the journal names, are read.
        root, log_stats = str(self.store.root), found.log_stats
        gone: set[str] = set()
        kept: list[tuple[Any, ...]] = []
        signature, log_stat = _signature, log_stats.get
        for row in snap.cached:
            name = row[0]
            if name in load:
                continue
            if name not in names:
                gone.add(name)
            elif row[1] == signature(f"{root}/{name}", log_stat(name)):
                kept.append(row)
            else:
                load.add(name)
        known = {r[0] for r in snap.cached} | set(snap.recheck)
        gone |= known - names
        load = (load | (names - known)) - gone
        fresh, errors, cache, recheck = self._load(sorted(load), still_open, log_stats)
        gone |= load - {r.name for r in fresh} - {n for n, _ in errors} - set(recheck)
        # Read into Python or not, the rows are those the index holds once this listing
        # has stored what it learnt: kept (checked above) + what it read and cached.
        extra = [r for r in fresh if r.name in recheck] if query is not None else []
        answer: T | None = None
        if load or gone or changes.end != snap.watermark:
            committed = self._commit(
                conn,
                snap.generation,
                cache,
                recheck,
                load | gone,
                {"journal": snap.journal, "watermark": changes.end, "boot": snap.boot},
                then=None if query is None else lambda c: query(c, extra),
            )
            answer = committed if query is not None else None
        elif query is not None:  # nothing to store: answer if the index is still as read
            answer = self._read(conn, snap.generation, lambda c: query(c, extra))
        if query is not None:
            stored = bool(load or gone or changes.end != snap.watermark)
            return Listing(extra, errors, answer, stored) if answer is not None else None
        rows = list(map(SessionRow, kept))
        if fresh:
            rows = sorted(rows + fresh, key=_by_name)  # nearly sorted already: linear
        return Listing(rows, errors)

    @staticmethod
    def _read(conn: sqlite3.Connection, generation: int, query: Callable[[sqlite3.Connection], T]
              ) -> T | None:  # fmt: skip
        """``query``'s answer if the index is still at ``generation``, else ``None``."""
        try:
            conn.execute("BEGIN")
            try:
                row = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
                return query(conn) if row is not None and row[0] == generation else None
            finally:
                conn.execute("COMMIT")
        except (sqlite3.Error, OverflowError):
            return None

    def _rescan(
        self,
        conn: sqlite3.Connection,
        found: Discovery,
        snap: _Snapshot,
        progress: Progress | None,
    ) -> tuple[list[SessionRow], list[tuple[str, str]]]:
        started = start_journal(self.store.root)  # before any session is read
        by_name = {r[0]: r for r in snap.cached}
        rows, errors, cache, recheck = self._scan(found, by_name, progress)
        meta: dict[str, object]
        if started is not None:
            meta = {"journal": started[0], "watermark": started[1], "boot": boot_id()}
        else:  # no journal: cache the rows for their signatures, trust nothing else
            meta = {"journal": "", "watermark": None}
        self._commit(conn, None, cache, recheck, None, meta, keep=set(found.sessions))
        return rows, errors

    def _load(
        self,
        names: list[str],
        still_open: set[str],
        log_stats: dict[str, os.stat_result],
    ) -> tuple[list[SessionRow], list[tuple[str, str]], list[tuple[object, ...]], dict[str, bool]]:
        """Read ``names`` from their files: rows, errors, what to cache, what to recheck."""
        root = str(self.store.root)
        prefix = os.path.join(root, "")  # ``SessionView.path``'s spelling, also for "/"
        rows: list[SessionRow] = []
        errors: list[tuple[str, str]] = []
        cache: list[tuple[object, ...]] = []
        recheck: dict[str, bool] = {}
        now = time.time_ns()
        for name in names:
            # The common case first, without ``load``'s checks it need not repeat (see
            # ``index_lean``): the row and the ``lstat``s taken before the read.
            lean = lean_read(prefix, name, log_stats.get(name))
            if lean is not None:
                (dir_st, meta_st, log_st), row = lean
                sig = _pack(dir_st.st_mtime_ns, meta_st, log_st)
            else:
                # The signature is taken before the files are read: a change made while
                # they are read then leaves a signature that no longer matches (read again
                # next time). A summary ``load`` repairs is noted in the journal, so it is too.
                sig = _signature(f"{root}/{name}", log_stats.get(name))
                try:
                    view = self.store.load(name, _root_checked=True)
                except NotFound:
                    continue  # removed meanwhile
                except Exception as exc:  # one bad directory must not hide the others
                    errors.append((name, str(exc)))
                    recheck[name] = name in still_open
                    continue
                row = SessionRow.from_view(view)
            rows.append(row)
            problems = row[17] != "[]"  # ``SessionView.problems``, as the row holds them
            if name in still_open or sig is None or problems or not row.fits_sqlite():
                recheck[name] = name in still_open  # read from the files every time
            else:  # a signature that never matches: read again until its files settle
                cache.append(row.values(sig if _settled(sig, now) else UNSETTLED))
        return rows, errors, cache, recheck

    def _scan(
        self, found: Discovery, cached: dict[str, tuple[Any, ...]], progress: Progress | None
    ) -> tuple[list[SessionRow], list[tuple[str, str]], list[tuple[object, ...]], dict[str, bool]]:
        """Every session ``found``: a cached row whose signature still matches its files
        is kept (an exact check), any other is read."""
        root, log_stats = str(self.store.root), found.log_stats
        rows: list[SessionRow] = []
        errors: list[tuple[str, str]] = []
        cache: list[tuple[object, ...]] = []
        recheck: dict[str, bool] = {}
        total = len(found.sessions)
        unread: list[str] = []  # consecutive sessions to read, in one ``_load`` call

        def read() -> None:
            fresh, failed, stale, odd = self._load(unread, set(), log_stats)
            rows.extend(fresh)
            errors.extend(failed)
            cache.extend(stale)
            recheck.update(odd)
            unread.clear()

        with collector_paused():
            for done, name in enumerate(found.sessions):
                if done % 256 == 0:
                    read()
                    if progress is not None:
                        progress(done, total)
                hit = cached.get(name)
                if hit is not None and hit[1] == _signature(f"{root}/{name}", log_stats.get(name)):
                    read()  # rows stay in name order
                    rows.append(SessionRow(hit))
                    cache.append(hit)
                    continue
                unread.append(name)
            read()
        if progress is not None:
            progress(total, total)
        return rows, errors, cache, recheck

    @staticmethod
    def _commit(
        conn: sqlite3.Connection,
        generation: int | None,
        cache: Iterable[tuple[object, ...]],
        recheck: dict[str, bool],
        touched: set[str] | None,
        meta: dict[str, object],
        keep: set[str] | None = None,
        then: Callable[[sqlite3.Connection], T] | None = None,
    ) -> T | None:
        """Store what a listing learnt, in one transaction. A warm listing (``touched``:
        the sessions it read or found gone) writes only if no other listing wrote since
        its snapshot (``generation``), so a slower listing never puts back older rows
        under a newer watermark. A rescan (``keep``: every session) replaces it all.
        ``then`` runs inside the transaction, after the writes; its result is returned
        (``None``: nothing was stored)."""
        placeholders = ", ".join("?" for _ in COLUMNS[:-1])
        cache = list(cache)
        forget = "DELETE FROM sessions WHERE name = ?", "DELETE FROM docs WHERE name = ?"
        try:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
            current = row[0] if row and isinstance(row[0], int) else -1
            if generation is not None and current != generation:
                conn.execute("ROLLBACK")
                return None
            if keep is not None:
                conn.execute("CREATE TEMP TABLE IF NOT EXISTS keep (name TEXT PRIMARY KEY)")
                conn.execute("DELETE FROM keep")
                conn.executemany("INSERT INTO keep VALUES (?)", [(n,) for n in keep])
                conn.execute("DELETE FROM sessions WHERE name NOT IN (SELECT name FROM keep)")
                conn.execute("DELETE FROM docs WHERE name NOT IN (SELECT name FROM keep)")
                conn.execute("DELETE FROM recheck")
            if touched:
                gone = [(n,) for n in touched]
                for statement in (*forget, "DELETE FROM recheck WHERE name = ?"):
                    conn.executemany(statement, gone)
            conn.executemany(
                f"INSERT OR REPLACE INTO sessions VALUES ({placeholders})", [r[:-1] for r in cache]
            )
            conn.executemany(
                "INSERT OR REPLACE INTO docs VALUES (?, ?)", [(r[0], r[-1]) for r in cache]
            )
            for statement in forget:
                conn.executemany(statement, [(n,) for n in recheck])
            conn.executemany(
                "INSERT OR REPLACE INTO recheck VALUES (?, ?)",
                [(n, int(o)) for n, o in recheck.items()],
            )
            meta = {**meta, "generation": current + 1}
            conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))
            answer = then(conn) if then is not None else None
            conn.execute("COMMIT")
            return answer
        except (sqlite3.Error, OverflowError):
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")  # busy or read-only: the cache just stays stale
            return None


def _by_name(row: SessionRow) -> str:
    return row.name
