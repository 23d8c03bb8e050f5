"""Zoho Books API limits per organisation: rolling minute, daily budget, requests in flight.

Semantics (see README for which are assumptions):
- a request is admitted, then counts against both the rolling 60 s window and the daily budget;
  a request refused with 429 counts against neither;
- each organisation has a plan (docs/ZOHO_API.md §7): ``free`` 1,000 calls a day, ``standard``
  2,000, ``professional`` 5,000, ``premium`` / ``elite`` / ``ultimate`` 10,000, or an explicit daily
  limit; an organisation without a plan gets the shared default (``daily``). The Free plan also
  caps requests in flight at 5 (paid plans: the ``max_concurrent`` knob, 10 by default);
- the daily budget resets at midnight in the organisation's time zone; ``X-Rate-Limit-*`` headers
  describe it (limit, remaining, seconds until the reset);
- ``end_day`` starts the organisation's next Zoho day at once, without moving the sandbox clock: the
  reset moment ahead is skipped and the new day lasts until the next one (the local midnight after
  it), so ``X-Rate-Limit-Reset`` grows by a day and a client sees a new period; ended days (by the
  clock or by ``end_day``) are kept in a per-organisation history;
- other integrations can spend from the same budget (``spend_daily``);
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

# docs/ZOHO_API.md §7: daily requests per organisation, by plan
PLANS = {"free": 1000, "standard": 2000, "professional": 5000, "premium": 10000, "elite": 10000,
         "ultimate": 10000}
FREE_MAX_CONCURRENT = 5  # §7: "5 on the Free plan, 10 on paid plans"


def normalize_plan(plan) -> str | int | None:
    """A plan name (any case), a positive daily limit (int or digits), or None (no plan of its own)."""
    if plan is None:
        return None
    if isinstance(plan, int) and not isinstance(plan, bool):
        limit = plan
    elif isinstance(plan, str) and plan.strip().lower() in PLANS:
        return plan.strip().lower()
    elif isinstance(plan, str) and plan.strip().isdigit():
        limit = int(plan.strip())
    else:
        raise ValueError(f"invalid plan {plan!r}: one of {', '.join(PLANS)} or a positive daily limit")
    if limit <= 0:
        raise ValueError(f"invalid plan {plan!r}: a daily limit must be positive")
    return limit


@dataclass
class Rejection:
    code: int
    message: str
    retry_after: int  # seconds, for the optional Retry-After header


def rejection(code: int, daily_limit: int | None = None, retry_after: int = 1) -> Rejection:
    message = {44: MSG_44, 45: MSG_45.format(limit=daily_limit or 1000), 1070: MSG_1070}[code]
    return Rejection(code, message, max(1, int(retry_after)))


class _OrgState:
    def __init__(self, today: int) -> None:
        self.window: deque = deque()
        self.number = 1  # of the current Zoho day
        self.ends = today + 1  # the current Zoho day ends at the org-local midnight that starts this date
        self.used_today = 0
        self.code_45 = 0  # code-45 answers today
        self.in_flight = 0
        self.history: list[dict] = []  # ended days


class RateLimits:
    def __init__(self, clock, formatters: dict[str, TimeFormatter], per_minute: int | None = 100,
                 daily: int | None = 1000, max_concurrent: int | None = 10, window: float = 60.0) -> None:
        self.clock = clock
        self.formatters = formatters
        self.per_minute = per_minute
        # length of the rolling window of the per-minute limit (Zoho: 60 s); tests may shrink it
        # to make the limit bind without waiting whole minutes
        self.window = float(window)
        self._daily = daily  # the default daily limit, for organisations without a plan
        self.max_concurrent = max_concurrent
        self.plans: dict[str, str | int] = {}
        self._lock = threading.Lock()
        now = self.clock.time()  # day 1 of every organisation starts now
        self._state: dict[str, _OrgState] = {k: _OrgState(f.local_ordinal(int(now))) for k, f in formatters.items()}

    # ---------------------------------------------------------------- limits per organisation
    @property
    def daily(self) -> int | None:
        return self._daily

    @daily.setter
    def daily(self, value: int | None) -> None:
        with self._lock:  # days that ended before the change keep the limit they had
            now = self.clock.time()
            for org_id in list(self._state):
                self._get(org_id, now)
            self._daily = value

    def daily_of(self, org_id: str) -> int | None:
        plan = self.plans.get(org_id)
        if plan is None:
            return self._daily
        return PLANS[plan] if isinstance(plan, str) else plan

    def concurrent_of(self, org_id: str) -> int | None:
        if self.max_concurrent is None:
            return None
        if self.plans.get(org_id) == "free":
            return min(self.max_concurrent, FREE_MAX_CONCURRENT)
        return self.max_concurrent

    def set_plan(self, org_id: str, plan) -> str | int | None:
        plan = normalize_plan(plan)
        with self._lock:
            self._get(org_id, self.clock.time())  # a day that already ended keeps its limit
            if plan is None:
                self.plans.pop(org_id, None)
            else:
                self.plans[org_id] = plan
        return plan

    # ---------------------------------------------------------------- state
    def _get(self, org_id: str, now: float) -> _OrgState:
        st = self._state.get(org_id)
        if st is None:
            st = self._state[org_id] = _OrgState(self.formatters[org_id].local_ordinal(int(now)))
        today = self.formatters[org_id].local_ordinal(int(now))
        if today >= st.ends:  # the clock passed the reset moment
            limit = self.daily_of(org_id)
            self._next_day(st, limit)
            for _ in range(today - st.ends):  # whole days without a single call
                self._next_day(st, limit)
            st.ends = today + 1
        while st.window and st.window[0] <= now - self.window:
            st.window.popleft()
        return st

    @staticmethod
    def _today(st: _OrgState, limit: int | None) -> dict:
        return {"day": st.number, "calls": st.used_today, "limit": limit, "code_45": st.code_45}

    def _next_day(self, st: _OrgState, limit: int | None) -> None:
        st.history.append(self._today(st, limit))
        st.number += 1
        st.used_today = st.code_45 = 0

    def _reset_in(self, org_id: str, st: _OrgState, now: float) -> int:
        """Seconds until the current Zoho day of the organisation ends (at an org-local midnight)."""
        return max(1, int(self.formatters[org_id].local_to_epoch(st.ends, 0) - now))

    # ---------------------------------------------------------------- requests
    def acquire(self, org_id: str) -> Rejection | None:
        """Admit one request (count it, take an in-flight slot) or say why not."""
        with self._lock:
            now = self.clock.time()
            st = self._get(org_id, now)
            daily = self.daily_of(org_id)
            if daily is not None and st.used_today >= daily:
                return rejection(45, daily, self._reset_in(org_id, st, now))
            if self.per_minute is not None and len(st.window) >= self.per_minute:
                return rejection(44, retry_after=st.window[0] + self.window - now)
            concurrent = self.concurrent_of(org_id)
            if concurrent is not None and st.in_flight >= concurrent:
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

    def count_code_45(self, org_id: str) -> None:
        """The organisation was answered code 45 (the budget, or an injected ``daily_45`` fault)."""
        with self._lock:
            self._get(org_id, self.clock.time()).code_45 += 1

    def headers(self, org_id: str) -> dict:
        """``X-Rate-Limit-*``: the organisation's daily budget (none when it has no daily limit)."""
        with self._lock:
            daily = self.daily_of(org_id)
            if daily is None:
                return {}
            now = self.clock.time()
            st = self._get(org_id, now)
            return {"X-Rate-Limit-Limit": str(daily),
                    "X-Rate-Limit-Remaining": str(max(0, daily - st.used_today)),
                    "X-Rate-Limit-Reset": str(self._reset_in(org_id, st, now))}

    # ---------------------------------------------------------------- control
    def usage(self, org_id: str) -> dict:
        with self._lock:
            now = self.clock.time()
            st = self._get(org_id, now)
            daily = self.daily_of(org_id)
            return {"last_minute": len(st.window), "today": st.used_today, "in_flight": st.in_flight,
                    "code_45": st.code_45, "day": st.number, "plan": self.plans.get(org_id),
                    "limit": daily, "remaining": None if daily is None else max(0, daily - st.used_today),
                    "reset": self._reset_in(org_id, st, now)}

    def day_history(self, org_id: str) -> list[dict]:
        """Ended days, oldest first, then the current one: ``{day, calls, limit, code_45}``."""
        with self._lock:
            st = self._get(org_id, self.clock.time())
            return [dict(d) for d in st.history] + [self._today(st, self.daily_of(org_id))]

    def spend_daily(self, org_id: str, n: int) -> int:
        """Count ``n`` calls made by another integration against today's budget (at most what is
        left: Zoho would refuse the rest). Returns how many were counted."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a non-negative integer, not {n!r}")
        with self._lock:
            st = self._get(org_id, self.clock.time())
            daily = self.daily_of(org_id)
            if daily is not None:
                n = min(n, max(0, daily - st.used_today))
            st.used_today += n
            return n

    def end_day(self, org_id: str) -> int:
        """Start the organisation's next Zoho day now; returns its number."""
        with self._lock:
            st = self._get(org_id, self.clock.time())
            self._next_day(st, self.daily_of(org_id))
            st.ends += 1  # the reset moment after the one that was ahead
            return st.number

    def exhaust_daily(self, org_id: str) -> None:
        """Use up today's budget: every request gets code 45 until the day ends."""
        with self._lock:
            daily = self.daily_of(org_id)
            if daily is None:
                raise ValueError("the daily limit is switched off; use the 'daily_45' fault instead")
            st = self._get(org_id, self.clock.time())
            st.used_today = max(st.used_today, daily)

    def reset(self, org_id: str | None = None) -> None:
        """Forget the requests counted so far (the minute window and today's calls). The code-45
        count, the history of ended days and the plans stay."""
        with self._lock:
            for key in ([org_id] if org_id else list(self._state)):
                st = self._state.get(key)
                if st:
                    st.window.clear()
                    st.used_today = 0
