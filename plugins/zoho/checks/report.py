"""The post-deployment verification report: figures per tenant, checked against the thresholds.

``verify(uri, thresholds, tenants)`` builds the ``Report`` that ``python -m zoho.checks.verify`` and
the ``verify_deployment`` task print: per tenant, customers with a phone, invoices without a
customer, reminders by status and reason, sync freshness, the API calls of the last sync against
the daily budget, and the budget planner's line (``zoho.checks.planner``: the nightly sweep's
progress and forecast; a warning, not a failure, when it is slow or will never complete). The
command's help, in ``zoho.checks.verify``, says what each figure measures. The SQL is in
``sql/verify/``; every figure is measured by the warehouse's clock.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from zoho.checks import planner
from zoho.checks.planner import SweepPlan
from zoho.checks.thresholds import ThresholdConfig, Thresholds
from zoho.warehouse import connection as warehouse
from zoho.warehouse.sqlfiles import sql_files

load_sql = sql_files(__file__)

ENTITIES = ("contacts", "invoices")
REQUIRED_TABLES = ("analytics.customers_cache", "analytics.invoices_cache", "analytics.payment_reminders",
                   "zoho_sync.sync_metadata")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str
    warning: bool = False  # passed, but the report says it loudly (the budget planner's forecast)

    @property
    def mark(self) -> str:
        return "FAIL" if not self.ok else "WARN" if self.warning else "ok  "


@dataclass
class EntitySync:
    entity: str
    last_mode: str | None
    status: str | None
    started_at: datetime | None
    finished_at: datetime | None
    last_full_sync_at: datetime | None
    api_calls: int
    person_calls: int
    missing_customers: int
    last_error: str | None
    hours_since_finished: float | None
    hours_since_started: float | None
    hours_since_full_sync: float | None


@dataclass
class TenantReport:
    user_id: str
    thresholds: Thresholds
    customers: int = 0
    customers_with_phone: int = 0
    invoices: int = 0
    invoices_without_customer: int = 0
    reminders: dict[tuple[str, str | None], int] = field(default_factory=dict)
    sync: dict[str, EntitySync] = field(default_factory=dict)
    planner: SweepPlan | None = None
    checks: list[Check] = field(default_factory=list)

    # ---------------------------------------------------------------- figures
    @property
    def phone_share(self) -> float | None:
        return self.customers_with_phone / self.customers if self.customers else None

    @property
    def invoices_without_customer_share(self) -> float | None:
        return self.invoices_without_customer / self.invoices if self.invoices else None

    @property
    def missing_in_zoho(self) -> int:
        """Invoices whose customer Zoho says does not exist (the invoices entity's last count)."""
        invoices = self.sync.get("invoices")
        return invoices.missing_customers if invoices else 0

    @property
    def first_sweep_in_progress(self) -> bool:
        """The tenant's first sweep has not completed yet (it spans nights when the budget is small)
        or, with no sweep recorded, no full sync has completed and the last one stopped for the API
        budget: the tenant is still converging (its figures are not yet the whole organisation's)."""
        if self.planner is not None and self.planner.sweep_generation >= 1:
            return self.planner.sweep_generation == 1 and self.planner.sweep_phase != "complete"
        return self.hours_since_full_sync is None and any(s.status == "stopped" for s in self.sync.values())

    @property
    def hours_since_sync(self) -> float | None:
        """Hours since the oldest entity's last finished sync (None unless all finished; a run the
        API budget stopped counts as finished)."""
        ages = [s.hours_since_finished for s in self.sync.values() if s.status in ("success", "stopped")]
        if len(ages) < len(ENTITIES) or any(a is None for a in ages):
            return None
        return max(ages)

    @property
    def hours_since_full_sync(self) -> float | None:
        ages = [s.hours_since_full_sync for s in self.sync.values()]
        if len(ages) < len(ENTITIES) or any(a is None for a in ages):
            return None
        return max(ages)

    @property
    def api_calls(self) -> int:
        return sum(s.api_calls for s in self.sync.values())

    @property
    def budget_share(self) -> float:
        return self.api_calls / self.thresholds.daily_api_budget

    @property
    def reminder_totals(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (status, _reason), n in sorted(self.reminders.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            out[status] = out.get(status, 0) + n
        return out

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.warning]

    # ---------------------------------------------------------------- checks
    def evaluate(self) -> None:
        t = self.thresholds
        checks: list[Check] = []
        converging = self.first_sweep_in_progress
        if converging:
            checks.append(Check("first_sweep", True, "the first full sweep is in progress (stopped for the API "
                                "budget; it resumes on the next run): the shares below are checked once it completes"))
        if t.min_phone_share is not None and not converging:
            share = self.phone_share
            if share is None:
                checks.append(Check("min_phone_share", True, "no live customers: phone share not checked"))
            else:
                checks.append(Check("min_phone_share", share >= t.min_phone_share,
                                    f"customers with a primary phone {_pct(share)} "
                                    f"{'>=' if share >= t.min_phone_share else '<'} minimum {_pct(t.min_phone_share)}"))
        if t.max_invoices_without_customer_share is not None and not converging:
            share = self.invoices_without_customer_share
            if share is None:
                checks.append(Check("max_invoices_without_customer_share", True,
                                    "no live invoices: invoices without a customer not checked"))
            else:
                limit = t.max_invoices_without_customer_share
                checks.append(Check("max_invoices_without_customer_share", share <= limit,
                                    f"invoices without a customer {_pct(share)} "
                                    f"{'<=' if share <= limit else '>'} maximum {_pct(limit)}"))
        if t.max_hours_since_sync is not None:
            checks.append(self._freshness_check(t.max_hours_since_sync))
        if t.max_hours_since_full_sync is not None:
            age, limit = self.hours_since_full_sync, t.max_hours_since_full_sync
            if age is None and converging:
                checks.append(Check("max_hours_since_full_sync", True,
                                    "no full sync has completed yet: the first sweep is in progress; deletions are "
                                    "detected once it completes"))
            elif age is None:
                never = [e for e in ENTITIES if e not in self.sync or self.sync[e].last_full_sync_at is None]
                checks.append(Check("max_hours_since_full_sync", False,
                                    f"no full (nightly) sync has completed for {', '.join(never)}: deletions "
                                    "are not detected until zoho_sync_nightly succeeds"))
            else:
                checks.append(Check("max_hours_since_full_sync", age <= limit,
                                    f"last full sync {_hours(age)} ago {'<=' if age <= limit else '>'} "
                                    f"maximum {_hours(limit)}"))
        if t.max_budget_share is not None and self.planner is not None and self.planner.effective_budget:
            p = self.planner
            checks.append(Check("max_budget_share", True,
                                f"the organisation's daily budget is enforced by the sync ({p.effective_budget} calls, "
                                f"{p.sweep_share} for the nightly sweep); {p.spent_today or 0} spent this Zoho day"))
        elif t.max_budget_share is not None:
            share, limit = self.budget_share, t.max_budget_share
            checks.append(Check("max_budget_share", share <= limit,
                                f"the last sync used {self.api_calls} API calls, {_pct(share)} of the daily budget "
                                f"of {t.daily_api_budget} {'<=' if share <= limit else '>'} maximum {_pct(limit)}"))
        if self.planner is not None and self.planner.warns:
            checks.append(Check("sweep_forecast", True, self.planner.warning(), warning=True))
        self.checks = checks

    def _freshness_check(self, limit: float) -> Check:
        problems = []
        for entity in ENTITIES:
            s = self.sync.get(entity)
            if s is None and self.first_sweep_in_progress:
                continue  # the sweep stopped for the budget before this entity's turn
            if s is None:
                problems.append(f"{entity}: never synced")
            elif s.status == "failed":
                problems.append(f"{entity}: the last {s.last_mode} sync failed at {_ts(s.finished_at)}: "
                                f"{s.last_error or 'no error recorded'}")
            elif s.status == "running":
                if s.hours_since_started is not None and s.hours_since_started > limit:
                    problems.append(f"{entity}: a {s.last_mode} sync has been running for "
                                    f"{_hours(s.hours_since_started)} (stuck? see the tenant lock in "
                                    "CUSTOMER_SYNC_README.md)")
            elif s.hours_since_finished is None:
                problems.append(f"{entity}: no finish time recorded")
            elif s.hours_since_finished > limit:
                problems.append(f"{entity}: last sync finished {_hours(s.hours_since_finished)} ago")
        if problems:
            return Check("max_hours_since_sync", False,
                         f"sync not fresh (maximum {_hours(limit)}): " + "; ".join(problems))
        age = self.hours_since_sync
        if age is None:  # a sync is running (not for too long)
            return Check("max_hours_since_sync", True, "a sync is running; the previous ones succeeded")
        return Check("max_hours_since_sync", True, f"last sync finished {_hours(age)} ago <= maximum {_hours(limit)}")

    # ---------------------------------------------------------------- output
    def as_dict(self) -> dict:
        return {
            "user_id": self.user_id,
            "ok": self.ok,
            "customers": self.customers,
            "customers_with_phone": self.customers_with_phone,
            "phone_share": _round(self.phone_share),
            "invoices": self.invoices,
            "invoices_without_customer": self.invoices_without_customer,
            "invoices_without_customer_share": _round(self.invoices_without_customer_share),
            "customers_missing_in_zoho": self.missing_in_zoho,
            "reminders": [{"status": s, "reason": r, "count": n}
                          for (s, r), n in sorted(self.reminders.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))],
            "reminder_totals": self.reminder_totals,
            "sync": {e: {k: (v.isoformat() if isinstance(v, datetime) else _round(v) if isinstance(v, float) else v)
                         for k, v in asdict(s).items()} for e, s in sorted(self.sync.items())},
            "hours_since_sync": _round(self.hours_since_sync),
            "hours_since_full_sync": _round(self.hours_since_full_sync),
            "api_calls": self.api_calls,
            "daily_api_budget": self.thresholds.daily_api_budget,
            "budget_share": _round(self.budget_share),
            "thresholds": asdict(self.thresholds),
            "planner": self.planner.as_dict() if self.planner else None,
            "checks": [asdict(c) for c in self.checks],
            "warnings": [c.message for c in self.warnings],
        }

    def text(self) -> str:
        verdict = "PASSED" if self.ok else "FAILED"
        if self.warnings:
            verdict += f" with {len(self.warnings)} warning(s)"
        lines = [f"tenant {self.user_id!r}: {verdict}"]
        lines.append(f"  customers: {self.customers} live, {self.customers_with_phone} with a primary phone "
                     f"({_pct(self.phone_share)})")
        lines.append(f"  invoices: {self.invoices} live, {self.invoices_without_customer} without a customer "
                     f"({_pct(self.invoices_without_customer_share)}); customers Zoho says do not exist: "
                     f"{self.missing_in_zoho}")
        if self.reminders:
            parts = [f"{s}{'/' + r if r else ''} {n}"
                     for (s, r), n in sorted(self.reminders.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))]
            lines.append("  reminders (status/reason): " + ", ".join(parts))
        else:
            lines.append("  reminders: none")
        for entity in ENTITIES:
            s = self.sync.get(entity)
            if s is None:
                lines.append(f"  sync {entity}: never")
                continue
            when = (f"finished {_ts(s.finished_at)} ({_hours(s.hours_since_finished)} ago)" if s.finished_at
                    else f"started {_ts(s.started_at)}")
            lines.append(f"  sync {entity}: {s.last_mode} {s.status}, {when}, API calls {s.api_calls} "
                         f"(contact persons {s.person_calls}); last full sync {_ts(s.last_full_sync_at)}"
                         + (f"; last error: {s.last_error}" if s.last_error else ""))
        lines.append(f"  API calls of the last sync: {self.api_calls} of a daily budget of "
                     f"{self.thresholds.daily_api_budget} ({_pct(self.budget_share)})")
        if self.planner is not None:
            lines.append(self.planner.line())
        lines.append("  checks:")
        lines += [f"    {c.mark}  {c.name}: {c.message}" for c in self.checks] or ["    (none)"]
        return "\n".join(lines)


