"""The ground floor: types and errors that every other room may use.

``errors`` holds every typed error and the exit codes they map to; ``names`` the validated
session name and id syntax. Nothing here imports another room of ``ai_orchestrator``, and
nothing here imports a third-party library, so every layer can depend on it cheaply.
"""
