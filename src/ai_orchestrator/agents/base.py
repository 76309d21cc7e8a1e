"""The backend protocol: what every agent adapter builds and what it returns.

A backend turns an ``AgentRequest`` into an ``Invocation`` (argv, stdin, env, cwd) and
turns the CLI's output stream into one normalised ``AgentResult``. It never spawns
processes itself; ``agents.runner`` does that, so every backend gets the same process
hygiene (own process group, TERM-then-KILL, Ctrl-C handling).

Normalised usage semantics (``ModelUsage``), identical for every backend:

- ``input``: input tokens billed at the plain input rate, i.e. **excluding** cache reads
  and cache writes (Anthropic's ``input_tokens``; Gemini ``prompt - cached``;
  Codex ``input_tokens - cached_input_tokens``).
- ``cache_read``: input tokens served from cache.
- ``cache_write_5m`` / ``cache_write_1h``: cache-creation tokens by TTL (Anthropic only).
- ``output``: **all** billed output tokens, reasoning/thoughts included
  (Gemini ``candidates + thoughts``; Codex ``output_tokens``).
- ``reasoning``: the part of ``output`` that was reasoning (informational; never added again).

Invariants: token counts are non-negative ints; ``AgentResult.outcome`` is one of
``OUTCOMES``; ``session_id`` is what the CLI printed (never guessed), or ``None``.

What a backend can do is declared once, as data, on its class (``Capabilities``); callers
outside ``agents/`` read it through ``registry.capabilities(key)`` and never keep a table of
their own keyed by agent name. The common parser machinery is ``agents.parser_base``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.usage import ModelUsage, Outcome


@dataclass
class TodoEvent:
    """One todo/task tool call the agent made (TodoWrite, TaskCreate, write_todos, todo_list)."""

    tool: str
    items: list[dict[str, Any]]
    replaces: bool = True  # True when ``items`` is the whole list (TodoWrite, write_todos)


# ``Permission.mode``'s vocabulary (Claude Code's); every backend maps these five, and may
# accept a few values of its own CLI (each adapter's ``MODES``).
PERMISSION_MODES = ("default", "acceptEdits", "plan", "dontAsk", "bypassPermissions")
# A model alias or id (README "Models"): sonnet, opus[1m], claude-sonnet-4-5-20250929,
# gemini-2.5-pro, gpt-5-codex, openai/gpt-oss:20b, us.anthropic.claude-…-v1:0, …@20250805.
_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+\[\]-]{0,199}")
MODEL_SYNTAX = "letters, digits and . _ - : / @ + [ ], starting with a letter or digit"


def check_model(value: str) -> str:
    """``value`` if it is a model alias or id (``MODEL_SYNTAX``), else ``InvalidInput``."""
    if not _MODEL.fullmatch(value):
        raise InvalidInput(f"invalid model {value!r}: a model alias or id is {MODEL_SYNTAX}")
    return value


@dataclass
class Permission:
    """What the agent may do without asking, for one phase of the workflow."""

    mode: str | None = None  # e.g. "acceptEdits", "plan", "default"
    allowed_tools: list[str] = field(default_factory=list)


@dataclass
class AgentRequest:
    """One call to an agent.

    ``resume_id`` is the backend session id to resume (``None`` starts a new session);
    ``new_session_id`` is an id we minted for a new session where the CLI accepts one.
    ``fork`` (with ``resume_id``, only for backends ``registry.can_fork`` names) continues a
    **copy** of that conversation as a new one (``new_session_id`` when given); the source
    conversation is left as it was.
    ``state`` is backend-private data carried between calls of one session (e.g. Codex's
    last cumulative usage); the caller stores ``AgentResult.state`` and passes it back.
    """

    prompt: str
    cwd: Path
    resume_id: str | None = None
    new_session_id: str | None = None
    model: str | None = None
    max_turns: int | None = None
    max_budget_usd: float | None = None
    permission: Permission = field(default_factory=Permission)
    timeout: float | None = None
    extra_args: Sequence[str] = ()
    state: Mapping[str, Any] = field(default_factory=dict)
    fork: bool = False


@dataclass
class Invocation:
    """A fully built process launch: no shell is ever involved."""

    argv: list[str]
    cwd: Path
    stdin: bytes | None = None  # the prompt travels here, never on argv
    env: dict[str, str] = field(default_factory=dict)  # overrides on top of os.environ
    unset_env: tuple[str, ...] = ()  # variables removed from the child's environment


@dataclass
class Progress:
    """A live snapshot for the spinner line; every field is a running total.

    The token fields mean what ``ModelUsage`` means (``input`` excludes cache reads and
    writes), so the live line and the recorded totals of the finished call agree.
    ``usage`` is the running per-model usage when the stream shows it (the caller prices it
    for "cost so far"); ``cost`` is set only when the CLI itself reported a total. ``tool``
    is the tool in use, else the last one used."""

    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost: float | None = None
    tool: str | None = None
    tool_running: bool = False  # ``tool`` is open right now (else it is the last one used)
    usage: dict[str, ModelUsage] = field(default_factory=dict)
    # The conversation id as soon as the stream names one, where it cannot be known before
    # launch (a new Codex thread): the caller notes it for recovering a killed call.
    session_id: str | None = None


@dataclass
class AgentResult:
    """The normalised outcome of one agent call."""

    agent: str
    outcome: Outcome
    text: str = ""
    session_id: str | None = None
    model: str | None = None
    usage: dict[str, ModelUsage] = field(default_factory=dict)
    # Per model (keys as in ``usage``), one entry per API request where the stream shows
    # each request's usage (Claude); empty otherwise. Pricing applies long-context tiers
    # per request with it; the entries may add up to less than ``usage`` (then the rest
    # is priced as one block).
    requests: dict[str, list[ModelUsage]] = field(default_factory=dict)
    reported_cost: float | None = None
    turns: int = 0
    duration_ms: int = 0
    error: str | None = None
    exit_code: int | None = None
    todos: list[TodoEvent] = field(default_factory=list)
    tools_used: list[str] = field(default_factory=list)
    raw_events: list[dict[str, Any]] = field(default_factory=list)
    cli_version: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    session_in_use: bool = False  # "already in use": the caller should resume instead
    # The conversation was compacted in this call (Claude's ``compact_boundary``:
    # ``trigger``, ``pre_tokens``, ``post_tokens`` …, as the CLI reported them).
    compaction: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "success"

    def total_usage(self) -> ModelUsage:
        total = ModelUsage()
        for usage in self.usage.values():
            total.add(usage)
        return total


@dataclass
class ProcessExit:
    """How the child process ended, as observed by the runner."""

    exit_code: int | None
    stderr: str
    duration_ms: int
    timed_out: bool = False
    interrupted: bool = False  # only when *we* stopped it (Ctrl-C, SIGTERM/SIGHUP to aio)
    signal: int | None = None  # the signal that ended the child, if one did

    def killed_by(self) -> int | None:
        """The signal that ended the child: ``signal``, else a ``128 + N`` exit code (a wrapper
        shell reports its child's death that way; 129-159, so never an ordinary status)."""
        if self.signal is not None:
            return self.signal
        code = self.exit_code
        return code - 128 if code is not None and 128 < code < 160 else None


ResumeScope = Literal["cwd", "anywhere"]


@dataclass(frozen=True)
class SessionFiles:
    """One place a CLI keeps its conversation files, as the usage index reads them.

    ``root`` is a directory searched recursively (symlinked directories are not followed)
    or, with ``name`` empty, one file. ``name`` is a glob on the file name
    (``rollout-*.jsonl``); ``under`` a glob on the directories between ``root`` and the
    file, one component each (``*/chats``: only files in ``<any>/chats/`` and below).
    ``kind`` names the usage index's reader for them (``usage.sources``)."""

    root: Path
    kind: str
    name: str = "*.jsonl"
    under: str = ""


@dataclass(frozen=True)
class Capabilities:
    """What one backend can do and where its things are: declared on its class, read by
    callers through ``registry.capabilities(key)``.

    - ``fork``: the CLI can continue a *copy* of a stored conversation (``AgentRequest.fork``).
    - ``resume_scope``: ``"cwd"`` when the CLI finds a stored conversation only when run from
      the directory the conversation started in (its files are kept per project directory),
      so a resume runs there; ``"anywhere"`` when any directory will do.
    - ``mints_own_ids``: the CLI names a new conversation itself (the id arrives in the
      stream, ``Progress.session_id``); ``False``: it takes the id aio minted
      (``AgentRequest.new_session_id``), known before launch.
    - ``provider``: the price data's provider id its models are priced under
      (``accounting`` gets it as an argument); ``None``: inferred from the model name.
    - ``notional_cost``: its cost is notional (the offline demo agent), said on every price.
    - ``model_aliases``: short model names the CLI resolves itself (``sonnet``); they name no
      model under another backend.
    - ``label``: the agent's name in a sentence (``Claude``); empty: the key.
    - ``work_model``: the model the workflow's everyday phases (implement) run with by
      default; ``None``: the CLI's own default.
    - ``strong_model``: the model the workflow asks for when it wants the strongest one this
      backend runs (a fallback planner, the last-resort reviewer); ``None``: the CLI default.
    - ``auto_planner``: position in ``plan.agent = "auto"`` (lowest first) when its CLI is
      installed; ``None``: never chosen by ``auto``.
    - ``tested_version``: the pinned CLI version the contract tests prove (``aio doctor``).
    - ``built_in``: runs with this Python, nothing to install (the scripted demo agent).
    - ``session_files``: where the CLI keeps its conversation files (``SessionFiles``, roots
      from ``agents.homes.locations`` or the backend's module): the usage index finds every
      session there, and ``Backend.read_back`` reads a lost call's usage from there. ``None``:
      the CLI keeps no usage of its own.
    - ``compacts_headlessly``: the CLI compacts its own conversation when a headless call
      asks it to (``/compact``); otherwise aio compacts by a summary hand-over.
    - ``context_limit``: the context the CLI itself works with when the model allows more
      (``None``: the model's); ``long_context_mark``: a model-name mark that lifts it.
    """

    fork: bool = False
    resume_scope: ResumeScope = "anywhere"
    mints_own_ids: bool = False
    provider: str | None = None
    notional_cost: bool = False
    model_aliases: tuple[str, ...] = ()
    label: str = ""
    work_model: str | None = None
    strong_model: str | None = None
    auto_planner: int | None = None
    tested_version: str | None = None
    built_in: bool = False
    compacts_headlessly: bool = False
    context_limit: int | None = None
    long_context_mark: str = ""
    session_files: Callable[[], list[SessionFiles]] | None = None


@dataclass
class FileUsage:
    """What the agent's own files say one call used (``Backend.read_back``)."""

    kind: str  # claude-transcript | codex-rollout | gemini-chat | …
    path: Path
    usage: dict[str, ModelUsage] = field(default_factory=dict)
    requests: dict[str, list[ModelUsage]] = field(default_factory=dict)
    last_at: datetime | None = None  # the newest counted entry
    state: Mapping[str, Any] = field(default_factory=dict)


class StreamParser(Protocol):
    """Consumes stdout line by line as it arrives, then produces the result."""

    def feed(self, line: str) -> Progress | None:
        """Take one stdout line (without newline); return a progress snapshot if it changed."""

    def finish(self, exit: ProcessExit) -> AgentResult:
        """Build the normalised result once the process has ended."""


class Backend(Protocol):
    """An agent CLI adapter. ``key`` equals the binary name (``claude``, ``gemini`` …);
    ``capabilities`` declares what it can do (``Capabilities``)."""

    key: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def build(self, request: AgentRequest, executable: str) -> Invocation:
        """The launch for ``request``; ``executable`` is the resolved binary."""

    def parser(self, request: AgentRequest) -> StreamParser:
        """A fresh parser for one call."""

    def read_back(
        self,
        session_id: str,
        cwd: Path,
        since: datetime,
        state: Mapping[str, Any],
        resume_id: str | None,
    ) -> FileUsage | None:
        """The usage of the call that started at ``since``, read from the CLI's own files
        (a call aio lost); ``None`` when they cannot be found or read (``agents.homes
        .agent_files`` checks ``session_id`` first and holds the shared reading helpers)."""
