"""``python -m ai_orchestrator`` is ``aio`` (the same entry as the ``aio`` script)."""

from __future__ import annotations

from ai_orchestrator.cli.launch import main

main()
