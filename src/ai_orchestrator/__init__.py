"""ai-orchestrator: drive AI coding agents through a feature workflow.

The package is a library first; ``ai_orchestrator.cli`` only parses arguments,
calls the library and renders. Keep this module import-light: ``aio --version``
must stay fast.
"""

from __future__ import annotations

__version__ = "0.1.0"

SCHEMA_VERSION = 1
