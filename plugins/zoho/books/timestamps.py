"""Zoho's timestamps: ``YYYY-MM-DDTHH:MM:SS+HHMM`` (also ``+HH:MM`` and ``Z``; docs/ZOHO_API.md §6.1).

One reader for every caller: the client (``modified_since`` given as text) and the record readers of
``zoho.sync.records`` (``last_modified_time`` of every record, so it must be fast:
``datetime.fromisoformat``, in C, reads Zoho's form in about 1 µs; ``strptime`` stays as the fallback
for what only it accepts, e.g. ``T7:08:50``).
"""
from __future__ import annotations

from datetime import datetime, timezone

ZOHO_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def parse_timestamp(value: str, *, assume_utc: bool = False) -> datetime:
    """Parse Zoho's ``YYYY-MM-DDTHH:MM:SS+HHMM`` (also ``+HH:MM`` and ``Z``) into an aware datetime,
    in the offset it was written with.

    Raises ``ValueError`` when the text is not a timestamp; a value without an offset is refused
    too, unless ``assume_utc`` (then it is read as UTC).
    """
    s = (value or "").strip()
    if s.endswith("Z"):
        s = s[:-1] + "+0000"
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        dt = datetime.strptime(s, ZOHO_FORMAT)
    if dt.tzinfo is None:
        if not assume_utc:
            raise ValueError(f"timestamp without a UTC offset: {s[:40]!r}")
        dt = dt.replace(tzinfo=timezone.utc)
    return dt


def format_timestamp(value: datetime | str) -> str:
    """Format for Zoho's ``last_modified_time`` filter: ``YYYY-MM-DDTHH:MM:SS+HHMM``.

    A naive datetime (or a string without an offset) is taken as UTC, never left ambiguous.
    requests URL-encodes the ``+`` as ``%2B``.
    """
    if isinstance(value, str):
        value = parse_timestamp(value, assume_utc=True)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.replace(microsecond=0).strftime(ZOHO_FORMAT)


def epoch_to_utc(epoch: float | None) -> datetime | None:
    """Seconds since the epoch (e.g. when the daily budget resets) as an aware UTC datetime."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc) if epoch is not None else None
