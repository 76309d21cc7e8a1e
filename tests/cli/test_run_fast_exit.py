"""``aio run``'s fast path ends without the interpreter's teardown (``cli.main.exit_now``),
and loses nothing that the teardown would have done: the ``atexit`` functions run (what they
print is there), stdout and stderr are complete, the call is recorded, the exit code is the
command's; and a thread still running keeps the process until it is done, as ``sys.exit``
does."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_run_fast_path import FAST, _aio, _twins

pytestmark = pytest.mark.process  # real aio processes


def test_atexit_runs_and_the_output_and_record_are_complete(tmp_path: Path) -> None:
    home, _ = _twins(tmp_path)
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stdout.write('atexit ran\\n'))\n"
        "atexit.register(lambda: sys.stderr.write('atexit ran too\\n'))\n" + FAST
    )
    rc, out, err = _aio(code, ["run-fx", "hello", "--json"], b"", home)
    assert rc == 0, err
    # the JSON document (its ids normalised by ``_aio``), then what the atexit function wrote
    assert '"outcome": "success"' in out and out.endswith("}\natexit ran\n"), out
    assert err.endswith("atexit ran too\n"), err
    log = home / "sessions" / "run-fx" / "interactions.jsonl"
    assert len(log.read_bytes().splitlines()) == 1
    rc, out, err = _aio(code, ["Bad_Name", "hello"], b"", home)
    assert rc == 2 and "error:" in err and out == "atexit ran\n", (rc, out, err)


def test_a_running_thread_is_waited_for(tmp_path: Path) -> None:
    """The thread writes its file only once the main thread has finished, which it sees
    only when the process ends the ordinary way (``sys.exit`` waits for it); a process
    ended with ``os._exit`` would never let it write."""
    home, _ = _twins(tmp_path)
    done = tmp_path / "thread-done"
    code = (
        "import threading, time\n"
        "def wait():\n"
        "    main = threading.main_thread()\n"
        "    while main.is_alive():\n"
        "        time.sleep(0.01)\n"
        f"    open({str(done)!r}, 'w').write('done')\n"
        "threading.Thread(target=wait).start()\n" + FAST
    )
    rc, out, err = _aio(code, ["run-fx", "hello"], b"", home)
    assert rc == 0 and out == "ok\n", (rc, out, err)
    assert done.read_text() == "done"
