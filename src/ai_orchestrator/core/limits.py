"""Size limits on input aio accepts, in one place (the README's "Size limits" lists them).

Why limits at all: everything aio stores is read back whole (``show`` and ``export`` parse
a session's log in memory, at a few times its size), so an unbounded prompt or input would
make the store unusable later (a 100 MB prompt made ``show`` need 430 MB) or grow until the
OOM killer ends aio (``record < /dev/zero``). Input over a limit is refused with exit 2
before anything is written (``InvalidInput``, naming the limit).

- ``MAX_PROMPT_BYTES``: one prompt (UTF-8), for ``aio run`` and every recorded interaction.
  Larger than any model's context window in practice (1M tokens is about 4 MB of text).
- ``MAX_RECORD_BYTES``: one interaction as stored (one line of ``interactions.jsonl``)
  when it comes from outside (``aio session record``, ``import``), and the stdin of
  ``aio session record``.
- ``MAX_IMPORT_BYTES``: one file (or stdin) given to ``aio session import``.
- ``MAX_JSON_DEPTH``: how deeply one interaction's JSON may nest. A line is parsed by
  recursive code wherever it is read back; a record nested 900 deep could be written yet
  fail to parse later in a deeper call stack, and would then be skipped as unreadable.
"""

from __future__ import annotations

from collections.abc import Iterable

from ai_orchestrator.core.errors import InvalidInput

MiB = 1024 * 1024
MAX_PROMPT_BYTES = 4 * MiB
MAX_RECORD_BYTES = 32 * MiB
MAX_IMPORT_BYTES = 256 * MiB
MAX_JSON_DEPTH = 100
# A session template (its file, or ``template save --file``): a preamble and a seed summary
# of at most one prompt each, and the rest.
MAX_TEMPLATE_BYTES = 2 * MAX_PROMPT_BYTES + MiB


def size_text(limit: int) -> str:
    return f"{limit // MiB} MiB" if limit % MiB == 0 else f"{limit:,} bytes"


def check_size(size: int, limit: int, what: str) -> None:
    """``InvalidInput`` when ``size`` bytes of ``what`` exceed ``limit``."""
    if size > limit:
        raise InvalidInput(
            f"{what} is larger than the limit of {size_text(limit)} ({size:,} bytes)"
        )


def check_depth(value: object, limit: int, what: str) -> None:
    """``InvalidInput`` when the JSON ``value`` nests containers deeper than ``limit``
    (level by level, without recursion: the check itself cannot run out of stack)."""
    level: list[object] = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            raise InvalidInput(f"{what} nests deeper than the limit of {limit} levels")
        below: list[object] = []
        for item in level:
            children: Iterable[object] = item.values() if isinstance(item, dict) else item  # type: ignore[assignment]
            below.extend(child for child in children if isinstance(child, dict | list))
        level = below
