"""The workflow's domain model: ``plan`` (tasks, their states and tests) and ``feature``
(the feature record, its listing and lookup). No agent calls and no test runs here.
"""
