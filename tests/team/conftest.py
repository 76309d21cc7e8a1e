"""Fixtures of the team tests: one throwaway PostgreSQL cluster per test session (``pg``),
a fresh database per test (``team_db``: its URL, without password; the password is in a
``PGPASSFILE``), and stores filled fast (``fill_store``)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pgserver import PgServer, binaries


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    bindir = binaries()
    if bindir is None:
        message = (
            "NO POSTGRESQL SERVER BINARIES (initdb, pg_ctl): EVERY TEAM TEST IS SKIPPED; "
            "install the server (apt-get install postgresql) to run them"
        )
        print(f"\n*** {message} ***", file=sys.stderr)
        pytest.skip(message)
    server = PgServer(bindir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def team_db(pg: PgServer, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = pg.create_db(f"t_{uuid.uuid4().hex[:12]}")
    monkeypatch.setenv("PGPASSFILE", str(pg.pgpass(isolated_home / ".pgpass")))
    url = pg.url(name)
    monkeypatch.setenv("AIO_TEAM_DB", url)
    return url
