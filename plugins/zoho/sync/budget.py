"""The API budget of one Zoho organisation, kept in the warehouse and shared by every run and worker.

Zoho allows an organisation 100 calls a minute and, per Zoho day, the plan's limit (1,000 to
10,000), shared with its other integrations (docs/ZOHO_API.md §7). The connection's ``extra`` says
how much of that this product may spend:

- ``daily_budget``: the most this product spends for the organisation per Zoho day (default: the
  plan's limit as ``X-Rate-Limit-Limit`` reports it; a budget above it is capped to it, with a
  warning);
- ``budget_reserve``: calls of that budget kept back for the day's incremental runs; a nightly sweep
  stops at ``daily_budget - budget_reserve``, incremental runs may spend all but the budget's last
  call (default: ``DEFAULT_RESERVE``, at most a fifth of the budget).

``WarehouseBudget`` is the gate the client asks before each request (``admit``) and tells what
Zoho's headers said after it (``observe``). Its state is the ledger ``zoho_sync.api_budget`` (one row
per organisation, locked for each decision) and ``zoho_sync.api_calls`` (the rolling minute), so two
runs and two workers of one organisation draw from one budget. A call is refused, with ``BudgetStop``
and without a request, when it would take the product's spend of the Zoho day above its share, or
when Zoho's ``X-Rate-Limit-Remaining`` is already 0 (another integration spent the day): the product
never provokes a code-45 answer it could foresee.

A sweep that starts with its share spent (an earlier run spent it) makes one call of the reserve, at
most one per run, and only while the whole budget is not spent (incremental runs leave its last call
for this): that call's headers tell whether Zoho's day has turned since. When even that call is
spent, the product waits for the reset moment Zoho last reported. A run never makes a call while Zoho's remaining calls are known to be 0 and
the known reset moment has not passed.

A new Zoho day is recognised from Zoho's headers, not from the product's clock alone: when
``X-Rate-Limit-Reset`` moves to a later moment (more than a minute later than the one known), when
``X-Rate-Limit-Remaining`` rises above what the ledger expects, or when the known reset moment has
passed. The product's spend of a new day starts at what Zoho counts as used (limit - remaining).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from zoho.books.errors import BudgetStop, ConfigurationError
from zoho.warehouse import connection as warehouse
from zoho.warehouse.sqlfiles import sql_files

load_sql = sql_files(__file__)
log = logging.getLogger(__name__)

DEFAULT_RESERVE = 150  # 48 incremental runs a day with few changes: two listing calls each, plus room
PURPOSES = ("sweep", "incremental")
NEW_RESET_SLACK = timedelta(seconds=60)
PROBE_CALLS = 1  # calls of the budget that only a sweep looking for a new Zoho day may spend  # a reset moment this much later than the known one is a new day


@dataclass(frozen=True)
class BudgetSettings:
    """The connection's budget fields, validated. ``None``: not set (the defaults apply)."""

    daily_budget: int | None = None
    budget_reserve: int | None = None

    def share(self, plan_limit: int | None, purpose: str) -> int | None:
        """The most calls of the Zoho day that a run of ``purpose`` may take (None: no limit known yet)."""
        budget = self.effective_budget(plan_limit)
        if budget is None:
            return None
        if purpose == "sweep":
            return budget - self.reserve(budget)
        return max(budget - PROBE_CALLS, 1)  # the last call is kept for a sweep's look at a new day

    def effective_budget(self, plan_limit: int | None) -> int | None:
        if self.daily_budget is None:
            return plan_limit
        return min(self.daily_budget, plan_limit) if plan_limit is not None else self.daily_budget

    def reserve(self, budget: int) -> int:
        if self.budget_reserve is not None:
            return min(self.budget_reserve, max(budget - 1, 0))
        return min(DEFAULT_RESERVE, budget // 5)


def _whole_number(extra: Mapping[str, Any], field: str, tenant: str) -> int | None:
    value = extra.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ConfigurationError(f"connection extra {field!r} must be a whole number of API calls, not {value!r}",
                                 tenant=tenant, endpoint="configuration")
    try:
        number = int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"connection extra {field!r} must be a whole number of API calls, not {value!r}",
                                 tenant=tenant, endpoint="configuration") from None
    if number < 0:
        raise ConfigurationError(f"connection extra {field!r} must not be negative ({number})",
                                 tenant=tenant, endpoint="configuration")
    return number


