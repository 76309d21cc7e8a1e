"""``aio hook`` and ``aio statusline`` run on every agent turn: their import path stays on the
standard library's light modules (no click, rich, orjson, typing, pathlib, dataclasses, nor
aio's heavier rooms). A module added there costs every turn of every session."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("typing", "click", "rich", "orjson", "pathlib", "dataclasses", "inspect", "asyncio",
         "ai_orchestrator.cli.main", "ai_orchestrator.store", "ai_orchestrator.accounting",
         "ai_orchestrator.agents")  # fmt: skip

_PROBE = """
import json, sys
sys.argv = ["aio", *sys.argv[1:]]
from ai_orchestrator.cli.launch import main
try:
    main()
except SystemExit as stop:
    code = stop.code
import ai_orchestrator.usage.statusline
sys.stderr.write("\\nMODULES " + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


@pytest.mark.process  # a fresh interpreter: what a hook really imports
def test_the_hook_and_the_statusline_import_only_light_modules(isolated_home: Path) -> None:
    event = {"session_id": "s1", "transcript_path": "/t.jsonl", "cwd": "/w",
             "hook_event_name": "Stop"}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", _PROBE, "hook", "claude"],
                          input=json.dumps(event), capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stderr.rsplit("\nMODULES ", 1)[1])
    assert found["code"] == 0
    modules = set(found["modules"])
    assert "ai_orchestrator.usage.spool" in modules  # the probe ran the hook's path
    heavy = sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert heavy == [], f"the hook/statusline path imports {heavy}"
