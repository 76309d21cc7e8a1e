"""The team database: connecting (errors as one masked line) and the versioned schema.

Everything lives in the PostgreSQL schema ``aio``; ``aio.migrations`` lists the versions
applied. ``migrate`` applies the missing ones in order, each in its own transaction under a
transaction-level advisory lock (two ``aio team init`` at once: the second waits, then finds
nothing to do), so ``init`` is idempotent. A database whose highest version is above
``VERSION`` was set up by a newer aio: every command refuses it (``TeamSchemaTooNew``, exit 5)
rather than write rows an older layout would get wrong.

Tables (docs/team.md has the full description and the GRANTs a pushing role needs):

``interactions``
    one row per recorded agent call, keyed by the interaction id (content-stable, so the same
    call pushed twice, from a restored backup or from a store it was imported into, is one
    row); machine, user, session, feature, task, branch, agent, model, time, tokens, cost
    (numeric), cost source, the reported-only part of the cost, outcome; ``prompt`` only when
    pushed with ``--with-prompts`` (redacted).
``rollup``
    the same figures summed per (day, machine, user, session, feature, task, branch, agent,
    model), kept in the same statement as the rows it sums: team reports read it, not the
    interactions, so they stay fast as the table grows.
``watermarks``
    per machine and session: how far the session's log was pushed (file identity, byte
    offset, records); written in the transaction of the rows, so it never runs ahead of them.
``machines``, ``sessions``
    who pushes from where, and each pushed session's command, feature and time span.
``requests``, ``request_marks`` (version 2)
    interactive usage: every row of each machine's usage index (one per API request of any
    agent session, aio's calls included), keyed by the request, with ``counted`` (the
    index's rule: not inside an aio call, not a sidechain replay); and per machine how far
    its index was pushed (``team.requests``).

Version 3 drops the secondary indexes of ``interactions`` and ``rollup``: no query read them
(reports read the rollup through its key, which starts with the day) and every pushed row
paid for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ai_orchestrator import __version__
from ai_orchestrator.core.errors import TeamError, TeamSchemaTooNew
from ai_orchestrator.team.config import TeamSettings, scrub

if TYPE_CHECKING:
    import psycopg

VERSION = 3
LOCK_KEY = 0x61696F7465616D  # "aioteam": serialises migrations

_ROLLUP_DIMENSIONS = (
    "day", "machine_id", "user_name", "session_name", "feature_id", "task_id", "branch",
    "agent", "model",
)  # fmt: skip
ROLLUP_SUMS = (
    "interactions", "failed", "unpriced", "input", "output", "cache_read", "cache_write",
    "reasoning", "cost", "savings", "cost_reported",
)  # fmt: skip

MIGRATIONS: dict[int, str] = {
    1: """
CREATE TABLE aio.machines(
  machine_id text PRIMARY KEY, hostname text NOT NULL, user_name text NOT NULL,
  first_push timestamptz NOT NULL DEFAULT now(), last_push timestamptz NOT NULL DEFAULT now(),
  aio_version text NOT NULL);
CREATE TABLE aio.sessions(
  machine_id text NOT NULL, session_name text NOT NULL, user_name text NOT NULL,
  command text, feature_id text, first_ts timestamptz, last_ts timestamptz,
  PRIMARY KEY (machine_id, session_name));
CREATE TABLE aio.watermarks(
  machine_id text NOT NULL, session_name text NOT NULL, file_id text NOT NULL,
  byte_offset bigint NOT NULL, records bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (machine_id, session_name));
