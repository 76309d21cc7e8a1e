"""``aio session repair NAME``: rebuild a session from its files and record a call whose aio
died (the library does it: ``calls.repair``); this module parses and renders only."""

from __future__ import annotations

import click

from ai_orchestrator.cli import output


@output.writes
@click.command("repair")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
def repair_cmd(name: str, as_json: bool) -> None:
    """Rebuild a session's summary from its log; quarantine unreadable lines; fix modes;
    record a call whose aio died (usage read back from the agent's own files)."""
    from ai_orchestrator.calls.repair import repair
    from ai_orchestrator.store.session_store import SessionStore

    repaired = repair(SessionStore(), name)
    report, recovered = repaired.report, repaired.recovered
    skipped = report["recovery_skipped"]
    if as_json:
        output.emit_json(report)
        return
    if skipped is not None:
        output.warn(f"{name}: {skipped}")
    for problem in report["cannot_fix"]:
        output.warn(f"{report['session_name']}: not fixed: {problem}")
    if recovered is not None:
        state = "recorded now" if recovered.added else "it had been recorded already"
        output.info(f"{name}: an interrupted call was pending ({state}); its todo is closed")
    kept = f"; original metadata kept as {report['kept_copy']}" if report["kept_copy"] else ""
    output.info(
        f"{report['session_name']}: {report['interactions']} interaction(s); summary was "
        f"{report['summary_was']}{kept}; {report['quarantined_lines']} line(s) moved to "
        f"interactions.corrupt.jsonl; {report['modes_fixed']} mode(s) fixed; "
        f"{report['temp_files_removed'] + report['trash_removed']} leftover(s) removed"
    )
