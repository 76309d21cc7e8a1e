"""``python -m ai_orchestrator`` is ``aio``."""

from __future__ import annotations

from ai_orchestrator.cli.main import main

main()
