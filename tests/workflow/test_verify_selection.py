"""``aio verify`` test selection, coverage, discovery and watch — through the CLI on a real
pytest project in a temporary directory (issue 13, item 2)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Result, aio
from tests.workflow.conftest import start_aio, wait_for

pytestmark = pytest.mark.process  # the project's git and its test command run as real processes

FEATURE = "sel"
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]

OPS = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
UNIT = (
    "from calc.ops import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_add_negative():\n    assert add(-1, 1) == 0\n"
)
INTEGRATION = "def test_roundtrip():\n    assert True\n"


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proj"
    _write(root, "calc/__init__.py", "")
    _write(root, "calc/ops.py", OPS)
    _write(root, "tests/unit/test_add.py", UNIT)
    _write(root, "tests/integration/test_io.py", INTEGRATION)
    _write(root, ".coveragerc", "[run]\nsource = calc\n")
    (root / ".git").mkdir()
    monkeypatch.setenv("AIO_PROJECT_DIR", str(root))
    assert aio("init", FEATURE).code == 0
    config(root)
    return root


def config(root: Path, extra: str = "", command: list[str] | None = None) -> None:
    _write(root, ".aio/config.toml", f"test_command = {json.dumps(command or PYTEST)}\n{extra}")


def history(root: Path) -> list[dict[str, Any]]:
    text = (root / ".aio/features" / FEATURE / "history.jsonl").read_text()
    return [e for e in map(json.loads, text.splitlines()) if e["command"] == "verify"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def verify(*args: str) -> Result:
    return aio("verify", *args, timeout=180)


def test_kinds_filters_and_history(proj: Path) -> None:
    unit = verify("--unit", "--json")
    assert unit.code == 0, unit.err
    data = unit.json()
    assert (data["tests"]["total"], data["tests"]["passed"]) == (2, 2)
    assert "tests/unit" in data["tests"]["command"]

    narrowed = verify("--filter", "add", "--exclude", "negative", "--json")
    assert narrowed.code == 0, narrowed.err
    assert narrowed.json()["tests"]["total"] == 1
    assert narrowed.json()["tests"]["command"][-4:-2] == ["-k", "(add) and not (negative)"]

    events = history(proj)
    assert [e["status"] for e in events] == ["success", "success"]
    assert events[0]["arguments"] == {"kind": "unit"}
    assert events[1]["arguments"] == {"filter": "add", "exclude": "negative"}
    assert events[1]["details"]["tests"]["total"] == 1


def test_a_selection_matching_nothing_is_never_green(proj: Path) -> None:
    # no tests/acceptance directory: the marker convention, and no test carries the marker
    result = verify("--acceptance")
    assert result.code == 1
    assert "COULD NOT RUN" in result.out
    assert "no test matches the selection (--acceptance)" in result.err
    event = history(proj)[-1]
    assert event["status"] == "failed"
    assert event["details"]["tests"]["green"] is False
    assert event["details"]["tests"]["red"] is False
    assert "-m" in event["details"]["tests"]["command"]


def test_a_filter_the_runner_refuses_is_blamed_not_the_test_command(proj: Path) -> None:
    result = verify("--filter", "add and (")
    assert result.code == 1
    assert "COULD NOT RUN" in result.out
    assert "the test runner refused the selection (--filter add and ()" in result.err
    assert "fix test_command" not in result.err
    assert history(proj)[-1]["status"] == "failed"


def test_configured_kind_paths_and_marker(proj: Path) -> None:
    _write(
        proj,
        "tests/test_marked.py",
        "import pytest\n\n\n@pytest.mark.smoke\ndef test_marked():\n    assert True\n\n\n"
        "def test_unmarked():\n    assert True\n",
    )
    _write(proj, "pytest.ini", "[pytest]\nmarkers =\n    smoke: quick\n")
    config(proj, '[tests.acceptance]\npaths = ["tests/test_marked.py"]\nmarker = "smoke"\n')
    result = verify("--acceptance", "--json")
    assert result.code == 0, result.err
    assert result.json()["tests"]["total"] == 1


def test_coverage_figure_in_results_and_history(proj: Path) -> None:
    result = verify("--coverage", "--json")
    assert result.code == 0, result.err
    data = result.json()
    # calc/ops.py: 4 statements, `sub`'s body never runs → coverage.py says 75%
    assert data["coverage"]["tool"] == "coverage.py"
    assert data["coverage"]["percent"] == 75.0
    report = json.loads(Path(data["coverage"]["report"]).read_text())
    assert report["totals"]["percent_covered"] == 75.0
    assert history(proj)[-1]["details"]["coverage"]["percent"] == 75.0
    text = verify("--coverage", "--unit")
    assert "Coverage: 75.00%" in text.out
    assert not (proj / ".coverage").exists()  # coverage data stays in the artifacts


def test_check_coverage_fails_under_the_threshold(proj: Path) -> None:
    """``--check-coverage N`` measures coverage (75% here) and fails under N: exit 1, one
    line naming both figures; at or above N the run passes."""
    under = verify("--check-coverage", "80", "--json")
    assert under.code == 1, under.err
    assert under.json()["ok"] is False and under.json()["coverage"]["percent"] == 75.0
    assert under.err.strip().splitlines()[-1] == (
        "aio: error: coverage 75.00% is under the required 80%"
    )
    assert verify("--check-coverage", "75").code == 0
    assert verify("--check-coverage", "101").code == 2  # not a percentage


def test_coverage_without_coverage_py_is_one_clear_line(proj: Path, tmp_path: Path) -> None:
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    config(proj, command=[python, "-m", "pytest"])
    before = len(history(proj))
    result = verify("--coverage")
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert "coverage.py is not installed for" in lines[0] and python in lines[0]
    assert len(history(proj)) == before  # refused before anything ran


def test_configured_coverage_tool_for_another_runner(proj: Path) -> None:
    script = "print('ran 3 tests'); print('3 passed in 0.01s'); print('total: (statements) 61.5%')"
    config(
        proj,
        '[tests]\ncoverage_command = ["python3", "-c", ' + json.dumps(script) + "]\n",
        command=["python3", "-c", "print('3 passed in 0.01s')"],
    )
    result = verify("--coverage", "--json")
    assert result.code == 0, result.err
    assert result.json()["coverage"] == {"tool": "configured", "percent": 61.5, "report": None}
    # without the key, another runner's coverage is refused (exit 2), never guessed
    config(proj, command=["python3", "-c", "print('3 passed in 0.01s')"])
    refused = verify("--coverage")
    assert refused.code == 2 and "tests.coverage_command" in refused.err


def test_parallel_uses_xdist(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", "2")
    # The suite turns plugin autoload off for the projects' pytest runs (speed); -n needs it.
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    result = verify("--parallel", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["tests"]["command"][-4:-2] == ["-n", "auto"]
    assert data["tests"]["total"] == 3
    log = Path(data["tests"]["log_path"]).read_text()
    assert "bringing up nodes" in log  # pytest-xdist ran the tests


def test_filter_for_an_unknown_runner_is_refused_and_configurable(proj: Path) -> None:
    script = "import sys; print(sys.argv[1:]); print('1 passed in 0.01s')"
    config(proj, command=["python3", "-c", script])
    refused = verify("--filter", "x")
    assert refused.code == 2
    assert "tests.filter_args" in refused.err
    config(
        proj, '[tests]\nfilter_args = ["--name", "{pattern}"]\n', command=["python3", "-c", script]
    )
    result = verify("--filter", "abc", "--json")
    assert result.code == 0, result.err
    assert "['--name', 'abc']" in Path(result.json()["tests"]["log_path"]).read_text()


@pytest.mark.skipif(shutil.which("npm") is None, reason="needs node and npm")
def test_node_test_runner_filter_and_exclude(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "node"
    (root / ".git").mkdir(parents=True)
    _write(root, "package.json", json.dumps({"name": "x", "scripts": {"test": "node --test"}}))
    _write(
        root,
        "test/add.test.js",
        "const test = require('node:test');\nconst assert = require('node:assert');\n"
        "test('adds small', () => assert.strictEqual(1 + 2, 3));\n"
        "test('adds slow', () => assert.strictEqual(2 + 2, 4));\n"
        "test('other', () => {});\n",
    )
    monkeypatch.setenv("AIO_PROJECT_DIR", str(root))
    monkeypatch.setenv("NPM_CONFIG_UPDATE_NOTIFIER", "false")  # no registry look-up
    assert aio("init", FEATURE).code == 0
    assert 'test_command = "npm test"' in (root / ".aio" / "config.toml").read_text()
    result = verify("--filter", "adds", "--exclude", "slow", "--json")
    assert result.code == 0, result.err
    tests = result.json()["tests"]
    assert (tests["passed"], tests["skipped"], tests["source"]) == (1, 2, "summary")


def test_discover_only_lists_ids_and_runs_nothing(proj: Path) -> None:
    before = len(history(proj))
    listed = verify("--discover-only", "--unit")
    assert listed.code == 0, listed.err
    assert listed.out.splitlines() == [
        "tests/unit/test_add.py::test_add",
        "tests/unit/test_add.py::test_add_negative",
    ]
    data = verify("--discover-only", "--exclude", "negative", "--json").json()
    assert data["granularity"] == "test"
    assert data["tests"] == [
        "tests/integration/test_io.py::test_roundtrip",
        "tests/unit/test_add.py::test_add",
    ]
    assert len(history(proj)) == before
    assert not (proj / ".aio/features" / FEATURE / "artifacts" / "verify").exists()


def test_discover_only_reports_a_collection_problem(proj: Path) -> None:
    _write(proj, "tests/unit/test_broken.py", "import not_a_module_anywhere\n")
    result = verify("--discover-only", "--unit")
    assert result.code == 1
    assert "could not be listed" in result.err and "test_broken.py" in result.err


def test_watch_reruns_on_change_and_stops_on_ctrl_c(proj: Path) -> None:
    with start_aio("verify", "--watch", "--json") as proc:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert first["ok"] is True
        wait_for(lambda: len(history(proj)) == 1, timeout=30)
        time.sleep(0.3)  # the watcher's snapshot predates the run; any later edit counts
        _write(proj, "calc/ops.py", OPS.replace("a + b", "a * b"))
        second = json.loads(proc.stdout.readline())
        assert second["ok"] is False and second["tests"]["failed"] == 2
        wait_for(lambda: len(history(proj)) == 2, timeout=30)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert [e["status"] for e in history(proj)] == ["success", "failed"]


def test_ctrl_c_during_a_watched_run_kills_the_tests(proj: Path) -> None:
    slow = "import time\n\n\ndef test_slow():\n    time.sleep(60)\n"
    _write(proj, "tests/unit/test_slow.py", slow)
    pidfile = proj / "pid"
    _write(
        proj,
        "tests/conftest.py",
        f"import os\nopen({str(pidfile)!r}, 'w').write(str(os.getpid()))\n",
    )
    with start_aio("verify", "--watch") as proc:
        wait_for(pidfile.exists, timeout=60)
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "Traceback" not in err
    pid = int(pidfile.read_text())
    wait_for(lambda: not _alive(pid), timeout=10)
    assert history(proj)[-1]["status"] == "interrupted"
