"""Model names as the price data knows them: normalisation, aliases, providers.

- ``normalize_model(name)``: lower case, no ``[1m]``-style suffix, no provider prefix
  (``anthropic/``, ``models/``, ``openai:``, Bedrock ``us.anthropic.`` and ``-v1:0``), Vertex
  ``@20250929`` as ``-20250929``.
- Aliases (unless the backend's models are another provider's: under a backend declaring
  ``google`` or ``openai`` they stay unmatched): ``sonnet`` / ``opus`` / ``haiku`` map to the newest
  ``claude-<family>-<major>[-<minor>]`` model in the genai-prices data (found at run time; with
  0.2.3 that is claude-sonnet-5-5, claude-opus-5-5 and claude-haiku-5-5). A CLI resolves an
  alias with its own table, so prefer the model id the CLI reports.
- ``resolve(agent, model, provider=, notional=)``: the provider the caller read from the
  backend's declaration (``agents.base.Capabilities.provider``; accounting keeps no table of
  agents) picks the price list; without one it is inferred from the name. A notional backend
  (the demo) and ``scripted-<model>`` (looked up as ``<model>``) get a note saying the cost is
  notional. ``provider_for_model`` infers the provider of a model name (aliases are
  Anthropic's).

Only an alias lookup imports genai-prices (lazily); everything else is string work.
"""

from __future__ import annotations

import re
from functools import cache

SCRIPTED_PREFIX = "scripted-"
ALIASES: tuple[str, ...] = ("sonnet", "opus", "haiku")

_BRACKET_SUFFIX = re.compile(r"(?:\[[^\]]*\])+$")
_COLON_PREFIX = re.compile(
    r"^(?:anthropic|openai|google(?:-gla|-vertex)?|gemini|vertex(?:_ai)?|bedrock|azure|openrouter):"
)
_BEDROCK_PREFIX = re.compile(r"^(?:[a-z]{2,6}(?:-[a-z]+)?\.)?(?:anthropic|openai|google)\.")
_BEDROCK_VERSION = re.compile(r"-v\d+(?::\d+)?$")
_VERTEX_DATE = re.compile(r"@(\d{8})$")


def normalize_model(name: str, *, aliases: bool = True) -> str:
    """The model id genai-prices should match: lower case, no ``[1m]``-style suffix, no
    provider prefix (``anthropic/``, ``models/``, ``openai:``, Bedrock ``us.anthropic.`` and
    ``-v1:0``), Vertex ``@20250929`` as ``-20250929``, and ``sonnet``/``opus``/``haiku`` mapped
    to the newest such Claude model in the data (unless ``aliases=False``). ``scripted-`` is
    kept (see ``price_usage``)."""
    n = _BRACKET_SUFFIX.sub("", name.strip().lower())
    n = n.rsplit("/", 1)[-1]
    n = _COLON_PREFIX.sub("", n)
    n = _BEDROCK_PREFIX.sub("", n)
    if n.startswith("claude"):
        n = _BEDROCK_VERSION.sub("", n)
        n = _VERTEX_DATE.sub(r"-\1", n).split("@", 1)[0]
    if aliases and n in ALIASES:
        n = _alias_target(n) or n
    return n


@cache
def _alias_target(family: str) -> str | None:
    try:
        from genai_prices.data_snapshot import get_snapshot
    except ImportError:
        return None
    pattern = re.compile(rf"^claude-{re.escape(family)}-(\d+)(?:-(\d+))?$")
    best: tuple[tuple[int, int], str] | None = None
    for provider in get_snapshot().providers:
        if provider.id != "anthropic":
            continue
        for model in provider.models:
            match = pattern.match(model.id)
            if match is None or model.deprecated:
                continue
            version = (int(match.group(1)), int(match.group(2) or 0))
            if best is None or version > best[0]:
                best = (version, model.id)
    return best[1] if best else None


def _infer_provider(name: str) -> str | None:
    if name.startswith("claude"):
        return "anthropic"
    if name.startswith(("gemini", "gemma")):
        return "google"
    if name.startswith(("gpt-", "chatgpt", "codex", "o1", "o3", "o4")):
        return "openai"
    return None  # let genai-prices match the name against every provider


def provider_for_model(model: str) -> str | None:
    """The provider whose models ``model`` names (anthropic for ``sonnet``/``opus``/``haiku``
    and ``claude-*``, google for ``gemini-*``, openai for ``gpt-*``/``o3``/…), else None."""
    name = _BRACKET_SUFFIX.sub("", model.strip().lower()).rsplit("/", 1)[-1]
    name = _BEDROCK_PREFIX.sub("", _COLON_PREFIX.sub("", name))
    return "anthropic" if name in ALIASES else _infer_provider(name)


def resolve(
    agent: str | None, model: str, *, provider: str | None = None, notional: bool = False
) -> tuple[str, str | None, list[str]]:
    """``(name to look up, provider id or None, notes)`` for ``model`` run by ``agent``, whose
    backend declares ``provider`` and ``notional`` (module docstring)."""
    raw = model.strip()
    scripted = raw.lower().startswith(SCRIPTED_PREFIX)
    # sonnet/opus/haiku are Anthropic's (Claude Code's) aliases: under another provider's
    # backend they name no model (Google's price list also carries Claude models, which must
    # not match).
    foreign = provider is not None and provider != "anthropic" and not scripted
    name = normalize_model(raw[len(SCRIPTED_PREFIX) :] if scripted else raw, aliases=not foreign)
    notes: list[str] = []
    if foreign and name in ALIASES:
        notes.append(f"{name!r} is a Claude Code alias, not a model {agent or provider} runs")
    if scripted or notional:
        notes.append(f"scripted demo model: notional cost, priced as {name}")
    if provider is None or scripted:
        provider = _infer_provider(name)
    return name, provider, notes
