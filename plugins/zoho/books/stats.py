"""What one ``ZohoBooksClient`` did: calls per endpoint, retries, limiter waits, token refreshes,
duplicates dropped across pages, and the organisation's daily budget as Zoho last reported it."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class ClientStats:
    """What one client did. ``as_dict()`` is JSON-friendly (for ``sync_metadata`` / XCom)."""

    calls_by_endpoint: dict[str, int] = field(default_factory=dict)
    total_calls: int = 0
    retries: int = 0
    limiter_wait_seconds: float = 0.0
    token_refreshes: int = 0
    duplicates_dropped: int = 0
    daily_limit: int | None = None
    daily_remaining: int | None = None
    daily_resets_at: datetime | None = None
    server_time: datetime | None = None  # Zoho's clock: the ``Date`` header of the last answer

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["limiter_wait_seconds"] = round(self.limiter_wait_seconds, 3)
        d["daily_resets_at"] = self.daily_resets_at.isoformat(timespec="seconds") if self.daily_resets_at else None
        d["server_time"] = self.server_time.isoformat(timespec="seconds") if self.server_time else None
        return d
