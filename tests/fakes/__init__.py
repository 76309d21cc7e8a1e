"""Fake agent CLIs (claude, gemini, codex) for unit and CLI tests; see README.md."""
