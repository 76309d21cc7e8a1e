"""The workflow's phases: ``plan``, ``implement``, ``review``, ``verify``.

Each phase drives agent calls through ``calls.conversation`` and reads and writes the
feature through ``workflow.model`` and ``workflow.project``.
"""
