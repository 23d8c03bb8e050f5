"""Zoho Books API limits per organisation: rolling minute, daily budget, requests in flight.

Semantics (see README for which are assumptions):
- a request is admitted, then counts against both the rolling 60 s window and the daily budget;
  a request refused with 429 counts against neither;
- the daily budget resets at midnight in the organisation's time zone; ``X-Rate-Limit-*`` headers
  describe it (limit, remaining, seconds until the reset);
- checks run daily (45), then per minute (44), then in flight (1070).
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from .clock import TimeFormatter

MSG_44 = ("For security reasons your organization has been blocked as it have exceeded the maximum number of "
          "requests per minute that can originate from an organization.")
MSG_45 = "The API call for this organization has exceeded the maximum call rate limit of {limit}."
MSG_1070 = "You have reached the maximum number of in process requests allowed. Kindly try again after some time."


@dataclass
class Rejection:
    code: int
    message: str
    retry_after: int  # seconds, for the optional Retry-After header


def rejection(code: int, daily_limit: int | None = None, retry_after: int = 1) -> Rejection:
    message = {44: MSG_44, 45: MSG_45.format(limit=daily_limit or 1000), 1070: MSG_1070}[code]
    return Rejection(code, message, max(1, int(retry_after)))


class _OrgState:
    def __init__(self) -> None:
        self.window: deque = deque()
        self.day = None
        self.used_today = 0
        self.in_flight = 0


class RateLimits:
    def __init__(self, clock, formatters: dict[str, TimeFormatter], per_minute: int | None = 100,
                 daily: int | None = 1000, max_concurrent: int | None = 10, window: float = 60.0) -> None:
        self.clock = clock
        self.formatters = formatters
        self.per_minute = per_minute
        # length of the rolling window of the per-minute limit (Zoho: 60 s); tests may shrink it
        # to make the limit bind without waiting whole minutes
        self.window = float(window)
        self.daily = daily
        self.max_concurrent = max_concurrent
        self._lock = threading.Lock()
        self._state: dict[str, _OrgState] = {}

    def _get(self, org_id: str, now: float) -> _OrgState:
        st = self._state.setdefault(org_id, _OrgState())
        day = self.formatters[org_id].local_ordinal(int(now))
        if st.day != day:
            st.day, st.used_today = day, 0
        while st.window and st.window[0] <= now - self.window:
            st.window.popleft()
        return st

    def acquire(self, org_id: str) -> Rejection | None:
        """Admit one request (count it, take an in-flight slot) or say why not."""
        with self._lock:
            now = self.clock.time()
            st = self._get(org_id, now)
            if self.daily is not None and st.used_today >= self.daily:
                return rejection(45, self.daily, self.formatters[org_id].seconds_to_local_midnight(now))
            if self.per_minute is not None and len(st.window) >= self.per_minute:
                return rejection(44, retry_after=st.window[0] + self.window - now)
            if self.max_concurrent is not None and st.in_flight >= self.max_concurrent:
                return rejection(1070)
            st.window.append(now)
            st.used_today += 1
            st.in_flight += 1
            return None

    def release(self, org_id: str) -> None:
        with self._lock:
            st = self._state.get(org_id)
            if st and st.in_flight > 0:
                st.in_flight -= 1

    def headers(self, org_id: str) -> dict:
        """``X-Rate-Limit-*``: the daily budget (none when the daily limit is switched off)."""
        if self.daily is None:
            return {}
        with self._lock:
            now = self.clock.time()
            st = self._get(org_id, now)
            return {"X-Rate-Limit-Limit": str(self.daily),
                    "X-Rate-Limit-Remaining": str(max(0, self.daily - st.used_today)),
                    "X-Rate-Limit-Reset": str(self.formatters[org_id].seconds_to_local_midnight(now))}

    def usage(self, org_id: str) -> dict:
        with self._lock:
            st = self._get(org_id, self.clock.time())
            return {"last_minute": len(st.window), "today": st.used_today, "in_flight": st.in_flight}

    def exhaust_daily(self, org_id: str) -> None:
        """Use up today's budget: every request gets code 45 until the org's local midnight."""
        if self.daily is None:
            raise ValueError("the daily limit is switched off; use the 'daily_45' fault instead")
        with self._lock:
            st = self._get(org_id, self.clock.time())
            st.used_today = max(st.used_today, self.daily)

    def reset(self, org_id: str | None = None) -> None:
        with self._lock:
            for key in ([org_id] if org_id else list(self._state)):
                st = self._state.get(key)
                if st:
                    st.window.clear()
                    st.used_today = 0
