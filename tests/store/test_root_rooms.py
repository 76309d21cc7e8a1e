"""aio's own root directories (the usage index, the team settings) are aio's, never "not aio's".

Found after the merge of the usage and team rooms: ``aio usage sync`` creates
``SESSION_DIR/usage/`` and ``aio team`` ``SESSION_DIR/team/``; the store's discovery listed
both as foreign entries in every ``list``/``stats``.
"""

from __future__ import annotations

import json
from pathlib import Path

from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.discovery import TEAM_DIR, USAGE_DIR
from ai_orchestrator.usage import db, spool
from tests.helpers import aio_inprocess as cli
from tests.helpers import as_record, interaction


def test_the_rooms_name_the_directories_discovery_knows(session_dir: Path) -> None:
    """The lean hook path keeps its own literal: it must be the name discovery knows."""
    assert db.DIR == USAGE_DIR
    assert Path(spool.usage_dir()) == session_dir / USAGE_DIR


def test_usage_and_team_directories_are_not_listed_as_foreign(session_dir: Path) -> None:
    SessionStore().record(as_record("plan-x", interaction(id="r-1")))
    (session_dir / USAGE_DIR).mkdir(mode=0o700)
    (session_dir / USAGE_DIR / "usage.sqlite").write_bytes(b"")
    (session_dir / TEAM_DIR).mkdir(mode=0o700)
    (session_dir / TEAM_DIR / "machine.json").write_text("{}")
    (session_dir / "backup-2024").mkdir()  # a real foreign folder is still named
    for command in ("list", "stats"):
        result = cli(command, "--json", prog="ai-session")
        assert result.code == 0, result.err
        names = [e["name"] for e in json.loads(result.out)["not_aio"]]
        assert names == ["backup-2024"], (command, names)
    clean = cli("clean", "--older-than", "0", "--yes", "--json", prog="ai-session")
    assert clean.code == 0, clean.err
    assert (session_dir / USAGE_DIR / "usage.sqlite").exists()
    assert (session_dir / TEAM_DIR / "machine.json").exists()