def budget_settings(extra: Mapping[str, Any] | None, tenant: str) -> BudgetSettings:
    """``daily_budget`` and ``budget_reserve`` from a Zoho connection's ``extra``; a bad value is a
    ``ConfigurationError`` naming the tenant and the field (it stops that tenant only)."""
    extra = extra or {}
    budget = _whole_number(extra, "daily_budget", tenant)
    reserve = _whole_number(extra, "budget_reserve", tenant)
    if budget is not None and budget == 0:
        raise ConfigurationError("connection extra 'daily_budget' must be at least 1", tenant=tenant,
                                 endpoint="configuration")
    if budget is not None and reserve is not None and reserve >= budget:
        raise ConfigurationError(
            f"connection extra 'budget_reserve' ({reserve}) must be below 'daily_budget' ({budget}): the nightly "
            "sweep would have no calls at all", tenant=tenant, endpoint="configuration")
    return BudgetSettings(budget, reserve)


def org_key(api_base_url: str, organization_id: str) -> str:
    """The ledger's key of an organisation: the same organisation behind two connections shares it."""
    return f"{api_base_url.rstrip('/')}|{organization_id}"


class WarehouseBudget:
    """The budget gate of one run for one organisation (thread-safe: the persons lookups share it)."""

    def __init__(self, uri: str, key: str, *, tenant: str, settings: BudgetSettings, purpose: str,
                 per_minute: int, window_seconds: float = 60.0,
                 sleep: Callable[[float], object] = time.sleep) -> None:
        if purpose not in PURPOSES:
            raise ValueError(f"purpose must be one of {PURPOSES}, not {purpose!r}")
        self.key, self.tenant, self.settings, self.purpose = key, tenant, settings, purpose
        self.per_minute, self.window = int(per_minute), float(window_seconds)
        self._sleep = sleep
        self._lock = threading.Lock()
        self._conn = warehouse.connect(uri, autocommit=True)
        self._conn.execute(load_sql("budget_ensure"), {"org_key": key, "user_id": tenant})
        self.admitted = 0
        self.stopped: BudgetStop | None = None
        self._capped_warned = False
        self._probed = False  # a sweep past its share has used its one call to look for a new Zoho day

    def close(self) -> None:
        with self._lock:
            if not self._conn.closed:
                try:
                    self._conn.close()
                except psycopg.Error:  # a dead session closes anyway
                    pass

    # ------------------------------------------------------------------ the gate
    def admit(self, endpoint: str) -> None:
        """Count one call against the organisation's minute and day, waiting for the minute window
        when it is full; ``BudgetStop`` (no call made) when the day's share is spent."""
        while True:
            with self._lock:
                wait = self._try_admit(endpoint)
            if wait is None:
                return
            self._sleep(wait)

    def _try_admit(self, endpoint: str) -> float | None:
        with self._conn.transaction():
            cur = self._conn.cursor(row_factory=dict_row)
            row = cur.execute(load_sql("budget_lock"), {"org_key": self.key, "window": self.window}).fetchone()
            now = row["now"]
            if row["resets_at"] is not None and now >= row["resets_at"]:
                row = {**row, **cur.execute(load_sql("budget_new_day"), {"org_key": self.key}).fetchone()}
                log.info("tenant %r: Zoho's day reset (its reset moment passed); the day's spend starts at 0",
                         self.tenant)
            share = self.settings.share(row["plan_limit"], self.purpose)
            self._warn_if_capped(row["plan_limit"])
            if row["zoho_remaining"] is not None and row["zoho_remaining"] <= 0:
                raise self._stop(cur, "zoho_budget_exhausted", row,
                                 "Zoho reports the organisation's daily API budget spent (X-Rate-Limit-Remaining 0), "
                                 "by this product or another integration; no request made")
            budget = self.settings.effective_budget(row["plan_limit"])
            if share is not None and row["spent_today"] >= share:
                if (self.purpose == "sweep" and not self._probed and self.admitted == 0
                        and row["spent_today"] < (budget or 0)):
                    # One call of the reserve asks Zoho whether its day has turned: a new day shows in
                    # the answer's headers (observe), and the ledger then starts the day at 0.
                    self._probed = True
                    log.info("tenant %r: the sweep's share of the Zoho day is spent (%d of %d calls); one call of "
                             "the reserve checks whether Zoho's day has turned", self.tenant, row["spent_today"], share)
                else:
                    reason = "sweep_share_spent" if self.purpose == "sweep" else "budget_spent"
                    raise self._stop(cur, reason, row,
                                     f"this product's share of the organisation's Zoho day is spent "
                                     f"({row['spent_today']} of {share} calls for a {self.purpose} run); "
                                     "no request made")
            if row["window_calls"] >= self.per_minute:
                return max(0.05, (row["window_oldest"] + timedelta(seconds=self.window) - now).total_seconds())
            cur.execute(load_sql("budget_take"), {"org_key": self.key, "purpose": self.purpose,
                                                   "window": self.window * 2})
        self.admitted += 1
        return None

    def _stop(self, cur: psycopg.Cursor, reason: str, row: dict, detail: str) -> BudgetStop:
        cur.execute(load_sql("budget_stopped"), {"org_key": self.key, "reason": reason})
        self.stopped = BudgetStop(detail, reason=reason, resets_at=row["resets_at"], tenant=self.tenant,
                                  endpoint="budget")
        return self.stopped

    def _warn_if_capped(self, plan_limit: int | None) -> None:
        budget = self.settings.daily_budget
        if budget is not None and plan_limit is not None and budget > plan_limit and not self._capped_warned:
            self._capped_warned = True
            log.warning("tenant %r: daily_budget %d is above the organisation's plan limit of %d calls a day "
                        "(X-Rate-Limit-Limit); using %d", self.tenant, budget, plan_limit, plan_limit)

    # ------------------------------------------------------------------ what Zoho said
    def observe(self, limit: int | None, remaining: int | None, reset_seconds: float | None) -> None:
        """The ``X-Rate-Limit-*`` headers of an answer: the plan's limit, the day's remaining calls,
        and the seconds until the day resets (a later moment than the known one is a new day)."""
        if remaining is None:
            return
        with self._lock, self._conn.transaction():
            cur = self._conn.cursor(row_factory=dict_row)
            row = cur.execute(load_sql("budget_observe"), {
                "org_key": self.key, "limit": limit, "remaining": remaining, "reset_seconds": reset_seconds,
                "slack": NEW_RESET_SLACK}).fetchone()
            if row["new_day"]:
                log.info("tenant %r: a new Zoho day (X-Rate-Limit-Remaining %s of %s); the day's spend restarts",
                         self.tenant, remaining, limit)

    def exhausted(self, reset_seconds: float | None) -> None:
        """Zoho answered code 45: the organisation's day is spent (by someone)."""
        self.observe(None, 0, reset_seconds)
        with self._lock:
            self._conn.execute(load_sql("budget_stopped"), {"org_key": self.key, "reason": "zoho_budget_exhausted"})

    def status(self) -> dict[str, Any]:
        """The ledger row, for logs and ``make verify``."""
        with self._lock:
            row = self._conn.execute(load_sql("budget_status"), {"org_key": self.key}).fetchone()
        names = ("zoho_day", "plan_limit", "zoho_remaining", "resets_at", "spent_today", "stop_reason")
        status = dict(zip(names, row)) if row else {}
        if isinstance(status.get("resets_at"), datetime):
            status["resets_at"] = status["resets_at"].isoformat()
        share = self.settings.share(status.get("plan_limit"), self.purpose)
        return {**status, "share": share, "admitted_this_run": self.admitted}

    def record_applied(self, plan_limit: int | None) -> None:
        """Write the daily budget as this run applied it, and a sweep's share of it, for the planner."""
        with self._lock:
            self._conn.execute(load_sql("budget_settings"), {
                "org_key": self.key, "budget": self.settings.effective_budget(plan_limit),
                "sweep_share": self.settings.share(plan_limit, "sweep")})
