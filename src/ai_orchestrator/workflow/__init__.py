"""The feature workflow: init → plan → implement (ATDD/TDD) → review → verify, plus status.

Library only (no click, no rich): every function raises typed errors from
``ai_orchestrator.errors`` and talks to people through ``agentcall.Hooks``. The project
workspace layout is documented in ``workflow.workspace``.
"""
