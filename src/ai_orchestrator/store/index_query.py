"""``list --json`` and ``stats`` answered by SQLite over the summary index's rows.

A warm listing of 100,000 sessions cannot afford to build 100,000 Python rows: the
totals are ``SUM``s computed by SQLite, and the listing's documents come out of the
index already in the asked order, joined once. Both run as ``SummaryIndex.listing``
queries, i.e. inside the transaction that verified the index holds exactly the rows the
listing checked against their files; the rows read from the files and not cached
(``extra``: a write in flight, a session with problems) are added here, so the answer is
the same as ``store.stats`` computes from every row (``documents_of_rows`` and
``stats.totals_of``, the paths taken when there is no index to ask).

**The kept listing** (``KeptList``, ``SESSION_DIR/index.list``): the body of the default
``list --json`` (every session, newest first) is kept in a file tagged with the index's
state (a random identity of the index file, ``meta.nonce``, and its generation, which
every commit raises). A listing whose index state, checked in its transaction, equals the
tag copies the file instead of reading 10,000s of documents out of SQLite; any other
state computes the body in SQL as before. The file is written only by a listing that
found the index unchanged (so a store written to all the time does not rewrite it on every
listing), by a temp file and a rename; a file whose header, size or owner does not match
is never used. Deleting it loses nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ai_orchestrator.store.index import Query, SessionRow
from ai_orchestrator.store.index_row import ORDERS, TOKENS_SQL
from ai_orchestrator.store.stats import TOP_N, Totals, sort_rows, totals_of

SEPARATOR = b",\n    "  # between two documents of ``list --json`` (one a line, indented)
Documents = tuple[int, int, bytes]
"""``(sessions, active sessions, the shown sessions' documents joined by SEPARATOR)``."""


LIST_CACHE = "index.list"
KEPT_ORDER = "date"  # the default order: the only one kept
_KEPT_MAGIC = b"aio-list 1 "
_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@dataclass
class KeptList:
    """The kept body of the default listing (see the module docstring). ``documents``
    sets ``file`` when the kept body is that of the index state it answers for (the
    answer's body is then empty: copy the file), else ``tag`` when it computed a body
    that ``keep`` may store."""

    path: Path
    tag: bytes | None = None
    file: BinaryIO | None = None

    def keep(self, body: bytes) -> None:
        """Store ``body`` (computed for ``tag``), best effort: a cache."""
        if self.tag is None or not body:
            return
        temp = self.path.with_name(f"{self.path.name}.tmp-{os.urandom(6).hex()}")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _FLAGS, 0o600)
            try:
                with os.fdopen(fd, "wb", closefd=False) as out:
                    out.write(self.tag + b" %d\n" % len(body))
                    out.write(body)
            finally:
                os.close(fd)
            os.replace(temp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temp)

    def _open(self, tag: bytes) -> BinaryIO | None:
        """The kept file, positioned at its body, if it is the body of ``tag``."""
        try:
            fd = os.open(self.path, os.O_RDONLY | _FLAGS)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            head = os.pread(fd, 256, 0)
        except OSError:
            os.close(fd)
            return None
        line, _, _ = head.partition(b"\n")
        kept_tag, _, size = line.rpartition(b" ")
        if (
            not stat.S_ISREG(st.st_mode)
            or st.st_uid != os.geteuid()
            or kept_tag != tag
            or not size.isdigit()
            or st.st_size != len(line) + 1 + int(size)
        ):
            os.close(fd)
            return None
        file = os.fdopen(fd, "rb")
        file.seek(len(line) + 1)
        return file


def _state(conn: sqlite3.Connection) -> bytes | None:
    """The index's identity and generation as the transaction sees them."""
    meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('nonce', 'generation')"))
    nonce, generation = meta.get("nonce"), meta.get("generation")
    if not isinstance(nonce, str) or not isinstance(generation, int):
        return None
    return _KEPT_MAGIC + f"{nonce} {generation}".encode("ascii")


