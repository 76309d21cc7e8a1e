"""UTC timestamps as stored everywhere: ISO-8601 with milliseconds and a ``Z`` suffix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def now_iso() -> str:
    return format_iso(datetime.now(UTC))


def format_iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: object) -> datetime | None:
    """Parse a stored timestamp; ``None`` for anything that is not a usable date."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        # OverflowError: a valid date whose UTC equivalent falls outside years 1-9999
        # (0001-01-01T00:00:00+01:00); no use as a timestamp either.
        return None


def within_days(value: object, days: float, now: datetime | None = None) -> bool:
    """True if ``value`` is a timestamp less than ``days`` days before ``now``.

    The one test of "used recently": ``export --active`` keeps, and ``clean`` (when it
    lists and again under the session's locks) spares, exactly these sessions.
    """
    moment = parse_iso(value)
    return moment is not None and (now or datetime.now(UTC)) - moment < timedelta(days=days)


def day_of(value: object) -> str | None:
    moment = parse_iso(value)
    return moment.strftime("%Y-%m-%d") if moment else None


def local_text(moment: datetime | None, now: datetime | None = None) -> str:
    """An event's local time for people: ``21:03:15`` today, ``2026-11-30 21:03`` on other
    days, ``-`` for none. Exact ISO times belong in ``--json`` only."""
    if moment is None:
        return "-"
    local = moment.astimezone()
    today = (now or datetime.now(UTC)).astimezone().date()
    return local.strftime("%H:%M:%S") if local.date() == today else local.strftime("%Y-%m-%d %H:%M")
