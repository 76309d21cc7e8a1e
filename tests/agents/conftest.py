"""Fixtures for the agent tests: ``fakes`` and ``project`` (see ``tests.fakes.fixtures``)."""

from __future__ import annotations

from tests.fakes.fixtures import fakes, project

__all__ = ["fakes", "project"]
