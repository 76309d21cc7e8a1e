"""``aio review``: code or architecture review in session ``review-<feature>``.

What is reviewed: the given files (contents inlined, 60 000 characters each at most); with
``architecture=True`` the architecture documents found in the project (``docs/``,
``architecture/``, ``design/``, ``doc/``, ``Documentation/`` text files, root README/
ARCHITECTURE/DESIGN, Dockerfile, compose, package.json, go.mod, pom.xml; first 10, 200 lines
each); otherwise the change (``git diff HEAD`` plus new files). ``focus`` adds a focus area;
file names that look security-relevant (auth, password, secret, token, credential) add a
security emphasis.

The answer must be JSON ``{"summary": str, "findings": [{"severity", "file", "line",
"message", "recommendation"}]}`` with severity in ``critical|high|medium|low|info`` (the
seed's ``major/minor/suggestion`` are mapped); an unusable answer gets ONE corrective
follow-up, then ``InvalidReview`` (exit 1). The review is saved as
``artifacts/review-<YYYYmmdd-HHMMSS>.json``; the caller exits 1 when a critical finding
exists. A code review (not ``architecture``) also shows the reviewer every task's tests pinned
at red (``tasktests.pinned_reports``) and what changed in them since, and returns them
(``pinned``, also in the saved review).

The review holds the feature lock for its whole run (like plan and implement), so it never
reads a change that an ``implement`` is in the middle of writing. ``--agent`` is validated
and ``--max-cost`` (else the feature's budget) checked before any agent process starts
(``BudgetExceeded``, exit 3).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ai_orchestrator.calls.conversation import Conversation
from ai_orchestrator.calls.options import CallOptions
from ai_orchestrator.core.errors import InvalidInput, InvalidReview, NotFound
from ai_orchestrator.core.schema import versioned
from ai_orchestrator.infra.fsutil import write_artifact
from ai_orchestrator.infra.timeutil import now_iso
from ai_orchestrator.workflow.jsontext import extract_json
from ai_orchestrator.workflow.model.feature import load_feature, load_plan
from ai_orchestrator.workflow.phases.verify import git_diff
from ai_orchestrator.workflow.project.history import given_options
from ai_orchestrator.workflow.runctx import (
    FeatureContext,
    Recorder,
    call_options,
    check_agent,
    check_budget,
    check_model,
)
from ai_orchestrator.workflow.testing.tasktests import PinnedReport, pinned_reports

SEVERITIES = ("critical", "high", "medium", "low", "info")
ALIASES = {
    "major": "high",
    "minor": "low",
    "suggestion": "info",
    "warning": "medium",
    "error": "high",
    "blocker": "critical",
}
FOCUS = ("security", "performance", "scalability")
SENSITIVE = re.compile(r"auth|password|secret|token|credential", re.I)
DOC_DIRS = ("docs", "architecture", "design", "doc", "Documentation")
ROOT_DOCS = (
    "README.md",
    "ARCHITECTURE.md",
    "DESIGN.md",
    "architecture.md",
    "design.md",
    "Dockerfile",
    "docker-compose.yml",
    "docker-compose.yaml",
    ".env.example",
    "package.json",
    "go.mod",
    "pom.xml",
)


@dataclass
class ReviewOutcome:
    summary: str
    findings: list[dict[str, Any]]
    artifact: Path
    counts: dict[str, int]
    pinned: list[PinnedReport] = field(default_factory=list)  # the tests pinned at red

    @property
    def critical(self) -> int:
        return self.counts.get("critical", 0)


def architecture_files(root: Path) -> list[Path]:
    found: set[Path] = set()
    for name in DOC_DIRS:
        base = root / name
        if base.is_dir():
            found.update(
                p
                for p in base.rglob("*")
                if p.is_file() and p.suffix in (".md", ".txt", ".yaml", ".yml", ".json")
            )
    found.update(root / n for n in ROOT_DOCS if (root / n).is_file())
    return sorted(found)[:10]


def review_material(
    ctx: FeatureContext, files: list[str], architecture: bool
) -> tuple[str, list[str]]:
    """What a review reads (the files, or the architecture documents) and their names."""
    root = ctx.ws.project_root
    if architecture:
        paths = architecture_files(root)
        if not paths:
            ctx.hooks.warn(
                "no architecture documents found; the reviewer will infer the "
                "architecture from the code"
            )
            return "(no architecture documents found: infer it from the repository)", []
        blocks = []
        for p in paths:
            lines = p.read_text(encoding="utf-8", errors="replace").splitlines()[:200]
            blocks.append(f"=== File: {p.relative_to(root)} ===\n" + "\n".join(lines))
        return "\n\n".join(blocks), [str(p.relative_to(root)) for p in paths]
    if files:
        blocks = []
        for name in files:
            path = Path(name) if Path(name).is_absolute() else Path.cwd() / name
            if not path.is_file() and not Path(name).is_absolute():
                path = root / name  # relative to the project root as a fallback
            if not path.is_file():
                raise NotFound(f"file not found: {name}")
            text = path.read_text(encoding="utf-8", errors="replace")[:60_000]
            blocks.append(f"=== File: {name} ===\n{text}")
        return "\n\n".join(blocks), list(files)
    return f"The change (git diff against HEAD, plus new files):\n{git_diff(root)}", []


def review_prompt(
    ctx: FeatureContext, material: str, names: list[str], architecture: bool, focus: str | None
) -> str:
    feature = load_feature(ctx.paths)
    plan = load_plan(ctx.paths, required=False)
    tasks = "\n".join(f"- {t.id} [{t.status}] {t.title}" for t in plan.tasks()) if plan else ""
    kind = "Architecture Review Request" if architecture else "Code Review Request"
    parts = [kind, f"Feature `{ctx.feature_id}`: {feature.get('description') or ''}"]
    if tasks:
        parts.append(f"Plan:\n{tasks}")
    pinned = feature_pins(ctx) if not architecture else []
    if pinned:
        parts.append(pinned_section(pinned))
    parts.append(material)
    parts.append(
        "Review for: code quality, bugs, security, performance, maintainability, tests, "
        "documentation"
        if not architecture
        else "Review the architecture: structure, boundaries, data flow, failure modes, security, "
        "performance and scalability"
    )
    if focus:
        parts.append(f"Special focus area: {focus}.")
    if any(SENSITIVE.search(n) for n in names):
        parts.append(
            "Some files handle credentials or authentication: check them with extra "
            "care for security problems."
        )
    parts.append(
        'Do not modify files. Answer with ONLY one JSON object: {"summary": "...", '
        '"findings": [{"severity": "critical|high|medium|low|info", "file": "path", '
        '"line": 12, "message": "the problem", "recommendation": "the fix"}]}'
    )
    return "\n\n".join(parts)


def feature_pins(ctx: FeatureContext) -> list[PinnedReport]:
    """Every task's tests pinned at red, with what changed since (no test run here)."""
    plan = load_plan(ctx.paths, required=False)
    tasks = [(t.id, t.status) for t in plan.tasks()] if plan else []
    return pinned_reports(ctx.paths.artifacts, tasks, ctx.ws.project_root, None)


