"""The feature workflow: init → plan → implement (ATDD/TDD) → review → verify, plus status.

``phases/`` drives the agent calls of each phase, ``model/`` is the plan and the feature,
``project/`` the workspace, config, history and test runs around them. Library only (no click,
no rich): every function raises typed errors from ``core.errors`` and talks to people through
``calls.conversation.Hooks``. The workspace layout is documented in ``project.workspace``.
"""
