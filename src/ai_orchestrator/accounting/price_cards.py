"""Rate cards: what ``pricing.price_usage`` needs from genai-prices for one (agent, model), on disk.

Why: importing genai-prices and its bundled data costs 0.2-0.4 s per process, while recording
one agent call may add at most 50 ms. A process that finds a valid card for the model prices
the call with ``Decimal`` arithmetic alone and never imports genai-prices.

Contract
--------
- A ``Card`` is built by ``pricing`` (the only module that reads genai-prices) for *current*
  prices and holds everything ``price_usage`` derives from the data: the notes and provider
  of the name resolution, the unpriced reason (or the matched model id, provider id and
  whether it is Anthropic), the long-context thresholds and, for each tier level (base, then
  above each threshold), the ``Rates`` (final, used, known, derived) as exact decimals.
  ``exact`` says genai-prices' total equals rate x tokens for this model (no per-request fee
  or other unit our usage incurs); ``daily`` says its prices cannot change within a UTC day
  (no time-of-day prices). Only a card with both (``usable``) may replace genai-prices.
- File: ``$XDG_CACHE_HOME/ai-orchestrator/price-cards.json`` (default ``~/.cache/...``), one
  JSON object ``{"format", "stamp", "date", "cards": {key: card}}`` keyed by
  ``card_key(agent, model)`` (the raw names, so aliases resolve without genai-prices).
  Decimals are stored as their exact strings.
- Validity: the whole file belongs to one ``data_stamp()`` and one UTC date (``today()``).
  A different stamp or date, a corrupt, unreadable or oddly shaped file, or a card that does
  not parse exactly counts as "no card": the caller prices with genai-prices and stores a new
  card. Cards therefore expire daily, which is when dated price changes can take effect.
- ``data_stamp()`` does not import genai-prices: it locates the package with
  ``importlib.util.find_spec``, and joins the package path, the version in the name of its
  ``.dist-info`` directory, the size and mtime of its data and pricing modules, and the size
  and mtime of ``pricing.py``, ``model_names.py`` and this module (so an edited price rule
  invalidates cards).
  ``None`` (genai-prices not installed) disables the cache.
- ``store`` re-reads the file, adds the card (at most ``MAX_CARDS``, oldest dropped) and
  replaces the file with ``fsutil.atomic_write``. A cache that cannot be written only makes
  the next process slower; ``store`` never raises for that. Concurrent writers may drop each
  other's new cards (last rename wins); both files are valid.
- The context window the model data gives (agent, model) (``accounting.context_windows``)
  is cached the same way in ``context-windows.json`` (``load_window``/``store_window``): a
  resumed ``aio run`` checks it before every call, and must not import genai-prices for it.
- Import-light: stdlib only at import time (``json``, ``importlib.util`` and the store's
  ``fsutil`` are imported when first needed).
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, NamedTuple

from ai_orchestrator.core import env
from ai_orchestrator.core.errors import BadPriceCard
from ai_orchestrator.infra.fsutil import peek_bytes

FORMAT = 1
MAX_CARDS = 256
RATE_KEYS: tuple[str, ...] = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")
_STAMPED_FILES = (
    "__init__.py",
    "data.py",
    "data_snapshot.py",
    "types.py",
    "units.py",
    "data_units.py",
    "decompose.py",
)
# our price rules, and the window table cached beside them
_OWN_FILES = ("pricing.py", "price_cards.py", "model_names.py", "context_windows.py")
_DIST = "genai_prices"
_unwritable: set[str] = set()  # cache files this process failed to write


class Rates(NamedTuple):
    """Per-million rates of one tier level, keyed by ``RATE_KEYS``."""

    final: dict[str, Decimal]  # what we bill
    used: dict[str, Decimal]  # what genai-prices bills (parent-rate fallbacks)
    known: frozenset[str]  # buckets with a price in the data
    derived: frozenset[str]  # buckets derived from Anthropic's multipliers


class Card(NamedTuple):
    """What ``price_usage`` needs from genai-prices for one (agent, model) today."""

    notes: tuple[str, ...]  # from the name resolution (e.g. the scripted-model note)
    lookup_provider: str | None  # the provider asked for; an unpriced result's provider
    reason: str | None  # why the model is unpriced; None when priced
    model_ref: str | None
    provider: str | None  # the matched provider's id
    anthropic: bool
    thresholds: tuple[int, ...]  # ascending long-context thresholds (prompt tokens)
    levels: tuple[Rates, ...]  # base level, then one per threshold
    exact: bool  # genai-prices' total == sum(tokens x used rate) / 1e6
    daily: bool  # prices cannot change within a UTC day

    @property
    def usable(self) -> bool:
        """True when pricing from this card gives genai-prices' result."""
        return self.exact and self.daily


