"""Running the project's tests: the dry run (``testcheck``), selection (``testselect``,
``discover``), running them (``testrun``), the evidence that they ran (``evidence``), and the
task's own tests pinned at red (``tasktests``, ``testpin``).
"""