def pinned_section(pinned: list[PinnedReport]) -> str:
    """The pinned tests as the reviewer reads them: a weakened one is a finding."""
    lines = ["Tests pinned at red (each task's proven-failing tests; weakening one is a finding):"]
    for report in pinned:
        lines += [f"- {report.task}: {t['test']}" for t in report.tests]
        lines += [f"  CHANGED since red: {change}" for change in report.changes]
    return "\n".join(lines)


def normalise_findings(value: Any) -> tuple[dict[str, Any] | None, list[str]]:
    if not isinstance(value, dict) or not isinstance(value.get("findings"), list):
        return None, ['expected a JSON object with a "findings" list']
    problems: list[str] = []
    findings = []
    for i, raw in enumerate(value["findings"], start=1):
        if not isinstance(raw, dict):
            problems.append(f"finding {i} is not an object")
            continue
        severity = str(raw.get("severity") or "").strip().lower()
        severity = ALIASES.get(severity, severity)
        if severity not in SEVERITIES:
            problems.append(
                f"finding {i}: severity {raw.get('severity')!r} is not one of "
                + "|".join(SEVERITIES)
            )
        message = str(raw.get("message") or raw.get("issue") or "").strip()
        if not message:
            problems.append(f"finding {i} has no message")
        line = raw.get("line")
        if isinstance(line, str) and line.strip().isdigit():
            line = int(line)
        if line is not None and (not isinstance(line, int) or isinstance(line, bool)):
            problems.append(f"finding {i}: line must be a number or null")
            line = None
        findings.append(
            {
                "severity": severity,
                "file": raw.get("file") or None,
                "line": line,
                "message": message,
                "recommendation": str(raw.get("recommendation") or "").strip(),
            }
        )
    return {"summary": str(value.get("summary") or "").strip(), "findings": findings}, problems


