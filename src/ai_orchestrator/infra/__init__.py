"""Infrastructure with no product concept in it.

``fsutil`` (atomic writes, non-following opens, one-line OS errors), ``timeutil`` (UTC ISO
timestamps), ``redact`` with its rule sets ``secret_rules``/``secret_tokens`` (secrets never
reach a file we write) and ``locks`` (flock-based write and run locks with holder info).
Imports only ``core``.
"""
