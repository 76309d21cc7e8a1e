"""aio's slash commands for Claude Code: ``/aio-status``, ``/aio-plan``, ``/aio-implement`` ….

Claude Code reads custom commands from ``<dir>/<name>.md`` (``~/.claude/commands`` —
``$CLAUDE_CONFIG_DIR/commands`` when set — for the user, ``<project>/.claude/commands`` for a
project): YAML front matter (``description``, ``argument-hint``, ``allowed-tools``), then the
prompt, where ``$ARGUMENTS`` is what the user typed after the command and ``!`cmd``` runs
``cmd`` before the prompt is sent (allowed by ``allowed-tools``) and puts its output in.

- **Read commands** (status, tasks, history) run aio that way: the model receives aio's
  output and summarises it; nothing else is allowed.
- **Workflow commands** (plan, implement, review, verify, escalate) ask the model to run the
  aio command with its Bash tool (they take minutes and call agents themselves), allowing
  exactly that command (``Bash(aio implement:*)``).

Installing next to the user's own commands (``install``/``uninstall``):

- ``.aio-commands.json`` in the directory (the **manifest**) lists each file aio wrote with
  the SHA-256 of what it wrote. A file is **ours** only when the manifest lists it and its
  content still has that hash.
- ``install`` refuses (``CommandConflict``, exit 1, nothing written) when any of our names is
  taken by anything that is not ours — the user's own command, a file of ours the user has
  edited since, a symlink, a directory; otherwise it writes every file atomically (temp file
  + rename, mode 0644) and then the manifest. Installing again updates our files in place.
- ``uninstall`` removes exactly the files that are ours, keeps (and names) the ones the user
  has changed since, then removes the manifest; nothing else in the directory is touched.
- A crash between writing the files and the manifest leaves files that are not listed: the
  next ``install`` recognises them as ours when their content is exactly what it would write.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ai_orchestrator.agents.homes.locations import claude_config_dir
from ai_orchestrator.core.errors import AioError, CommandConflict, InvalidInput
from ai_orchestrator.core.schema import versioned
from ai_orchestrator.infra.fsutil import atomic_write, read_bytes

MANIFEST = ".aio-commands.json"
FILE_MODE = 0o644  # command files are meant to be read (and, per project, committed)
MARKER = "<!-- Installed by aio (ai-orchestrator); `aio uninstall claude-commands` removes it. -->"
SCOPES = ("user", "project")


@dataclass(frozen=True)
class SlashCommand:
    name: str
    description: str
    argument_hint: str
    aio: str  # the aio subcommand it runs ("status", "implement", …)
    read_only: bool

    def render(self) -> str:
        tool = f"Bash(aio {self.aio}:*)"
        hint = json.dumps(self.argument_hint, ensure_ascii=False)
        head = (
            f"---\ndescription: {json.dumps(self.description, ensure_ascii=False)}\n"
            f"argument-hint: {hint}\n"
            f"allowed-tools: {tool}\n---\n{MARKER}\n"
        )
        if self.read_only:
            return (
                f"{head}Output of `aio {self.aio} $ARGUMENTS` in this project:\n\n"
                f"!`aio {self.aio} $ARGUMENTS`\n\nSummarise it for me in a few lines: what "
                "stands out, and what I should do next (as aio commands).\n"
            )
        return (
            f"{head}Run `aio {self.aio} $ARGUMENTS` in this project with the Bash tool (it "
            "drives an agent itself and can take several minutes: use a timeout of at least "
            "10 minutes). Do not do the work yourself and do not change files. When it ends, "
            "report its exit code, the last lines it printed and what to do next (`aio status` "
            "shows the state).\n"
        )


_READ = (
    ("status", "feature progress, tokens and cost", "[FEATURE]"),
    ("tasks", "the tasks of the plan with their status", "[FEATURE]"),
    ("history", "the command history of a feature", "[FEATURE] [--limit N]"),
)
_WORKFLOW = (
    ("plan", "plan a feature (session plan-FEATURE)", "[FEATURE] PROMPT"),
    ("implement", "implement a task test-first", "[FEATURE] --task ID"),
    ("review", "review the change (session review-FEATURE)", "[FEATURE] [FILES…]"),
    ("verify", "run the tests in a fresh context", "[FEATURE]"),
    ("escalate", "hand the conversation to a stronger model", "[FEATURE] --to MODEL [--task ID]"),
)
COMMANDS: tuple[SlashCommand, ...] = tuple(
    SlashCommand(f"aio-{aio}", f"aio: {description}", hint, aio, read_only)
    for table, read_only in ((_READ, True), (_WORKFLOW, False))
    for aio, description, hint in table
)


@dataclass
class InstallReport:
    directory: Path
    written: list[str] = field(default_factory=list)  # file names
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # ours once, changed by the user since


def commands_dir(scope: str, project_root: Path | None = None) -> Path:
    """Where Claude Code looks for ``scope``'s commands."""
    if scope == "user":
        return claude_config_dir() / "commands"
    if scope == "project":
        return (project_root or Path.cwd()) / ".claude" / "commands"
    raise InvalidInput(f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest(directory: Path) -> dict[str, str]:
    """``{file name: sha256}`` of the files aio wrote (empty when none or unreadable)."""
    try:
        raw = read_bytes(directory / MANIFEST)
        data = json.loads(raw) if raw else {}
    except (AioError, OSError, ValueError):
        return {}  # unreadable: nothing counts as ours, so nothing of the user's is touched
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return {}
    return {k: v for k, v in files.items() if isinstance(k, str) and isinstance(v, str)}


def _current(path: Path) -> bytes | None:
    """The file's content; None when absent. ``CommandConflict`` for anything but a file."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(mode):
        kind = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
        problem = f"is {kind}; aio leaves it alone (remove or rename it)"
        raise CommandConflict([(str(path), problem)], installing=False)
    # Not read with fsutil.read_bytes: that tightens the mode of what it opens (right for
    # the store), and this may be the user's own command file, which we must not touch.
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def install(directory: Path) -> InstallReport:
    """Write aio's commands into ``directory`` (see the module docstring)."""
    ours = _manifest(directory)
    planned = {f"{c.name}.md": c.render().encode("utf-8") for c in COMMANDS}
    conflicts: list[tuple[str, str]] = []
    for file_name, data in planned.items():
        try:
            present = _current(directory / file_name)
        except CommandConflict as exc:
            conflicts += exc.conflicts
            continue
        if present is None or present == data or ours.get(file_name) == _digest(present):
            continue
        conflicts.append((str(directory / file_name), "exists and is not aio's"))
    if conflicts:
        raise CommandConflict(conflicts, installing=True)
    directory.mkdir(parents=True, exist_ok=True)
    report = InstallReport(directory)
    for file_name, data in planned.items():
        atomic_write(directory / file_name, data, mode=FILE_MODE)
        ours[file_name] = _digest(data)
        report.written.append(file_name)
    _write_manifest(directory, ours)
    return report


def uninstall(directory: Path) -> InstallReport:
    """Remove the files of ours from ``directory``; keep the ones changed since."""
    report = InstallReport(directory)
    ours = _manifest(directory)
    for file_name, digest in sorted(ours.items()):
        path = directory / file_name
        if os.sep in file_name or not (file_name.startswith("aio-") and file_name.endswith(".md")):
            continue  # a hand-edited manifest never addresses anything but our names
        try:
            present = _current(path)
        except CommandConflict:
            report.kept.append(file_name)
            continue
        if present is None:
            continue
        if _digest(present) != digest:
            report.kept.append(file_name)
            continue
        path.unlink()
        report.removed.append(file_name)
    manifest = directory / MANIFEST
    if manifest.is_file() and not manifest.is_symlink():
        manifest.unlink()
    return report


def _write_manifest(directory: Path, files: dict[str, str]) -> None:
    data = versioned({"installed_by": "aio", "files": dict(sorted(files.items()))})
    text = json.dumps(data, indent=2) + "\n"
    atomic_write(directory / MANIFEST, text.encode("utf-8"), mode=FILE_MODE)
