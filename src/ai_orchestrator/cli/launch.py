"""The ``aio`` program: ``aio hook`` and ``aio statusline`` without click, else ``cli.main``.

Why: both run on every agent turn and must finish within tens of milliseconds including the
interpreter's start, so they skip click, rich and the command table (``usage.spool`` and
``usage.statusline`` import the standard library only). ``aio run`` with a plain command line
(``cli.run_call.parse``) also runs without click (``cli.main.run_fast``: its overhead per
agent call is a target, issue 24). Every other command is ``cli.main.main``, unchanged.
"""

from __future__ import annotations

import sys


def main() -> None:
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "hook" and not args[1].startswith("-"):
        from ai_orchestrator.usage.spool import run_hook

        sys.exit(run_hook(args[1], args[2:]))
    if args == ["statusline"]:
        from ai_orchestrator.usage.statusline import run_statusline

        sys.exit(run_statusline([]))
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
    from ai_orchestrator.cli.main import main as full

    full()
