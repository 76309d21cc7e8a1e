"""Agent adapters: one module per CLI backend, the protocol and the registry; sub-rooms
``process`` (spawning without orphans) and ``homes`` (the agents' own files).

``base`` defines the protocol (``Backend``, ``AgentRequest``, ``AgentResult``);
``registry.get_backend(key)`` returns an adapter for ``claude``, ``gemini``, ``codex`` or the
offline ``scripted`` agent; ``process.runner.run`` launches an ``Invocation`` and feeds its
output to the adapter's parser. Nothing is imported here, so ``import ai_orchestrator.agents``
stays cheap.
"""
