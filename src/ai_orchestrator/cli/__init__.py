"""Command-line interface: parses arguments, calls the library, renders results.

No domain logic lives here. ``main`` maps library errors to exit codes in one place.
"""
