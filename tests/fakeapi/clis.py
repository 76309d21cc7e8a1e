"""Locate the pinned real agent CLIs and build a fully offline invocation for each.

- ``find_cli(name)``: ``$AGENT_CLI_DIR/<name>/node_modules/.bin/<name>`` (default dir:
  ``<repo>/.cache/agent-clis``, as ``make agent-clis`` installs), or None.
- ``require_cli(name)``: for tests. Skips LOUDLY only when ``npm`` is not on PATH; if npm
  exists but the CLI is missing, FAILS telling you to run ``make agent-clis``.
- ``offline_cli(name, api_url, home, ...)`` -> ``OfflineCli(argv, env)``: ``argv`` is just
  ``[executable]`` (callers add flags); ``env`` is a complete, minimal environment (``env -i``
  style: nothing inherited except what is passed) that points the CLI at the fake API, with
  retries off and no telemetry. Config files the CLI needs are written under ``home``
  (Gemini ``~/.gemini/settings.json``, Codex ``$CODEX_HOME/config.toml``, Qwen
  ``${QWEN_HOME:-~/.qwen}/settings.json``; OpenCode gets its config inline, ``opencode_env``);
  ``inherit`` may forward ``CLAUDE_CONFIG_DIR``, ``CODEX_HOME``, ``GEMINI_CLI_HOME``,
  ``QWEN_HOME`` and ``XDG_*``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

CLI_NAMES = ("claude", "gemini", "codex", "opencode", "qwen")
PINNED_VERSIONS = {"claude": "2.1.330", "gemini": "0.61.0", "codex": "0.169.0",
                   "opencode": "1.18.33", "qwen": "0.24.4"}
# Models the offline setups are known to work with (Claude: TaskCreate etc. exist for sonnet).
MODELS = {"claude": "claude-sonnet-4-6", "gemini": "gemini-2.5-flash", "codex": "gpt-5.5",
          "opencode": "anthropic/claude-sonnet-4-5", "qwen": "qwen3-coder-plus"}
# What the offline OpenCode setup prices its model at (USD per million tokens): OpenCode
# computes each step's ``cost`` from these, so a test can check the reported cost exactly.
OPENCODE_PRICES = {"input": 3.0, "output": 15.0, "cache_read": 0.3, "cache_write": 3.75}
API_KEY = "sk-test"
# Env vars a caller (e.g. the repo's autouse conftest) may want forwarded to the CLI.
FORWARDED = ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME", "QWEN_HOME", "XDG_CONFIG_HOME",
             "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")

_REPO = Path(__file__).resolve().parents[2]


class OfflineCli(NamedTuple):
    """How to run one CLI offline: unpack as ``argv, env = offline_cli(...)``."""

    argv: list[str]
    env: dict[str, str]


def agent_cli_dir() -> Path:
    """Where ``make agent-clis`` installs the CLIs."""
    return Path(os.environ.get("AGENT_CLI_DIR") or _REPO / ".cache" / "agent-clis")


def find_cli(name: str) -> Path | None:
    """Path of the installed CLI executable, or None."""
    exe = agent_cli_dir() / name / "node_modules" / ".bin" / name
    return exe if exe.is_file() and os.access(exe, os.X_OK) else None


def require_cli(name: str) -> Path:
    """The CLI path; pytest-skip loudly if npm is absent, pytest-fail if just not installed."""
    import pytest

    exe = find_cli(name)
    if exe is not None:
        return exe
    if shutil.which("npm") is None:
        pytest.skip(f"!!! REAL-CLI TEST SKIPPED: npm is not on PATH, so the real {name} CLI "
                    f"cannot be installed. Install Node.js/npm and run `make agent-clis`. !!!")
    pytest.fail(f"real {name} CLI not found under {agent_cli_dir()} although npm is "
                f"available: run `make agent-clis` (AGENT_CLI_DIR={agent_cli_dir()})")


def _base_env(exe: Path, home: Path, inherit: Mapping[str, str] | None) -> dict[str, str]:
    node = shutil.which("node")
    path = [str(exe.parent)] + ([str(Path(node).parent)] if node else [])
    path += ["/usr/local/bin", "/usr/bin", "/bin"]
    tmp = home / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env = {"PATH": os.pathsep.join(dict.fromkeys(path)), "HOME": str(home),
           "TMPDIR": str(tmp), "LANG": "C.UTF-8", "USER": "test", "SHELL": "/bin/bash"}
    for key in FORWARDED:
        if inherit and inherit.get(key):
            env[key] = inherit[key]
    return env


def claude_env(api_url: str, exe: Path, home: Path,
               inherit: Mapping[str, str] | None = None) -> dict[str, str]:
    """Env for Claude Code: base URL, test key, no nonessential traffic, no retries."""
    return {**_base_env(exe, home, inherit),
            "ANTHROPIC_BASE_URL": api_url, "ANTHROPIC_API_KEY": API_KEY,
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "CLAUDE_CODE_MAX_RETRIES": "0",
            "DISABLE_AUTOUPDATER": "1"}


def gemini_env(api_url: str, exe: Path, home: Path,
               inherit: Mapping[str, str] | None = None) -> dict[str, str]:
    """Env for Gemini CLI; writes ``$GEMINI_CLI_HOME|home/.gemini/settings.json`` (merged):
    gemini-api-key auth, no usage statistics/telemetry/auto-update, ``maxAttempts: 1`` and
    ``model.name`` (so no model-router side call even without ``-m``)."""
    env = _base_env(exe, home, inherit)
    settings_path = Path(env.get("GEMINI_CLI_HOME") or home) / ".gemini" / "settings.json"
    settings_path.parent.mkdir(parents=True, exist_ok=True)
    settings = json.loads(settings_path.read_text()) if settings_path.exists() else {}
    settings.update({
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "privacy": {"usageStatisticsEnabled": False},
        "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False,
                    "maxAttempts": 1},
        "telemetry": {"enabled": False},
        "model": {"name": MODELS["gemini"]},
    })
    settings_path.write_text(json.dumps(settings, indent=2))
    return {**env,
            "GOOGLE_GEMINI_BASE_URL": api_url, "GEMINI_API_KEY": "test-key",
            "GEMINI_CLI_TRUST_WORKSPACE": "true", "GEMINI_CLI_NO_RELAUNCH": "true",
            "TERM": "xterm-256color", "COLORTERM": "truecolor"}


CODEX_CONFIG = """\
model = "{model}"
model_provider = "fake"
check_for_update_on_startup = false

