"""The least-privilege role of docs/team.md is enough for push, status and stats, and is
refused what it must not do (delete or rewrite rows)."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from tests.pgserver import PgServer
from tests.team.stores import fill_store
from tests.team.test_team import team, team_json

pytestmark = pytest.mark.process  # a real PostgreSQL server and its tools

DOCS = Path(__file__).resolve().parents[2] / "docs" / "team.md"


def documented_grants() -> list[str]:
    """The GRANT statements of docs/team.md, for the database ``aio_team``."""
    text = DOCS.read_text()
    block = text[text.index("GRANT CONNECT") :]
    block = block[: block.index("```")]
    return [s.strip() for s in block.split(";") if s.strip()]


def test_documented_grants_are_enough(
    pg: PgServer, team_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = team_db.rsplit("/", 1)[1]
    team_json("init")
    with psycopg.connect(pg.url(db, password=True), autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS alice")
        admin.execute("DROP ROLE IF EXISTS aio_dev")
        admin.execute("CREATE ROLE aio_dev NOLOGIN")
        admin.execute("REVOKE ALL ON DATABASE " + db + " FROM PUBLIC")
        for grant in documented_grants():
            admin.execute(re.sub(r"\baio_team\b", db, grant))  # type: ignore[arg-type]
        admin.execute("CREATE ROLE alice LOGIN PASSWORD 'alice-pw' IN ROLE aio_dev")
    pgpass = tmp_path / "alice.pgpass"
    pgpass.write_text(f"127.0.0.1:{pg.port}:*:alice:alice-pw\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    url = f"postgresql://alice@127.0.0.1:{pg.port}/{db}"
    monkeypatch.setenv("AIO_TEAM_DB", url)
    root = tmp_path / "m"
    fill_store(root, 2, 30, seed=3)
    assert team_json("push", root=root)["added"] == 60
    assert team_json("push", root=root)["added"] == 0
    assert team_json("status", root=root)["machine_records_pushed"] == 60
    assert team_json("stats", "--by", "user")["interactions"] == 60
    with psycopg.connect(url) as conn:
        for sql in (
            "DELETE FROM aio.interactions",
            "UPDATE aio.interactions SET cost = 0",
            "DROP TABLE aio.rollup",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)  # type: ignore[arg-type]
            conn.rollback()
    result = team("push", "--db", f"postgresql://nobody@127.0.0.1:{pg.port}/{db}", root=root)
    assert result.code == 1 and result.err.count("\n") == 1
