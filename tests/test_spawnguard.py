"""The in-process rule (``tests/spawnguard.py``): a test without the ``process`` marker cannot
start a process by any of Python's ways, is told which marker to add, and cannot hide the
attempt by catching the error; a marked test is left alone."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.spawnguard import ProcessForbidden, guard


class Stub:
    """The part of a pytest item the guard reads: its markers."""

    def __init__(self, *markers: str) -> None:
        self.markers = markers

    def get_closest_marker(self, name: str) -> object | None:
        return name if name in self.markers else None


def _async_spawn() -> None:
    async def spawn() -> None:
        await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")

    asyncio.run(spawn())


def _multiprocessing_spawn() -> None:
    process = multiprocessing.get_context("spawn").Process(target=print)
    process.start()


def _guarded(name: str) -> Callable[..., Any]:
    """``os.<name>`` if the guard replaced it; else a failure (a real fork or exec would
    leave a second pytest running or replace this one)."""
    function: Callable[..., Any] = getattr(os, name)
    if function.__name__ != "blocked":
        raise AssertionError(f"os.{name} is not guarded")
    return function


WAYS: dict[str, Callable[[], Any]] = {
    "subprocess.run": lambda: subprocess.run(["true"], check=False),
    "subprocess.Popen": lambda: subprocess.Popen([sys.executable, "-c", "pass"]),
    "os.system": lambda: os.system("true"),
    "os.popen": lambda: os.popen("true").read(),
    "os.fork": lambda: _guarded("fork")(),
    "os.posix_spawn": lambda: os.posix_spawn("/bin/true", ["true"], os.environ),
    "os.posix_spawnp": lambda: os.posix_spawnp("true", ["true"], os.environ),
    "os.execv": lambda: _guarded("execv")("/bin/true", ["true"]),
    "os.execvp": lambda: _guarded("execvp")("true", ["true"]),
    "os.spawnv": lambda: _guarded("fork") and os.spawnv(os.P_WAIT, "/bin/true", ["true"]),
    "asyncio.create_subprocess_exec": _async_spawn,
    "multiprocessing spawn": _multiprocessing_spawn,
}


@pytest.mark.parametrize("way", sorted(WAYS))
def test_every_way_to_start_a_process_fails_naming_the_marker(way: str) -> None:
    stub: Any = Stub()
    with guard(stub) as attempts, pytest.raises(ProcessForbidden, match=r"`process` marker"):
        WAYS[way]()
    assert len(attempts) == 1


@pytest.mark.parametrize("way", sorted(WAYS))
def test_a_caught_attempt_is_still_recorded(way: str) -> None:
    # caught, as code under test might catch it: the guard still knows
    with guard(Stub()) as attempts, contextlib.suppress(BaseException):  # type: ignore[arg-type]
        WAYS[way]()
    assert attempts, f"{way} was not seen"


def test_the_guard_restores_what_it_replaced() -> None:
    def replaced() -> tuple[object, ...]:
        return (os.fork, os.posix_spawn, os.execv, os.system, subprocess._fork_exec)  # type: ignore[attr-defined]

    before = replaced()
    with guard(Stub()):  # type: ignore[arg-type]
        assert all(now is not then for now, then in zip(replaced(), before, strict=True))
    assert replaced() == before


def test_a_marked_test_is_left_alone() -> None:
    before = os.fork
    with guard(Stub("process")) as attempts:  # type: ignore[arg-type]
        assert os.fork is before
    assert attempts == []


SAMPLE = """
import subprocess, sys
import pytest

def test_unmarked_spawns():
    subprocess.run([sys.executable, "-c", "pass"])

def test_unmarked_spawns_and_hides_it():
    try:
        subprocess.run([sys.executable, "-c", "pass"])
    except BaseException:
        pass

def test_unmarked_in_process():
    assert 1 + 1 == 2

@pytest.mark.process
def test_marked_spawns():
    assert subprocess.run([sys.executable, "-c", "pass"]).returncode == 0

@pytest.mark.real_cli
def test_real_cli_spawns():
    assert subprocess.run([sys.executable, "-c", "pass"]).returncode == 0
"""


@pytest.mark.process  # runs pytest with this conftest over a sample file
def test_the_conftest_fails_exactly_the_unmarked_tests_that_start_a_process(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider",
         "-q", "-rA", "--rootdir", str(tmp_path), str(tmp_path / "test_sample.py")],
        cwd=root, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(root)},
    )  # fmt: skip
    outcomes = dict(
        (line.split(" ")[1].split("::")[-1], line.split(" ")[0])
        for line in done.stdout.splitlines()
        if line.startswith(("PASSED ", "FAILED "))
    )
    assert outcomes == {
        "test_unmarked_spawns": "FAILED",
        "test_unmarked_spawns_and_hides_it": "FAILED",
        "test_unmarked_in_process": "PASSED",
        "test_marked_spawns": "PASSED",
        "test_real_cli_spawns": "PASSED",
    }, done.stdout + done.stderr
    assert "without the `process` marker" in done.stdout
