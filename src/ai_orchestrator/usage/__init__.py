"""The usage index: every API request of every agent session on this machine.

A derived, rebuildable SQLite index (``SESSION_DIR/usage/usage.sqlite``) fed by the agents'
own files (Claude Code transcripts, Codex rollouts, Gemini CLI chats), aio's recorded
interactions and the hook spool. ``sync`` updates it incrementally; ``reports`` reads it.
The hook (``hook_entry``) and the statusline only append to the spool or read the index.
This package ``__init__`` imports nothing, so the lean entry points stay lean.
"""
