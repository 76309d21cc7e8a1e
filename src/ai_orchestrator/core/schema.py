"""The version stamp of every document aio writes or prints: the one place its key is spelled.

- ``SCHEMA_KEY``: ``"schema_version"``, the key every stored record, file and ``--json``
  document carries (``tests/test_architecture.py`` finds the literal nowhere else);
- ``SCHEMA_VERSION``: the version of aio's documents (defined in the root package, so that
  ``aio --version`` needs nothing else);
- ``versioned(fields)``: a document: the stamp first, then ``fields`` in their order. Every
  ``--json`` envelope is built by it, so a reader can always check the version first.

Invariant: imports nothing of ours but the root package; standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ai_orchestrator import SCHEMA_VERSION

SCHEMA_KEY = "schema_version"

__all__ = ["SCHEMA_KEY", "SCHEMA_VERSION", "versioned"]


def versioned(
    fields: Mapping[str, Any] | None = None, /, *, version: int = SCHEMA_VERSION, **more: Any
) -> dict[str, Any]:
    """``{"schema_version": version, **fields, **more}``: the stamp always comes first."""
    return {SCHEMA_KEY: version, **(fields or {}), **more}
