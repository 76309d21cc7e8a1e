"""Examples shown at the end of each command's ``--help`` (click epilogs), kept in one place.

``add_examples(command, path, prog)`` sets the epilog of ``command`` (and of a group's
subcommands) from ``EXAMPLES`` unless the command has its own; examples are written
relative to the command's parent, so ``ai-session list`` and ``aio session list`` each
show the name they were invoked by.
"""

from __future__ import annotations

import click

EXAMPLES: dict[str, tuple[str, ...]] = {
    "init": (
        'init auth-service "Login with sessions and tokens"',
        "init billing --template py-service",
        "init auth-v2 --from auth-service",
    ),
    "template save": (
        "save py-service --from implement-auth-service",
        "save py-service --file py-service.toml --force",
    ),
    "template list": ("list", "list --json"),
    "template show": ("show py-service",),
    "template delete": ("delete py-service",),
    "link": ("link auth-v2 auth-service",),
    "plan": (
        'plan "Design the login flow"',
        'plan auth-service "Re-plan: add password reset" --agent claude --model opus',
    ),
    "tasks": ("tasks", "tasks auth-service"),
    "next": ("next",),
    "implement": (
        "implement --task T1.1",
        "implement --task T1.2 --model sonnet --max-cost 2",
    ),
    "escalate": (
        "escalate --to opus --task T1.2",
        'escalate auth-service --to gemini --phase plan --reason "second opinion"',
    ),
    "review": (
        "review",
        "review auth-service --agent claude",
        "review --architecture --compare claude:opus gemini",
    ),
    "verify": (
        "verify",
        "verify --unit --coverage",
        'verify --filter "login and not slow" --parallel',
        "verify --discover-only",
        "verify --watch",
    ),
    "status": ("status", "status auth-service --json"),
    "switch": ("switch auth-service",),
    "features": ("features",),
    "features clean": ("clean --completed --archive", "clean --stale 30 --empty --dry-run"),
    "task set": ("set T1.2 --status pending", "set auth-service T1.3 --status completed"),
    "history": ("history", "history auth-service --json", "history --model opus --stats"),
    "run": (
        'run "explain this repository"',
        'run implement-auth "add a logout endpoint" --agent claude --model sonnet',
        "git diff | aio run review-auth -   # the prompt from stdin",
    ),
    "session list": ("list", "list --active --days 7 --sort cost", "list --json"),
    "session show": ("show implement-auth", "show implement-auth --last 20 --json"),
    "session stats": ("stats --by model", "stats --session implement-auth --by day"),
    "session clean": (
        "clean --older-than 90 --dry-run",
        "clean --older-than 90 --yes",
        "clean --policy --dry-run",
        "clean --policy --max-count 100 --archive --yes",
    ),
    "session pin": ("pin implement-auth", "pin"),
    "session unpin": ("unpin implement-auth",),
    "session compact": ("compact implement-auth", "compact implement-auth --json"),
    "session export": ("export --output all.json", "export | jq '[.[].interactions[].cost] | add'"),
    "session import": ("import all.json", "import old.json --rename old_name=plan-old"),
    "session migrate": ("migrate", "migrate --rename my_notes=plan-notes"),
    "session delete": ("delete plan-old --yes",),
    "session repair": ("repair implement-auth",),
    "session path": ("path", "path implement-auth"),
    "todo report": ("report --since 2026-01-01",),
    "todo list": ("list --feature auth-service --status in_progress",),
    "prices": ("prices sonnet", "prices gemini-2.5-pro --agent gemini --json"),
    "doctor": ("doctor", "doctor --json"),
    "config check": ("check", "check --json"),
    "completion": (
        "completion bash --program aio > ~/.local/share/bash-completion/completions/aio",
        "completion zsh --program ai-session > ~/.zfunc/_ai-session",
        "completion fish --program aio > ~/.config/fish/completions/aio.fish",
    ),
    "install claude-commands": ("claude-commands", "claude-commands --scope project"),
    "uninstall claude-commands": ("claude-commands", "claude-commands --scope project"),
    "demo": ("demo",),
    "team init": ("init --db postgresql://aio_owner@db.example.com/aio_team",),
    "team push": ("push", "push --watch", "push --db postgresql://alice@db/aio_team --json"),
    "team status": ("status", "status --json"),
    "team stats": ("stats --by user", "stats --by feature --since 2026-11-01 --json"),
}


def _epilog(prefix: str, examples: tuple[str, ...]) -> str:
    # "\b" keeps click from re-wrapping the lines.
    lines = [f"  {ex if ex.startswith(('git ', 'aio ')) else f'{prefix} {ex}'}" for ex in examples]
    return "\b\nExamples:\n" + "\n".join(lines)


def add_examples(command: click.Command, path: str, prog: str | None = None) -> None:
    """Set the examples of ``command`` at ``path`` (e.g. ``"session"``) and below it."""
    parent = prog or " ".join(["aio", *path.split()[:-1]])
    examples = EXAMPLES.get(path)
    if examples and not command.epilog:
        command.epilog = _epilog(parent, examples)
    if isinstance(command, click.Group):
        inner = prog or f"aio {path}"
        for name, sub in command.commands.items():
            sub_examples = EXAMPLES.get(f"{path} {name}")
            if sub_examples and not sub.epilog:
                sub.epilog = _epilog(inner, sub_examples)
