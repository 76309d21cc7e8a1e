"""The ``AIO_DEBUG=1`` launch trace: what aio ran for an agent call, without a secret.

``describe_launch(invocation, environ)`` is one line: the argv (shell-quoted), the working
directory, and the NAMES of the environment variables aio set for the agent, removed from
its environment, and passed through from its own. Invariants: no environment value is ever
shown; the argv is redacted (``infra.redact``: recognised secret formats) and every value
of a variable whose name says it is a secret (``*KEY*``, ``*TOKEN*``, ``*SECRET*``,
``*PASSWORD*``, ``*CREDENTIAL*``, ``*AUTH*``) is replaced by its name wherever it appears in
the argv (a key put into ``AIO_AGENT_<KEY>_EXTRA_ARGS``). The prompt travels on stdin and
is not shown.

``log_launch`` sends that line to the ``ai_orchestrator.calls`` logger at DEBUG; the CLI
shows it on stderr when ``AIO_DEBUG`` is set (the library never prints).
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Mapping

from ai_orchestrator.agents.base import Invocation
from ai_orchestrator.core import env
from ai_orchestrator.infra.redact import redact

LOGGER_NAME = "ai_orchestrator.calls"
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.IGNORECASE)
_MIN_SECRET = 6  # shorter values are too common to hide without hiding ordinary words


def _hide_secrets(text: str, environ: Mapping[str, str]) -> str:
    for name, value in environ.items():
        if _SECRET_NAME.search(name) and len(value) >= _MIN_SECRET and value in text:
            text = text.replace(value, f"[REDACTED:${name}]")
    return redact(text)


def describe_launch(invocation: Invocation, environ: Mapping[str, str]) -> str:
    """The one-line trace of ``invocation`` started from the environment ``environ``."""
    child_env = {**environ, **invocation.env}
    argv = _hide_secrets(shlex.join(invocation.argv), child_env)
    removed = sorted(set(invocation.unset_env) & set(environ) - set(invocation.env))
    passed = sorted(set(environ) - set(invocation.env) - set(invocation.unset_env))
    return (
        f"launch: {argv} (cwd {invocation.cwd}); env set: "
        f"{', '.join(sorted(invocation.env)) or 'none'}; env removed: "
        f"{', '.join(removed) or 'none'}; env passed through: {', '.join(passed) or 'none'}"
    )


def log_launch(invocation: Invocation) -> None:
    """``describe_launch`` to the debug log, computed only when someone listens. Nobody can
    listen before ``logging`` is imported (a handler is configured through it, as
    ``AIO_DEBUG`` does in ``cli.main``), so ``aio run`` does not import it (~5 ms) for this."""
    logging = sys.modules.get("logging")
    if logging is None:
        return
    logger = logging.getLogger(LOGGER_NAME)
    if logger.isEnabledFor(logging.DEBUG):

        logger.debug(describe_launch(invocation, env.environ()))
