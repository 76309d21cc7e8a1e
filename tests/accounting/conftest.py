"""Fixtures for the accounting tests: ``fakes`` (see ``tests.fakes.fixtures``)."""

from __future__ import annotations

from tests.fakes.fixtures import fakes

__all__ = ["fakes"]