CREATE TABLE aio.interactions(
  id text PRIMARY KEY, machine_id text NOT NULL, user_name text NOT NULL,
  session_name text NOT NULL, command text, feature_id text, task_id text, branch text,
  agent text, model text, ts timestamptz NOT NULL, day date NOT NULL,
  input bigint NOT NULL, output bigint NOT NULL, cache_read bigint NOT NULL,
  cache_write bigint NOT NULL, reasoning bigint NOT NULL,
  cost numeric NOT NULL, cost_source text, cost_reported numeric NOT NULL DEFAULT 0,
  savings numeric NOT NULL DEFAULT 0, outcome text, duration_ms bigint,
  agent_session_id text, prompt text, pushed_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX interactions_machine_ts ON aio.interactions(machine_id, ts);
CREATE TABLE aio.rollup(
  day date NOT NULL, machine_id text NOT NULL, user_name text NOT NULL,
  session_name text NOT NULL, feature_id text NOT NULL, task_id text NOT NULL,
  branch text NOT NULL, agent text NOT NULL, model text NOT NULL,
  interactions bigint NOT NULL, failed bigint NOT NULL, unpriced bigint NOT NULL,
  input bigint NOT NULL, output bigint NOT NULL, cache_read bigint NOT NULL,
  cache_write bigint NOT NULL, reasoning bigint NOT NULL,
  cost numeric NOT NULL, savings numeric NOT NULL, cost_reported numeric NOT NULL,
  PRIMARY KEY (day, machine_id, user_name, session_name, feature_id, task_id, branch, agent,
               model));
CREATE INDEX rollup_user ON aio.rollup(user_name, day);
""",
    2: """
CREATE TABLE aio.requests(
  key text PRIMARY KEY, machine_id text NOT NULL, user_name text NOT NULL,
  origin text NOT NULL, agent text NOT NULL, model text NOT NULL, ts bigint NOT NULL,
  session text, project text, branch text, input bigint NOT NULL, output bigint NOT NULL,
  cache_read bigint NOT NULL, cache_write_5m bigint NOT NULL, cache_write_1h bigint NOT NULL,
  reasoning bigint NOT NULL, requests bigint NOT NULL, cost double precision NOT NULL,
  cost_source text NOT NULL, reported_cost double precision, feature text, task text,
  aio_session text, counted boolean NOT NULL, pushed_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX requests_ts ON aio.requests(ts) WHERE counted;
CREATE TABLE aio.request_marks(
  machine_id text PRIMARY KEY, index_id text NOT NULL, gen bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now());
""",
    # No query reads these two (reports read the rollup through its key, which starts with
    # the day); each cost a quarter of the server's work on every pushed row.
    3: """
DROP INDEX IF EXISTS aio.interactions_machine_ts;
DROP INDEX IF EXISTS aio.rollup_user;
""",
}


def rollup_dimensions() -> tuple[str, ...]:
    return _ROLLUP_DIMENSIONS


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - a dependency; only a broken install lacks it
        raise TeamError("the PostgreSQL driver is missing: pip install 'psycopg[binary]'") from None
    return psycopg


def unique_violation() -> type[Exception]:
    """The driver's error for a duplicate key (``push`` falls back on it)."""
    error: type[Exception] = _psycopg().errors.UniqueViolation
    return error


def database_error(exc: BaseException, settings: TeamSettings, doing: str) -> TeamError:
    """A driver error as one line, the target and message masked."""
    detail = " ".join(str(exc).split()) or type(exc).__name__
    return TeamError(
        f"team database {settings.target}: {doing} failed: {scrub(detail, settings.dsn)}",
        settings.target,
    )


@contextmanager
def connect(settings: TeamSettings, *, timeout: int = 10) -> Iterator[psycopg.Connection[Any]]:
    """A connection to the team database; every driver error leaves as ``TeamError``."""
    psycopg = _psycopg()
    try:
        conn = psycopg.connect(settings.dsn, connect_timeout=timeout, application_name="aio team")
    except psycopg.Error as exc:
        raise database_error(exc, settings, "connecting") from None
    try:
        yield conn
    except psycopg.Error as exc:
        raise database_error(exc, settings, "a query") from None
    finally:
        conn.close()


def current_version(conn: psycopg.Connection[Any]) -> int:
    """The highest applied version; 0 when aio's schema is not there."""
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('aio.migrations') IS NOT NULL")
        row = cur.fetchone()
        if not row or not row[0]:
            return 0
        cur.execute("SELECT coalesce(max(version), 0) FROM aio.migrations")
        found = cur.fetchone()
    conn.commit()
    return int(found[0]) if found else 0


def too_new(found: int, settings: TeamSettings) -> TeamSchemaTooNew:
    return TeamSchemaTooNew(
        f"team database {settings.target} has schema version {found}, newer than this aio "
        f"knows ({VERSION}): upgrade aio ({__version__}) on this machine",
        settings.target,
        found,
        VERSION,
    )


def check(conn: psycopg.Connection[Any], settings: TeamSettings) -> int:
    """The schema version, refused when newer than ours or not set up."""
    found = current_version(conn)
    if found > VERSION:
        raise too_new(found, settings)
    if found == 0:
        raise TeamError(
            f"team database {settings.target} is not set up for aio: run 'aio team init' "
            "(as a role that may create the schema; see docs/team.md)",
            settings.target,
        )
    if found < VERSION:
        raise TeamError(
            f"team database {settings.target} has schema version {found}, older than this aio "
            f"needs ({VERSION}): run 'aio team init' to upgrade it (see docs/team.md)",
            settings.target,
        )
    return found


def migrate(conn: psycopg.Connection[Any], settings: TeamSettings) -> list[int]:
    """Apply the missing migrations; returns the versions applied (``[]``: up to date)."""
    applied: list[int] = []
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        cur.execute("CREATE SCHEMA IF NOT EXISTS aio")
        cur.execute(
            "CREATE TABLE IF NOT EXISTS aio.migrations(version int PRIMARY KEY, "
            "applied_at timestamptz NOT NULL DEFAULT now(), aio_version text NOT NULL)"
        )
        cur.execute("SELECT coalesce(max(version), 0) FROM aio.migrations")
        row = cur.fetchone()
        found = int(row[0]) if row else 0
        if found > VERSION:
            raise too_new(found, settings)
        for version in range(found + 1, VERSION + 1):
            cur.execute(MIGRATIONS[version])
            cur.execute(
                "INSERT INTO aio.migrations(version, aio_version) VALUES (%s, %s)",
                (version, __version__),
            )
            applied.append(version)
    return applied
