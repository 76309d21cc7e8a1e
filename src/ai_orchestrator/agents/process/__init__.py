"""The process layer: start an agent CLI, watch it, and never leave an orphan behind.

``runner`` spawns the CLI through the ``watchdog`` and streams its stdout into a parser;
``proctree`` finds and stops every process it started; ``subreaper`` adopts the ones that
leave their group. Nothing here knows any particular agent.
"""