# --- where and for what data ----------------------------------------------------------------


def cache_file() -> str:
    """``$XDG_CACHE_HOME/ai-orchestrator/price-cards.json`` (default ``~/.cache/...``)."""
    return os.path.join(env.cache_dir(), "price-cards.json")


def today() -> str:
    """The UTC date the cards are valid for (``YYYY-MM-DD``)."""
    return datetime.now(UTC).date().isoformat()


def _file_stamp(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "-"
    return f"{st.st_size}:{st.st_mtime_ns}"


@cache
def data_stamp() -> str | None:
    """Identify the installed genai-prices data and our price rules without importing them."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(_DIST)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    package = os.fspath(next(iter(spec.submodule_search_locations)))
    version = "?"
    prefix = _DIST + "-"
    try:
        with os.scandir(os.path.dirname(package)) as entries:
            for entry in entries:
                if entry.name.startswith(prefix) and entry.name.endswith(".dist-info"):
                    version = entry.name[len(prefix) : -len(".dist-info")]
                    break
    except OSError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    parts = [f"format={FORMAT}", f"genai-prices={version}", package]
    parts += [f"{name}={_file_stamp(os.path.join(package, name))}" for name in _STAMPED_FILES]
    parts += [f"{name}={_file_stamp(os.path.join(here, name))}" for name in _OWN_FILES]
    return "|".join(parts)


def card_key(agent: str, model: str) -> str:
    """The cache key of (agent, model): both names exactly as given."""
    return f"{len(agent)}:{agent}:{model}"


def custom_snapshot_active() -> bool:
    """True when this process replaced genai-prices' bundled data (``UpdatePrices`` or
    ``set_custom_snapshot``): the stamp does not describe that data, so cards must not be used
    or stored. Never imports genai-prices."""
    module = sys.modules.get("genai_prices.data_snapshot")
    return module is not None and getattr(module, "_custom_snapshot", None) is not None


# --- (de)serialisation ------------------------------------------------------------------------


def _encode_rates(rates: Rates) -> dict[str, Any]:
    return {
        "final": {k: str(rates.final[k]) for k in RATE_KEYS},
        "used": {k: str(rates.used[k]) for k in RATE_KEYS},
        "known": sorted(rates.known),
        "derived": sorted(rates.derived),
    }


def encode_card(card: Card) -> dict[str, Any]:
    """The JSON form of ``card`` (decimals as exact strings)."""
    return {
        "notes": list(card.notes),
        "lookup_provider": card.lookup_provider,
        "reason": card.reason,
        "model_ref": card.model_ref,
        "provider": card.provider,
        "anthropic": card.anthropic,
        "thresholds": list(card.thresholds),
        "levels": [_encode_rates(level) for level in card.levels],
        "exact": card.exact,
        "daily": card.daily,
    }


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    raise BadPriceCard


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise BadPriceCard


def _decimal(value: object) -> Decimal:
    if not isinstance(value, str):
        raise BadPriceCard
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise BadPriceCard from None
    if not number.is_finite() or number < 0:
        raise BadPriceCard
    return number


def _keys(value: object) -> frozenset[str]:
    if not isinstance(value, list) or not all(k in RATE_KEYS for k in value):
        raise BadPriceCard
    return frozenset(value)


def _rates_map(value: object) -> dict[str, Decimal]:
    if not isinstance(value, dict) or set(value) != set(RATE_KEYS):
        raise BadPriceCard
    return {k: _decimal(value[k]) for k in RATE_KEYS}


def _decode_rates(value: object) -> Rates:
    if not isinstance(value, dict):
        raise BadPriceCard
    return Rates(
        _rates_map(value.get("final")),
        _rates_map(value.get("used")),
        _keys(value.get("known")),
        _keys(value.get("derived")),
    )


def decode_card(value: object) -> Card | None:
    """The card in ``value`` (JSON), or ``None`` unless every field has its exact shape."""
    try:
        if not isinstance(value, dict):
            raise BadPriceCard
        notes = value.get("notes")
        thresholds = value.get("thresholds")
        levels = value.get("levels")
        if not (isinstance(notes, list) and isinstance(thresholds, list)):
            raise BadPriceCard
        if not isinstance(levels, list):
            raise BadPriceCard
        if not all(type(t) is int and t >= 0 for t in thresholds):
            raise BadPriceCard
        if thresholds != sorted(set(thresholds)):  # strictly ascending
            raise BadPriceCard
        card = Card(
            notes=tuple(_text(n) for n in notes),
            lookup_provider=_optional_text(value.get("lookup_provider")),
            reason=_optional_text(value.get("reason")),
            model_ref=_optional_text(value.get("model_ref")),
            provider=_optional_text(value.get("provider")),
            anthropic=_bool(value.get("anthropic")),
            thresholds=tuple(thresholds),
            levels=tuple(_decode_rates(level) for level in levels),
            exact=_bool(value.get("exact")),
            daily=_bool(value.get("daily")),
        )
    except BadPriceCard:
        return None
    if card.reason is not None:
        return card if not card.levels and not card.thresholds else None
    if card.model_ref is None or card.provider is None:
        return None  # a priced card names its model and provider
    return card if len(card.levels) == len(card.thresholds) + 1 else None


# --- the file -----------------------------------------------------------------------------------


def _read(path: str) -> bytes | None:
    return peek_bytes(path)  # non-blocking, regular files only: a FIFO must not hang a call


def _current_cards(stamp: str, date: str, path: str | None = None) -> dict[str, Any]:
    """The ``cards`` object of the cache file (``path``, default ``cache_file()``) if it is for
    ``stamp`` and ``date``, else {}."""
    raw = _read(path or cache_file())
    if raw is None:
        return {}
    import json

    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return {}
    if data.get("stamp") != stamp or data.get("date") != date:
        return {}
    cards = data.get("cards")
    return cards if isinstance(cards, dict) else {}


def load(agent: str, model: str) -> Card | None:
    """The cached card for (agent, model) valid today for the installed data, or ``None``."""
    stamp = data_stamp()
    if stamp is None:
        return None
    return decode_card(_current_cards(stamp, today()).get(card_key(agent, model)))


def store(agent: str, model: str, card: Card, date: str) -> bool:
    """Add ``card`` to the cache file as valid on ``date``; ``False`` (and nothing raised) if it
    cannot be written. ``date`` must be ``today()`` taken *before* the lookup the card came
    from: a card looked up just after midnight is then filed under the day that ended (and
    never loaded again), never a day-old lookup under the new day."""
    return _store_entry(cache_file(), card_key(agent, model), encode_card(card), date)


def _store_entry(path: str, key: str, value: object, date: str) -> bool:
    """Add ``key: value`` to the ``cards`` of the cache file ``path`` (see ``store``)."""
    stamp = data_stamp()
    if stamp is None:
        return False
    import json
    from pathlib import Path

    from ai_orchestrator.core.errors import AioError
    from ai_orchestrator.infra.fsutil import DIR_MODE, atomic_write

    if path in _unwritable:
        return False
    cards = dict(_current_cards(stamp, date, path))
    cards.pop(key, None)
    while len(cards) >= MAX_CARDS:
        del cards[next(iter(cards))]
    cards[key] = value
    data = {"format": FORMAT, "stamp": stamp, "date": date, "cards": cards}
    try:
        os.makedirs(os.path.dirname(path), mode=DIR_MODE, exist_ok=True)
        atomic_write(Path(path), json.dumps(data, indent=1).encode())
    except (OSError, AioError):
        _unwritable.add(path)  # do not retry in this process
        return False
    return True


# --- context windows: the model data's window of (agent, model), in a file of its own --------


def windows_file() -> str:
    """``$XDG_CACHE_HOME/ai-orchestrator/context-windows.json``: same format, stamp and daily
    validity as the price cards; each entry ``{"window": int | null, "source": str}``."""
    return os.path.join(env.cache_dir(), "context-windows.json")


def load_window(agent: str, model: str) -> tuple[int | None, str] | None:
    """The cached ``(window, source)`` of (agent, model) today (``(None, why)`` when nothing
    knows it), or ``None`` when there is no valid entry or a custom price snapshot is active."""
    stamp = data_stamp()
    if stamp is None or custom_snapshot_active():
        return None
    entry = _current_cards(stamp, today(), windows_file()).get(card_key(agent, model))
    if not isinstance(entry, dict) or set(entry) != {"window", "source"}:
        return None
    window, source = entry["window"], entry["source"]
    if not isinstance(source, str):
        return None
    if window is not None and not (type(window) is int and window > 0):
        return None
    return window, source


def store_window(agent: str, model: str, window: int | None, source: str, date: str) -> bool:
    """File ``(window, source)`` for (agent, model) under ``date`` (taken before
    the lookup, as for ``store``); nothing is filed while a custom price snapshot is active."""
    if custom_snapshot_active():
        return False
    entry = {"window": window, "source": source}
    return _store_entry(windows_file(), card_key(agent, model), entry, date)