def run_review(
    ctx: FeatureContext,
    files: list[str],
    *,
    architecture: bool = False,
    focus: str | None = None,
    agent: str | None = None,
    model: str | None = None,
    no_session: bool = False,
    new_session: bool = False,
    max_cost: float | None = None,
) -> ReviewOutcome:
    check_agent(agent)
    check_model(model)
    if focus is not None and focus not in FOCUS:
        raise InvalidInput(f"--focus must be one of {', '.join(FOCUS)}")
    arguments = given_options(
        files=files,
        architecture=architecture,
        focus=focus,
        agent=agent,
        model=model,
        max_cost=max_cost,
        no_session=no_session,
        new_session=new_session,
    )
    with Recorder(ctx.paths, "review", arguments) as rec:
        with rec.refusals():  # a value the backend would refuse (config, AI_MODEL)
            settings = call_options(
                ctx,
                "review",
                agent=agent,
                model=model,
                no_session=no_session,
                new_session=new_session,
                max_cost=max_cost,
            )
        rec.agent, rec.model = settings.agent, settings.model
        rec.session = ctx.session_name("review")
        with ctx.lock():
            outcome = _review_locked(ctx, files, architecture, focus, settings, rec)
    return outcome


def _review_locked(
    ctx: FeatureContext,
    files: list[str],
    architecture: bool,
    focus: str | None,
    settings: CallOptions,
    rec: Recorder,
) -> ReviewOutcome:
    conv = Conversation(
        ctx.store, ctx.session_name("review"), settings, hooks=ctx.hooks
    )
    with rec.refusals():
        conv.check_location()
        check_budget(ctx, settings, "nothing was reviewed")
        material, names = review_material(ctx, files, architecture)
    prompt = review_prompt(ctx, material, names or files, architecture, focus)
    pinned = feature_pins(ctx) if not architecture else []
    try:
        review = ask_review(conv, prompt)
    finally:
        rec.details["steps"] = conv.steps
    counts = severity_counts(review["findings"])
    stamp = now_iso().replace("-", "").replace(":", "")[:15]
    artifact = ctx.paths.artifacts / f"review-{stamp}.json"
    if artifact.exists():
        artifact = artifact.with_name(f"review-{stamp}-{len(list(artifact.parent.iterdir()))}.json")
    doc = versioned({
        "feature": ctx.feature_id,
        "created_at": now_iso(),
        "agent": settings.agent,
        "model": settings.model,
        "architecture": architecture,
        "focus": focus,
        "files": names or files,
        "counts": counts,
        **review,
        "pinned": [p.to_dict() for p in pinned],
    })
    write_artifact(artifact, (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode())
    rec.details.update(counts=counts, artifact=str(artifact.relative_to(ctx.ws.project_root)))
    outcome = ReviewOutcome(review["summary"], review["findings"], artifact, counts, pinned)
    if outcome.critical:
        rec.status, rec.error = "failed", f"{outcome.critical} critical finding(s)"
    return outcome


def ask_review(conv: Conversation, prompt: str, step: str = "review") -> dict[str, Any]:
    """``{summary, findings}`` of the answer, after at most one correction (else
    ``InvalidReview``)."""
    return conv.ask_usable(
        prompt,
        step,
        _parse,
        correction=lambda problems: (
            "Your review could not be used:\n"
            + "\n".join(f"- {p}" for p in problems)
            + "\nAnswer again with ONLY the JSON object of the requested shape."
        ),
        what="review",
        error=InvalidReview,
    )


def severity_counts(findings: list[dict[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(SEVERITIES, 0)
    for finding in findings:
        counts[finding["severity"]] += 1
    return counts


def _parse(text: str) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        value = extract_json(text, want=lambda v: isinstance(v, dict) and "findings" in v)
    except ValueError as exc:
        return None, [str(exc)]
    return normalise_findings(value)