def documents(
    sort_key: str, cutoff: str, active_only: bool, kept: KeptList | None = None
) -> Query[Documents]:
    """The ``list --json`` body: every session's document (only the active ones with
    ``active_only``; active: last activity after ``cutoff``) in ``sort_key`` order.
    ``kept``: the kept body of the default listing, used and offered (``KeptList``)."""
    if sort_key not in ORDERS:
        sort_rows([], sort_key)  # raises InvalidInput naming the keys
    order = ORDERS[sort_key][0]
    keeps = kept is not None and sort_key == KEPT_ORDER and not active_only

    def query(conn: sqlite3.Connection, extra: list[SessionRow]) -> Documents:
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS extra"
            " (name TEXT, last_activity TEXT, tokens INTEGER, cost REAL, doc BLOB)"
        )
        conn.execute("DELETE FROM temp.extra")
        conn.executemany(
            "INSERT INTO temp.extra VALUES (?, ?, ?, ?, ?)",
            [(r.name, r.last_activity, sum(r.token_counts[:4]), r.cost, r.doc_bytes)
             for r in extra],
        )  # fmt: skip
        where = "WHERE coalesce(last_activity, '') > ?" if active_only else ""
        params = (cutoff,) if active_only else ()
        total, active = conn.execute(
            "SELECT count(*), coalesce(sum(coalesce(last_activity, '') > ?), 0) FROM"
            " (SELECT last_activity FROM sessions UNION ALL SELECT last_activity FROM temp.extra)",
            (cutoff,),
        ).fetchone()
        if keeps and not extra and kept is not None:
            kept.tag = _state(conn)
            kept.file = kept._open(kept.tag) if kept.tag is not None else None
            if kept.file is not None:
                return int(total), int(active), b""
        if extra:  # (rows not cached: rare, and sorted with the rest)
            cursor = conn.execute(
                f"SELECT doc FROM (SELECT name, last_activity, {TOKENS_SQL} AS tokens, cost,"
                " doc FROM sessions JOIN docs USING (name) UNION ALL SELECT * FROM temp.extra)"
                f" {where} ORDER BY {order.replace(TOKENS_SQL, 'tokens')}",
                params,
            )
        else:  # in the order of an index: no sort of 100,000 documents
            cursor = conn.execute(
                f"SELECT doc FROM sessions JOIN docs USING (name) {where} ORDER BY {order}", params
            )
        body = SEPARATOR.join([doc for (doc,) in cursor])
        conn.execute("DELETE FROM temp.extra")
        return int(total), int(active), body

    return query


def documents_of_rows(
    rows: Sequence[SessionRow], sort_key: str, cutoff: str, active_only: bool
) -> Documents:
    """``documents`` computed from rows in Python (no index to ask)."""
    active_rows = [r for r in rows if (r.last_activity or "") > cutoff]
    shown = sort_rows(active_rows if active_only else list(rows), sort_key)
    return len(rows), len(active_rows), SEPARATOR.join([r.doc_bytes for r in shown])


def totals(cutoff: str) -> Query[Totals]:
    """``stats.totals_of`` every session (active: last activity after ``cutoff``)."""

    def query(conn: sqlite3.Connection, extra: list[SessionRow]) -> Totals:
        # Summed in name order, as ``totals_of`` sums the rows (the same float result).
        row = conn.execute(
            "SELECT count(*), coalesce(sum(coalesce(last_activity, '') > ?), 0),"
            " sum(interactions), sum(failed), sum(unpriced),"
            " sum(tok_input), sum(tok_output), sum(tok_cache_read),"
            " sum(tok_cache_write), sum(tok_reasoning),"
            " total(cost), total(savings), total(reported), coalesce(sum(problems != '[]'), 0)"
            " FROM (SELECT * FROM sessions ORDER BY name)",
            (cutoff,),
        ).fetchone()
        ints = [int(n or 0) for n in row[2:10]]  # SUM: exact integers (an overflow raises)
        by = conn.execute(
            "SELECT DISTINCT reported_by FROM sessions WHERE reported_by != '[]'"
        ).fetchall()
        top = conn.execute(
            "SELECT name, interactions FROM sessions ORDER BY interactions DESC, name LIMIT ?",
            (TOP_N,),
        ).fetchall()
        indexed = Totals(
            sessions=int(row[0]),
            active=int(row[1]),
            interactions=ints[0],
            failed=ints[1],
            unpriced=ints[2],
            tokens=tuple(ints[3:8]),
            cost=float(row[10]),
            savings=float(row[11]),
            reported=float(row[12]),
            reported_by=frozenset(a for (text,) in by for a in json.loads(text)),
            with_problems=int(row[13]),
            top=tuple((str(n), int(i)) for n, i in top),
        )
        return indexed + totals_of(extra, cutoff) if extra else indexed

    return query
