"""Rendering of ``aio review --architecture --compare A B``: the two reviews side by side.

Logic is ``workflow.phases.review_compare``; this module calls it and renders (``--json``:
one document with both sides and the artifact).
"""

from __future__ import annotations

from typing import Any

from ai_orchestrator.cli import output
from ai_orchestrator.core.errors import AlreadyReported
from ai_orchestrator.core.schema import versioned


def _finding(f: dict[str, Any]) -> str:
    where = f["file"] or "-"
    if f.get("line"):
        where += f":{f['line']}"
    return f"[{f['severity']}] {where} {f['message']}"


def review_compare(
    ctx: Any, compare: tuple[str, str], focus: str | None, max_cost: float | None, as_json: bool
) -> int:
    from ai_orchestrator.workflow.phases.review_compare import run_compare

    outcome = run_compare(ctx, compare[0], compare[1], focus=focus, max_cost=max_cost)
    if as_json:
        output.emit_json(
            versioned({
                "feature_id": ctx.feature_id,
                "sides": [s.to_dict() for s in outcome.sides],
                "artifact": str(outcome.artifact),
            })
        )
    else:
        from rich.table import Table

        # The title on its own line: rich pads a table's title to the table's width.
        table_title = f"Architecture review of {ctx.feature_id}"
        table = Table()
        table.add_column("")
        for side in outcome.sides:
            used = f"{side.agent}:{side.model}" if side.model else str(side.agent or "-")
            note = f" (fallback from {', '.join(side.fallback_from)})" if side.fallback_from else ""
            table.add_column(f"{side.reviewer} → {used}{note}", overflow="fold")
        a, b = outcome.sides
        table.add_row("Summary", a.error or a.summary, b.error or b.summary)
        for severity in ("critical", "high", "medium", "low", "info"):
            table.add_row(severity, str(a.counts.get(severity, 0)), str(b.counts.get(severity, 0)))
        rows = max(len(a.findings), len(b.findings))
        for i in range(rows):
            table.add_row(
                "Finding" if i == 0 else "",
                _finding(a.findings[i]) if i < len(a.findings) else "",
                _finding(b.findings[i]) if i < len(b.findings) else "",
            )
        output.out().print(table_title, markup=False)
        output.out().print(table)
        output.info(f"Review saved to: {outcome.artifact}")
    for side in outcome.sides:
        if side.error:
            output.warn(f"{side.reviewer}: {side.error}")
    if outcome.failed:
        raise AlreadyReported("a reviewer failed")
    return 0
