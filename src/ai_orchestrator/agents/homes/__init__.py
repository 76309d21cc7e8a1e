"""The agents' own home files: where each CLI keeps its sessions, what aio reads back from them
(a lost call's usage, Claude's transcript counts), and the slash commands aio installs there.

``locations`` is stdlib only: the usage index and the hook path import it on every run.
"""
