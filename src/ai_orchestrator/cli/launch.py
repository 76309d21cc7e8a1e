"""The ``aio`` program: ``aio hook`` and ``aio statusline`` without click, else ``cli.main``.

Tab completion (click's protocol: ``_AIO_COMPLETE``) is answered without click too
(``cli.complete_fast``: 150 ms per completion, issue 25), but for what it leaves to click.

Why: both run on every agent turn and must finish within tens of milliseconds including the
interpreter's start, so they skip click, rich and the command table (``usage.spool`` and
``usage.statusline`` import the standard library only). ``aio run`` with a plain command line
(``cli.run_call.parse``) also runs without click (``cli.main.run_fast``: its overhead per
agent call is a target, issue 24), and so do ``aio session list --json`` and ``stats --json``
(``cli.session_fast``: the warm listing's budget). Every other command is ``cli.main.main``.
"""

from __future__ import annotations

import sys

from ai_orchestrator.core import env


def main() -> None:
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "hook" and not args[1].startswith("-"):
        from ai_orchestrator.usage.spool import run_hook

        sys.exit(run_hook(args[1], args[2:]))
    if args == ["statusline"]:
        from ai_orchestrator.usage.statusline import run_statusline

        sys.exit(run_statusline([]))
    if env.get("_AIO_COMPLETE"):  # tab completion: click's protocol, answered without click
        from ai_orchestrator.cli.complete_fast import run as complete

        code = complete("aio")
        if code is not None:
            sys.exit(code)
    if args[:1] == ["run"]:
        import gc

        # ~26,000 objects to set a call up, no garbage: the default threshold (700) walked
        # them 27 times, ~8% of a call. Cycles are still collected, every 50,000 objects.
        gc.set_threshold(50_000)
        from ai_orchestrator.cli.run_call import parse

        params = parse(args[1:])
        if params is not None:
            from ai_orchestrator.cli.main import run_fast

            run_fast(params, args)
    if args[:1] == ["session"]:  # `session list --json`, `stats --json`: no click (issue 24)
        from ai_orchestrator.cli.session_fast import parse as parse_listing

        listing = parse_listing(args, "aio")
        if listing is not None:
            from ai_orchestrator.cli.main import read_fast

            read_fast(listing, "aio")
    from ai_orchestrator.cli.main import main as full

    full()
