"""The project around a feature: ``workspace`` (the ``.aio/`` layout), ``config``,
``history``, test runs (``testrun``, ``tasktests``) and what counts as evidence that tests
ran (``evidence``, ``testcheck``).
"""
