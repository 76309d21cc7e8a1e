"""Fixtures for the CLI tests that run ``aio run`` with the fake CLIs (see
``tests.fakes.fixtures``)."""

from __future__ import annotations

from tests.fakes.fixtures import fakes, project

__all__ = ["fakes", "project"]