@dataclass
class Report:
    generated_at: datetime
    tenants: list[TenantReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # not about one tenant (missing tables, no tenant)
    unchecked_tenants: list[str] = field(default_factory=list)  # in the data, not configured

    @property
    def ok(self) -> bool:
        return not self.problems and all(t.ok for t in self.tenants)

    @property
    def failed_tenants(self) -> list[str]:
        return [t.user_id for t in self.tenants if not t.ok]

    @property
    def warned_tenants(self) -> list[str]:
        return [t.user_id for t in self.tenants if t.warnings]

    def tenant(self, user_id: str) -> TenantReport:
        return next(t for t in self.tenants if t.user_id == user_id)

    def as_dict(self) -> dict:
        return {"generated_at": self.generated_at.isoformat(), "ok": self.ok, "problems": list(self.problems),
                "failed_tenants": self.failed_tenants, "warned_tenants": self.warned_tenants,
                "unchecked_tenants": list(self.unchecked_tenants),
                "tenants": [t.as_dict() for t in self.tenants]}

    def text(self) -> str:
        if self.ok:
            head = f"PASSED: {len(self.tenants)} tenant(s) checked"
        elif self.problems:
            head = "FAILED: " + "; ".join(self.problems)
        else:
            head = f"FAILED: {len(self.failed_tenants)} of {len(self.tenants)} tenant(s): {', '.join(self.failed_tenants)}"
        if self.warned_tenants:
            head += f" (warnings for {', '.join(self.warned_tenants)})"
        lines = [f"Customer sync verification at {_ts(self.generated_at)}: {head}"]
        if self.unchecked_tenants:
            lines.append(f"(not configured, not checked: {', '.join(self.unchecked_tenants)})")
        for t in self.tenants:
            lines += ["", t.text()]
        return "\n".join(lines)


# --------------------------------------------------------------------------- building it


def verify(uri: str, thresholds: ThresholdConfig | None = None,
           tenants: Sequence[str] | None = None) -> Report:
    """Build the report. ``tenants``: the configured tenants (None: every tenant found in the data)."""
    thresholds = thresholds or ThresholdConfig()
    with warehouse.connect(uri) as conn:
        generated_at = conn.execute("select now()").fetchone()[0]
        report = Report(generated_at=generated_at)
        missing = [t for t in REQUIRED_TABLES if conn.execute("select to_regclass(%s)", (t,)).fetchone()[0] is None]
        if missing:
            report.problems.append(f"{', '.join(missing)} missing: the warehouse is not migrated or no sync run "
                                   "has built the marts yet (apply the migrations, then run zoho_sync_nightly)")
            return report
        customers = {r[0]: r[1:] for r in conn.execute(load_sql("verify/customers")).fetchall()}
        invoices = {r[0]: r[1:] for r in conn.execute(load_sql("verify/invoices")).fetchall()}
        reminders: dict[str, dict] = {}
        for user_id, status, reason, n in conn.execute(load_sql("verify/reminders")).fetchall():
            reminders.setdefault(user_id, {})[(status, reason)] = int(n)
        sync: dict[str, dict[str, EntitySync]] = {}
        with conn.cursor() as cur:
            cur.execute(load_sql("verify/sync"))
            names = [d.name for d in cur.description]
            for row in cur.fetchall():
                values = dict(zip(names, row))
                user_id = values.pop("user_id")
                for key in ("hours_since_finished", "hours_since_started", "hours_since_full_sync"):
                    values[key] = float(values[key]) if values[key] is not None else None
                for key in ("watermark", "records_fetched"):
                    values.pop(key)
                sync.setdefault(user_id, {})[values["entity"]] = EntitySync(**values)
        plans = planner.load(conn)
    found = sorted(set(customers) | set(invoices) | set(sync) | set(reminders) | set(plans))
    wanted = list(dict.fromkeys(tenants)) if tenants else found
    report.unchecked_tenants = [u for u in found if u not in wanted]
    if not wanted:
        report.problems.append("no tenant has been synced yet (zoho_sync.sync_metadata is empty): "
                               "run zoho_sync_nightly first")
    for user_id in wanted:
        tr = TenantReport(user_id=user_id, thresholds=thresholds.for_tenant(user_id))
        tr.customers, tr.customers_with_phone = (int(v) for v in customers.get(user_id, (0, 0)))
        tr.invoices, tr.invoices_without_customer = (int(v) for v in invoices.get(user_id, (0, 0)))
        tr.reminders = reminders.get(user_id, {})
        tr.sync = sync.get(user_id, {})
        tr.planner = plans.get(user_id)
        tr.evaluate()
        report.tenants.append(tr)
    return report


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{share * 100:.1f} %"


def _hours(hours: float | None) -> str:
    if hours is None:
        return "n/a"
    return f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h"


def _ts(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "never"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
