"""The project around a feature: ``workspace`` (the ``.aio/`` layout), ``config`` and its
check, and ``history`` (the feature's event log). Running the tests lives in the sibling
sub-room ``workflow.testing``.
"""
