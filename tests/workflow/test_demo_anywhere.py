"""``aio demo`` runs anywhere: after a plain install without the test extras (no pytest),
twice in a row, with ``SESSION_DIR`` exported — in its own store, leaving the user's alone —
and the ``aio status`` line it prints works when pasted into a shell.

The "plain install" is a fresh ``python -m venv --without-pip`` (offline, no build backend
needed) whose ``.pth`` adds two directories: the package's files as the wheel would ship them
(``*.py`` plus the ``[tool.setuptools.package-data]`` globs of pyproject.toml, so a data file
missing from the wheel is missing here too) and symlinks to the runtime dependency closure of
``ai-orchestrator`` taken from this venv's metadata — which does not include pytest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.workflow.conftest import run

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "ai_orchestrator"
FEATURE = "calc-basics"


def _runtime_closure(name: str) -> list[metadata.Distribution]:
    """The installed distributions ``name`` needs at run time (no extras), ``name`` excluded."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [name]
    while todo:
        dist = metadata.distribution(todo.pop())
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen:
            continue
        seen[key] = dist
        for raw in dist.requires or []:
            req = Requirement(raw)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return [d for k, d in seen.items() if k != name]


def _link_dependencies(target: Path) -> None:
    target.mkdir()
    for dist in _runtime_closure("ai-orchestrator"):
        tops = {f.parts[0] for f in dist.files or []} - {"..", "__pycache__"}
        for top in tops:
            source = Path(str(dist.locate_file(top)))
            if source.exists() and not (target / top).exists():
                (target / top).symlink_to(source)


def _copy_package(target: Path) -> None:
    """The package's files as ``pip install .`` would install them (see the module doc)."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = ["**/*.py", *config["tool"]["setuptools"]["package-data"]["ai_orchestrator"]]
    for pattern in patterns:
        for source in PACKAGE.glob(pattern):
            if source.is_file() and "__pycache__" not in source.parts:
                dest = target / "ai_orchestrator" / source.relative_to(PACKAGE)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest)


@pytest.fixture(scope="module")
def plain_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of a fresh venv holding the package and its runtime deps only."""
    root = tmp_path_factory.mktemp("plain-install")
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(root / "venv")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    _link_dependencies(root / "deps")
    _copy_package(root / "pkg")
    python = root / "venv" / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "plain-install.pth").write_text(f"{root / 'pkg'}\n{root / 'deps'}\n")
    return python


def _snapshot(directory: Path) -> dict[str, tuple[int, bytes]]:
    files = sorted(directory.rglob("*"))
    return {
        str(p.relative_to(directory)): (
            p.stat().st_mtime_ns,
            p.read_bytes() if p.is_file() else b"",
        )
        for p in files
    }


@pytest.mark.slow
@pytest.mark.process  # the demo runs git and the tests as processes
def test_demo_after_plain_install_twice_with_session_dir_exported(
    plain_python: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    no_pytest = subprocess.run([str(plain_python), "-c", "import pytest"], env=env, check=False)
    assert no_pytest.returncode != 0  # the premise: this interpreter has no pytest
    users_store = tmp_path / "my-sessions"
    (users_store / "my-session").mkdir(parents=True)
    (users_store / "my-session" / "interactions.jsonl").write_text('{"mine": true}\n')
    before = _snapshot(users_store)
    env |= {
        "SESSION_DIR": str(users_store),
        "TODO_FILE": str(users_store / "todos.jsonl"),
        "TMPDIR": str(tmp_path),
    }

    lines = []
    for _ in range(2):
        demo = subprocess.run(
            [str(plain_python), "-m", "ai_orchestrator", "demo"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
        assert "-m unittest discover" in demo.stderr  # no pytest: the fallback runner ran
        assert "PASS: 4 passed, 0 failed" in demo.stdout
        assert f"Not using your SESSION_DIR ({users_store})" in demo.stderr
        [line] = [x[len("Try: ") :] for x in demo.stdout.splitlines() if x.startswith("Try: ")]
        lines.append(line)

    assert _snapshot(users_store) == before  # the user's store was not touched
    assert lines[0] != lines[1]  # each demo has its own project and store
    for line in lines:
        clean = {k: v for k, v in env.items() if k != "SESSION_DIR"}
        pasted = subprocess.run(
            ["/bin/sh", "-c", line], env=clean, cwd="/", capture_output=True, text=True
        )
        assert pasted.returncode == 0, pasted.stderr
        assert f"Feature: {FEATURE}" in pasted.stdout
        assert "Tasks: 2/2 completed (100%)" in pasted.stdout
        assert "implement-calc-basics" in pasted.stdout  # the demo's own store, its calls


@pytest.mark.slow
@pytest.mark.process  # the demo runs git and the tests as processes
def test_demo_into_another_store_twice(tmp_path: Path) -> None:
    """``--session-dir`` records into that store; a second demo there replaces the first
    demo's conversations instead of refusing them as another project's."""
    store = tmp_path / "shared-store"
    for attempt in (1, 2):
        target = tmp_path / f"demo-{attempt}"
        demo = run("demo", "--dir", str(target), "--session-dir", str(store), timeout=300)
        assert demo.code == 0, demo.err[-3000:]
        assert f"Its session store:    {store}" in demo.out
        assert (target / ".aio" / "demo" / "scripted" / "cursors").is_dir()
        assert not (target / ".aio" / "demo" / "sessions").exists()
    assert "replaced the stored agent conversation" in demo.err
    plan_calls = (store / "plan-calc-basics" / "interactions.jsonl").read_text().splitlines()
    assert len(plan_calls) == 2
