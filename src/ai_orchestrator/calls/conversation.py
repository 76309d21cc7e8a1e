"""Agent calls of one workflow command in one session, with typed failures.

A ``Conversation`` wraps ``calls.session_call.run_in_session`` for the calls one command
makes in one session (``plan-<f>``, ``implement-<f>``, ``review-<f>``; ``verify-<f>`` with
sessions off). Contract:

- ``--new-session`` replaces the stored conversation on the **first** call only; every later
  call of the command resumes the conversation that call started. ``fork`` (a fork of the
  stored conversation) and ``escalated_from`` (the lineage stored on the record) apply to
  the first call only too: that call starts the conversation the later ones resume; so do
  ``fork_from``, ``preface`` and ``lineage`` (a linked or templated feature's start).
- **Never resume another project's conversation.** Session names (``implement-<feature>``)
  live in one global ``SESSION_DIR``, and a resumed conversation runs in the directory it was
  created in. So before the first call, when the stored conversation (same agent) was made
  in a different directory than this project's root, ``SessionElsewhere`` (exit 1) refuses
  and says how to proceed (``--new-session`` here, or another feature id) — the agent is
  never started in the other repository.
- With sessions off (``USE_SESSIONS=false`` or ``--no-session``) every call is a fresh
  conversation (still recorded); ``followup`` then repeats the original prompt before the
  correction, because the agent has no memory of it.
- ``ask_usable`` is the one place of "exactly ONE corrective follow-up": an answer that
  ``parse`` finds unusable gets one follow-up (step ``<step>-fix``) listing the problems,
  and a second unusable answer raises the caller's error (plan, review, verify).
- Every call is recorded by ``run_in_session``; ``steps`` keeps a small summary of each call
  (step, action, outcome, model, tokens, cost, duration) for the history event.
- A call that does not succeed raises the error ``calls.outcomes.outcome_error`` maps its
  outcome to (the table ``aio run`` uses too): ``session_lost`` → ``SessionLost`` (telling
  the user to rerun with ``--new-session``), ``timeout`` → ``AgentTimeout`` (124),
  ``interrupted`` → ``Interrupted`` (130), ``budget`` → ``BudgetExceeded`` (3), anything
  else → ``AgentFailed`` (1). ``BudgetExceeded`` before the call comes from
  ``run_in_session``.
- Before each call that resumes the stored conversation, a context past the threshold is
  compacted first (``calls.compaction.before_call``), said through ``Hooks``.
- Messages for people go through ``Hooks`` (the library never prints), including the
  notices ``run_in_session`` emits (warnings through ``warn``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from ai_orchestrator.agents.base import AgentResult, Progress
from ai_orchestrator.calls.compaction import before_call
from ai_orchestrator.calls.options import CallOptions
from ai_orchestrator.calls.outcomes import action_message, outcome_error
from ai_orchestrator.calls.session_call import Notice, SessionRun, run_in_session
from ai_orchestrator.core.errors import AioError, SessionElsewhere
from ai_orchestrator.core.figures import duration, exact_usd, token_line, usd
from ai_orchestrator.infra.locks import WaitReport
from ai_orchestrator.store import SessionStore

ProgressHook = Callable[[Progress], None]
T = TypeVar("T")


def _no_progress(label: str) -> AbstractContextManager[ProgressHook | None]:
    return nullcontext(None)


def _ignore(message: str) -> None:
    return None


def _no_wait(name: str, what: str = "the session") -> WaitReport | None:
    return None


@dataclass
class Hooks:
    """How the library talks to people: info/warn lines and a progress display per call."""

    info: Callable[[str], None] = _ignore
    warn: Callable[[str], None] = _ignore
    progress: Callable[[str], AbstractContextManager[ProgressHook | None]] = _no_progress
    # A reporter for a wait for ``name`` (a session inside ``progress``'s block, or a
    # feature with what="the feature"), for ``locks.acquire``.
    lock_wait: Callable[[str, str], WaitReport | None] = _no_wait


class Conversation:
    """The calls one command makes in session ``name`` (see the module docstring)."""

    def __init__(
        self,
        store: SessionStore,
        name: str,
        options: CallOptions,
        *,
        hooks: Hooks,
    ) -> None:
        self.store = store
        self.name = name
        self.options = options
        self.cwd = options.cwd
        self.hooks = hooks
        self.steps: list[dict[str, Any]] = []
        self.first_prompt: str | None = None
        self._replaced = False
        self._location_checked = False

    @property
    def cost(self) -> float:
        return float(sum(s["cost"] or 0.0 for s in self.steps))

    def followup(self, correction: str, step: str) -> AgentResult:
        """A follow-up in the same conversation (the original prompt repeated when fresh)."""
        prompt = correction
        if not self.options.use_session and self.first_prompt:
            prompt = f"{self.first_prompt}\n\n---\n\n{correction}"
        return self.ask(prompt, step, remember=False)

    def ask_usable(
        self,
        prompt: str,
        step: str,
        parse: Callable[[str], tuple[T | None, list[str]]],
        *,
        correction: Callable[[list[str]], str],
        what: str,
        error: Callable[[str], AioError],
    ) -> T:
        """Ask, then at most one correction (see the module docstring); ``parse`` returns
        ``(value, problems)`` and the answer is usable when value is set and no problem."""
        value, problems = parse(self.ask(prompt, step).text)
        if value is not None and not problems:
            return value
        self.hooks.warn(f"the {what} is not usable ({'; '.join(problems)}); asking once more")
        value, problems = parse(self.followup(correction(problems), f"{step}-fix").text)
        if value is None or problems:
            raise error("; ".join(problems))
        return value

    def check_location(self) -> None:
        """``SessionElsewhere`` if this call would resume a conversation of another project."""
        s = self.options
        if self._location_checked or not s.use_session or (s.new_session and not self._replaced):
            return
        self._location_checked = True
        if not self.store.exists(self.name):
            return
        summary = self.store.load(self.name).summary
        stored_cwd = summary.agent_cwd
        if summary.agent != s.agent or not summary.agent_session_id:
            return  # nothing of this agent to resume: the call starts a new conversation
        if not stored_cwd or Path(stored_cwd).resolve() == self.cwd.resolve():
            return
        raise SessionElsewhere(str(self.name), s.agent, str(stored_cwd), str(self.cwd))

    def ask(self, prompt: str, step: str, *, remember: bool = True) -> AgentResult:
        s = self.options
        self.check_location()
        if remember:
            self.first_prompt = prompt
        # --new-session and a fork replace the stored conversation once: later calls resume
        # the new one, and only its first record carries the lineage.
        options = s
        if self._replaced:
            options = replace(s, new_session=False, fork=False, escalated_from=None)
            options = replace(options, fork_from=None, preface=None, lineage=None)
        label = f"{s.agent} · {self.name} · {step}"

        def started(action: str) -> None:
            self.hooks.info(f"{self.name} [{step}]: {action_message(action)}")

        def notice(note: Notice) -> None:
            (self.hooks.warn if note.warning else self.hooks.info)(f"{self.name}: {note.text}")

        before_call(self.store, self.name, options, self.hooks.info, self.hooks.warn)
        with self.hooks.progress(label) as on_progress:
            run = run_in_session(
                self.store,
                self.name,
                prompt,
                options,
                on_progress=on_progress,
                on_start=started,
                on_notice=notice,
                on_wait=self.hooks.lock_wait(self.name, "the session"),
            )
        self._replaced = True
        self._note(step, run)
        return self._check(run)

    def _note(self, step: str, run: SessionRun) -> None:
        record = run.record
        tokens = record.tokens
        self.steps.append(
            {
                "step": step,
                "session_action": run.action,
                "outcome": run.result.outcome,
                "model": record.model,
                # usage the agent never reported is unknown, never 0 (see calls.recording)
                "tokens": None if record.usage_unknown else tokens.to_json(),
                "cost": None if record.usage_unknown else float(record.cost),
                "cost_source": record.cost_source,
                **({"usage_unknown": True} if record.usage_unknown else {}),
                "duration_ms": run.result.duration_ms,
            }
        )
        usage = (
            "usage unknown"
            if record.usage_unknown
            else f"{token_line(record.tokens.to_json())} · "
            + ("unpriced" if record.cost_source == "unpriced" else usd(float(record.cost)))
        )
        self.hooks.info(
            f"{self.name} [{step}]: {run.result.outcome} · {usage}"
            f" · {duration(run.result.duration_ms / 1000)}"
        )
        if run.over_budget:
            self.hooks.warn(
                f"this call took the feature over its {exact_usd(run.budget_usd)} budget"
            )

    def _check(self, run: SessionRun) -> AgentResult:
        error = outcome_error(run.result, self.name, run.record.agent_session_id)
        if error is not None:
            raise error
        return run.result
