"""Contract tests: the REAL agent CLIs (installed by ``make agent-clis``) against a fake API."""