[analytics]
enabled = false

[otel]
exporter = "none"
metrics_exporter = "none"

[features]
plugins = false
remote_plugin = false
apps = false
unbounded_connection_retries = false

[model_providers.fake]
name = "Fake"
base_url = "{api_url}/v1"
env_key = "FAKE_OPENAI_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
"""


def codex_env(api_url: str, exe: Path, home: Path,
              inherit: Mapping[str, str] | None = None) -> dict[str, str]:
    """Env for Codex; writes ``$CODEX_HOME/config.toml`` (CODEX_HOME defaults to home/.codex)."""
    env = _base_env(exe, home, inherit)
    codex_home = Path(env.get("CODEX_HOME") or home / ".codex")
    codex_home.mkdir(parents=True, exist_ok=True)
    (codex_home / "config.toml").write_text(
        CODEX_CONFIG.format(model=MODELS["codex"], api_url=api_url))
    return {**env, "CODEX_HOME": str(codex_home), "FAKE_OPENAI_KEY": API_KEY}


def opencode_config(api_url: str) -> dict[str, object]:
    """OpenCode config (``OPENCODE_CONFIG_CONTENT``): the ``anthropic`` provider pointed at the
    fake, with its one model declared here (models.dev is never fetched) and priced at
    ``OPENCODE_PRICES``; no auto-update, no sharing."""
    provider, model = MODELS["opencode"].split("/", 1)
    return {
        "$schema": "https://opencode.ai/config.json", "autoupdate": False, "share": "disabled",
        "model": MODELS["opencode"], "small_model": MODELS["opencode"],
        "provider": {provider: {
            "npm": "@ai-sdk/anthropic", "name": "Fake Anthropic",
            "options": {"baseURL": f"{api_url}/v1", "apiKey": API_KEY},
            "models": {model: {"name": model, "cost": OPENCODE_PRICES,
                               "limit": {"context": 200000, "output": 8192}}}}},
    }


def opencode_env(api_url: str, exe: Path, home: Path,
                 inherit: Mapping[str, str] | None = None) -> dict[str, str]:
    """Env for OpenCode, offline: the config inline (``opencode_config``); no models.dev
    fetch, auto-update, default or external plugins, LSP downloads or sharing; npm offline
    against a registry on the fake (the CLI installs ``@opencode-ai/plugin`` into its config
    dir in the background otherwise: the seeded ``package.json``/lock/``node_modules`` make
    it see nothing to install); any other HTTP(S) goes to a dead proxy, so a network access
    fails fast instead of reaching out."""
    env = _base_env(exe, home, inherit)
    config_dir = Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "opencode"
    (config_dir / "node_modules").mkdir(parents=True, exist_ok=True)
    deps = {"@opencode-ai/plugin": "*"}
    (config_dir / "package.json").write_text(json.dumps({"dependencies": deps}))
    (config_dir / "package-lock.json").write_text(json.dumps(
        {"lockfileVersion": 3, "packages": {"": {"dependencies": deps}}}))
    return {**env,
            "OPENCODE_CONFIG_CONTENT": json.dumps(opencode_config(api_url)),
            "OPENCODE_DISABLE_MODELS_FETCH": "1", "OPENCODE_DISABLE_AUTOUPDATE": "1",
            "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1", "OPENCODE_PURE": "1",
            "OPENCODE_DISABLE_LSP_DOWNLOAD": "1", "OPENCODE_DISABLE_SHARE": "1",
            "npm_config_registry": f"{api_url}/__npm", "npm_config_offline": "true",
            "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
            "NO_PROXY": "127.0.0.1,localhost"}


def qwen_env(api_url: str, exe: Path, home: Path,
             inherit: Mapping[str, str] | None = None) -> dict[str, str]:
    """Env for Qwen Code; writes ``${QWEN_HOME:-home/.qwen}/settings.json`` (merged): OpenAI
    auth against ``api_url/v1`` (``OPENAI_BASE_URL``/``OPENAI_API_KEY``), no usage statistics,
    telemetry, auto-update or sleep inhibitor (D-Bus), no background memory extractor or
    "dream" agent (each would make requests of its own), ``model.name``, no retries inside the
    HTTP client (``generationConfig.maxRetries: 0``; its default multiplies every attempt).
    With these settings the only connection the CLI opens is to the fake API (checked with
    ``strace -e connect``). The chat loop's own retries of a 5xx cannot be lowered (7
    attempts with back-off, fixed in the CLI)."""
    env = _base_env(exe, home, inherit)
    settings_path = Path(env.get("QWEN_HOME") or home / ".qwen") / "settings.json"
    settings_path.parent.mkdir(parents=True, exist_ok=True)
    settings = json.loads(settings_path.read_text()) if settings_path.exists() else {}
    settings.update({
        "security": {"auth": {"selectedType": "openai"}},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "general": {"enableAutoUpdate": False, "preventSystemSleep": False},
        "memory": {"enableManagedAutoMemory": False, "enableManagedAutoDream": False},
        "model": {"name": MODELS["qwen"], "generationConfig": {"maxRetries": 0}},
    })
    settings_path.write_text(json.dumps(settings, indent=2))
    return {**env, "OPENAI_BASE_URL": api_url + "/v1", "OPENAI_API_KEY": API_KEY,
            "QWEN_CODE_NO_RELAUNCH": "true", "QWEN_CODE_SUPPRESS_YOLO_WARNING": "1"}


_ENV_BUILDERS = {"claude": claude_env, "gemini": gemini_env, "codex": codex_env,
                 "opencode": opencode_env, "qwen": qwen_env}


def offline_cli(name: str, api_url: str, home: Path, *, exe: Path | None = None,
                inherit: Mapping[str, str] | None = None) -> OfflineCli:
    """``(argv, env)`` to run CLI ``name`` offline against the fake at ``api_url``.

    ``inherit``: an environment (e.g. ``os.environ``) whose ``FORWARDED`` keys are copied.
    """
    exe = exe or find_cli(name)
    if exe is None:
        raise FileNotFoundError(f"{name} CLI not installed under {agent_cli_dir()}")
    home.mkdir(parents=True, exist_ok=True)
    return OfflineCli([str(exe)], _ENV_BUILDERS[name](api_url, exe, home, inherit))
