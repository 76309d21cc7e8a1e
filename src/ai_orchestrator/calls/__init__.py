"""The use case "run one agent call inside a session and record it".

``options`` is the one frozen ``CallOptions`` a call is made with (and the one place the
backend's ``AgentRequest`` is built); ``session_call`` runs a call under the session's run
lock (plan, launch through ``agents.runner``, record); ``trace`` is the ``AIO_DEBUG``
launch line; ``recording`` prices a result and builds the stored record;
``recover`` records a call whose aio was killed, from the agent's own files; ``outcomes`` is
the one table from a call's outcome to the error (and exit code) that ends a command;
``conversation`` is the workflow's view of a call: one persistent conversation per feature
and phase. Sits above ``agents``, ``accounting`` and ``store``; below ``workflow`` and ``cli``.
"""
