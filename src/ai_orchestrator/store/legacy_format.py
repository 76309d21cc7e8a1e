"""Recognising what the earlier shell version (``ai-session.sh``) wrote as ``metadata.json``.

An object without ``schema_version`` that has ``interactions`` (a list) or ``session_id`` is
the shell version's (``is_legacy_metadata``). ``bc`` wrote costs below 1 without the leading
zero (``"cost": .000048``), which strict JSON parsers refuse; ``parse_legacy_metadata``
accepts that. Nothing is converted here (``legacy`` converts); this is the small piece every
summary read needs (``logfile.read_summary``), kept apart so the common path does not load
the converter and the converter can build on the log file functions without a cycle.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ai_orchestrator.core.schema import SCHEMA_KEY

_BC_NUMBER = re.compile(rb'("(?:total_)?cost"\s*:\s*)(-?)\.(\d)')


def is_legacy_metadata(obj: object) -> bool:
    return (
        isinstance(obj, dict)
        and SCHEMA_KEY not in obj
        and (isinstance(obj.get("interactions"), list) or "session_id" in obj)
    )


def parse_legacy_metadata(data: bytes, parsed: object = None) -> dict[str, Any] | None:
    """The shell version's metadata object in ``data``, or ``None`` if it is not one.

    ``parsed`` is ``json.loads(data)`` if the caller already has it (``None`` if that
    failed); costs written by ``bc`` (``.000048``) are accepted.
    """
    if parsed is None:
        try:
            parsed = json.loads(_BC_NUMBER.sub(rb"\g<1>\g<2>0.\g<3>", data))
        except (ValueError, RecursionError):
            return None
    return parsed if is_legacy_metadata(parsed) and isinstance(parsed, dict) else None
