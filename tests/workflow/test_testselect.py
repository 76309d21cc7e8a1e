"""Test selection per runner (argv built by ``testselect.plan_selection``) and test-command
detection for more ecosystems — the detection also through ``aio init``."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from ai_orchestrator.core.errors import InvalidInput, NotFound
from ai_orchestrator.workflow.project.config import detect_test_command, parse_config
from ai_orchestrator.workflow.testing.testselect import (
    Selection,
    TestsConfig,
    coverage_from_output,
    parse_tests_config,
    plan_selection,
)
from tests.helpers import aio


def argv(
    command: str,
    selection: Selection,
    root: Path,
    config: TestsConfig | None = None,
    has: bool = True,
) -> list[str]:
    planned = plan_selection(
        command, config or TestsConfig(), selection, root, lambda *_: has, root / ".cov"
    )
    assert isinstance(planned.command, list)
    return planned.command


def test_go_cargo_and_npm_translations(tmp_path: Path) -> None:
    sel = Selection(kind="unit", filter="Add", exclude="Slow")
    assert argv("go test ./...", sel, tmp_path) == [
        *("go", "test", "./...", "-short", "-run", "Add", "-skip", "Slow"),
    ]
    assert argv(
        "cargo test", Selection(kind="integration", filter="add", exclude="slow"), tmp_path
    ) == [
        *("cargo", "test", "add", "--test", "*", "--", "--skip", "slow"),
    ]
    (tmp_path / "package.json").write_text(json.dumps({"scripts": {"test": "jest --ci"}}))
    assert argv("npm test", Selection(filter="adds", exclude="slow"), tmp_path) == [
        *("npm", "test", "--", "-t", "^(?!.*(?:slow)).*adds"),
    ]
    (tmp_path / "package.json").write_text(json.dumps({"scripts": {"test": "node --test"}}))
    assert argv("npm test", Selection(filter="adds"), tmp_path) == [
        *("npm", "test", "--", "--test-name-pattern=^.*adds"),
    ]


def test_pytest_kinds_and_parallel_fallback(tmp_path: Path) -> None:
    (tmp_path / "tests" / "unit").mkdir(parents=True)
    assert argv("pytest", Selection(kind="unit"), tmp_path)[1:] == ["tests/unit"]
    assert argv("pytest", Selection(kind="integration"), tmp_path)[1:] == ["-m", "integration"]
    planned = plan_selection(
        "pytest", TestsConfig(), Selection(parallel=True), tmp_path, lambda *_: False, tmp_path
    )
    assert "-n" not in planned.command
    assert any("pytest-xdist is not installed" in n for n in planned.notes)


def test_refusals_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"tests\.exclude_args"):
        argv("bundle exec rspec", Selection(exclude="slow"), tmp_path)
    with pytest.raises(InvalidInput, match="shell syntax"):
        argv("pytest | tee log", Selection(filter="x"), tmp_path)
    with pytest.raises(InvalidInput, match=r"\[tests\.acceptance\]"):
        argv("make test", Selection(kind="acceptance"), tmp_path)
    with pytest.raises(NotFound, match=r"coverage\.py is not installed"):
        argv("python3 -m pytest", Selection(coverage=True), tmp_path, has=False)


def test_tests_config_is_validated() -> None:
    assert parse_tests_config({"unit": {"paths": ["a"]}}).kinds["unit"].paths == ["a"]
    for bad, key in (
        ({"unit": {"paths": "a"}}, "tests.unit.paths"),
        ({"bogus": 1}, "tests.bogus"),
        ({"coverage_regex": "no group"}, "coverage_regex"),
        ({"coverage_command": 3}, "tests.coverage_command"),
    ):
        with pytest.raises(InvalidInput, match=key.replace(".", r"\.")):
            parse_config({"tests": bad})


def test_coverage_figures_of_known_tools() -> None:
    assert coverage_from_output("Name Stmts Miss Cover\nTOTAL 40 10 75%\n", None) == 75.0
    assert coverage_from_output("ok x 0.1s coverage: 81.3% of statements\n", None) == 81.3
    assert coverage_from_output("All files |   92.5 |  80 |\n", None) == 92.5
    assert coverage_from_output("nothing here", None) is None


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"Gemfile": "gem 'rspec'\n"}, "bundle exec rspec"),
        ({"Gemfile": "gem 'minitest'\n"}, "bundle exec rake test"),
        ({"Gemfile": "gem 'rails'\n", "spec/a_spec.rb": ""}, "bundle exec rspec"),
        ({"requirements.txt": "requests\npytest>=8\n"}, "python -m pytest"),
        ({"requirements.txt": "requests\n"}, "python -m unittest discover"),
        ({"Makefile": "build:\n\tcc x.c\n\ntest: build\n\t./run-tests\n"}, "make test"),
        ({"Makefile": "build:\n\tcc x.c\n"}, None),
        ({"go.mod": "module x\n", "Makefile": "test:\n\tgo test\n"}, "go test ./..."),
    ],
)
def test_detection_of_more_ecosystems(
    tmp_path: Path, files: dict[str, str], expected: str | None
) -> None:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert detect_test_command(tmp_path) == expected


@pytest.mark.process  # the project's git and its test command run as real processes
def test_init_writes_the_detected_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "Gemfile").write_text("source 'https://rubygems.org'\ngem 'rspec'\n")
    monkeypatch.setenv("AIO_PROJECT_DIR", str(tmp_path))
    result = aio("init", "f")
    assert result.code == 0, result.err
    config = tomllib.loads((tmp_path / ".aio" / "config.toml").read_text())
    assert config["test_command"] == "bundle exec rspec"


def test_watch_sees_added_removed_and_modified_files_only_outside_ignored_dirs(
    tmp_path: Path,
) -> None:
    from ai_orchestrator.workflow.phases.watch import snapshot, wait_for_change

    (tmp_path / "a.py").write_text("1")
    (tmp_path / "gone.py").write_text("x")
    before = snapshot(tmp_path)
    edits = iter(
        [
            lambda: (tmp_path / ".aio" / "x.log").write_text("run"),  # aio's own logs
            lambda: (tmp_path / "__pycache__" / "a.pyc").write_text("c"),
            lambda: ((tmp_path / "a.py").write_text("22"), (tmp_path / "gone.py").unlink()),
        ]
    )
    (tmp_path / ".aio").mkdir()
    (tmp_path / "__pycache__").mkdir()
    calls: list[float] = []

    def sleep(seconds: float) -> None:
        calls.append(seconds)
        next(edits)()

    paths, after = wait_for_change(tmp_path, before, interval=0.01, sleep=sleep)
    assert paths == ["a.py", "gone.py"]
    assert len(calls) == 3
    assert "gone.py" not in after


@pytest.mark.process  # the project's git and its test command run as real processes
def test_watch_ignores_the_file_its_own_output_goes_to(tmp_path: Path) -> None:
    """`aio verify --watch > results.jsonl` inside the project must not wake itself up."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from ai_orchestrator.workflow.phases.watch import changed, snapshot\n"
        "root = Path(sys.argv[1])\n"
        "before = snapshot(root)\n"
        "print('a result line', flush=True)\n"  # our own stdout grows the file
        "(root / 'b.py').write_text('2')\n"
        "sys.stderr.write(repr(changed(before, snapshot(root))))\n"
    )
    (tmp_path / "a.py").write_text("1")
    with (tmp_path / "results.jsonl").open("w") as out:
        done = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)], stdout=out, stderr=subprocess.PIPE,
            text=True, check=True,
        )  # fmt: skip
    assert done.stderr == "['b.py']"
    assert (tmp_path / "results.jsonl").read_text() == "a result line\n"
