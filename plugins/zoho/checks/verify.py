"""Post-deployment verification: a report per tenant, failing when a configured threshold is crossed.

    python -m zoho.checks.verify [--uri URI] [--thresholds JSON] [--tenant USER_ID ...] [--json]
                          [--min-phone-share 0.5] [--max-invoices-without-customer-share 0.05]
                          [--max-hours-since-sync 26] [--max-hours-since-full-sync 26]
                          [--daily-api-budget 1000] [--max-budget-share 0.5]

Also the ``verify_deployment`` task at the end of ``zoho_sync_nightly`` (``zoho.airflow.tasks``). No
Airflow import here: the command line reads the warehouse from ``AIRFLOW_CONN_WAREHOUSE_DEFAULT``,
the thresholds from ``AIRFLOW_VAR_ZOHO_VERIFY_THRESHOLDS`` and the tenants from
``AIRFLOW_VAR_ZOHO_TENANTS`` when they are set (as Airflow would), unless given as options.

Figures per tenant (SQL in ``sql/verify/``, all measured by the warehouse's clock):

- customers: live rows of ``analytics.customers_cache`` and the share with a ``primary_phone``;
- invoices: live rows of ``analytics.invoices_cache`` and the share without a customer
  (``customer_id`` null), with ``sync_metadata.missing_customers`` (customers Zoho says do not exist);
- reminders of ``analytics.payment_reminders`` by status and reason;
- sync freshness from ``zoho_sync.sync_metadata``: hours since each entity's last sync finished
  (the oldest counts), its status and last error, hours since the last full (nightly) sync;
- API calls of the last sync (contacts + invoices, ``sync_metadata.api_calls``) against the
  organisation's daily budget (Zoho plans: 1,000 to 10,000 requests a day).

Thresholds (JSON keys = option names with ``_``; ``null`` switches a check off; ``tenants`` holds
per-tenant overrides, e.g. a bigger plan's budget)::

    {"min_phone_share": 0.5, "max_invoices_without_customer_share": 0.05,
     "max_hours_since_sync": 26, "max_hours_since_full_sync": 26,
     "daily_api_budget": 1000, "max_budget_share": 0.5,
     "tenants": {"acme": {"daily_api_budget": 5000}}}

Precedence: defaults < the Variable (or ``--thresholds``, which replaces it) < single options.
Exit status: 0 when every check passed, 1 when one failed (the report says which), 2 when the
options or thresholds are invalid.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone

from zoho.warehouse import connection as warehouse
from zoho.warehouse.sqlfiles import sql_files

load_sql = sql_files(__file__)

THRESHOLDS_VARIABLE = "zoho_verify_thresholds"
ENTITIES = ("contacts", "invoices")
REQUIRED_TABLES = ("analytics.customers_cache", "analytics.invoices_cache", "analytics.payment_reminders",
                   "zoho_sync.sync_metadata")


class ThresholdError(ValueError):
    """The thresholds cannot be used; the message lists every problem."""


@dataclass(frozen=True)
class Thresholds:
    """One tenant's limits; ``None`` switches that check off."""

    min_phone_share: float | None = 0.5
    max_invoices_without_customer_share: float | None = 0.05
    max_hours_since_sync: float | None = 26.0
    max_hours_since_full_sync: float | None = 26.0
    daily_api_budget: int = 1000
    max_budget_share: float | None = 0.5


THRESHOLD_KEYS = tuple(f.name for f in fields(Thresholds))
SHARES = ("min_phone_share", "max_invoices_without_customer_share", "max_budget_share")


@dataclass(frozen=True)
class ThresholdConfig:
    """The default thresholds and per-tenant overrides."""

    default: Thresholds = Thresholds()
    tenants: Mapping[str, Thresholds] = field(default_factory=dict)

    def for_tenant(self, user_id: str) -> Thresholds:
        return self.tenants.get(user_id, self.default)

    def with_overrides(self, **values) -> "ThresholdConfig":
        """Apply single options (command line) to the default and every tenant."""
        values = {k: v for k, v in values.items() if v is not None}
        if not values:
            return self
        problems: list[str] = []
        checked = {k: _check_value(k, v, problems) for k, v in values.items()}
        if problems:
            raise ThresholdError("invalid threshold option: " + "; ".join(problems))
        return ThresholdConfig(replace(self.default, **checked),
                               {u: replace(t, **checked) for u, t in self.tenants.items()})

    def as_dict(self) -> dict:
        return {**asdict(self.default), "tenants": {u: asdict(t) for u, t in sorted(self.tenants.items())}}


def _check_value(key: str, value, problems: list[str]):
    if value is None:
        if key == "daily_api_budget":
            problems.append("daily_api_budget cannot be null (it is the plan's number of requests per day)")
            return Thresholds.daily_api_budget
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(f"{key} must be a number, got {value!r}")
        return getattr(Thresholds, key)
    if key == "daily_api_budget":
        if int(value) != value or value < 1:
            problems.append(f"daily_api_budget must be a positive whole number, got {value!r}")
            return Thresholds.daily_api_budget
        return int(value)
    if value < 0:
        problems.append(f"{key} must not be negative, got {value!r}")
    elif key in SHARES and value > 1:
        problems.append(f"{key} is a share between 0 and 1 (0.5 = 50 %), got {value!r}")
    return float(value)


def _thresholds(values: Mapping, base: Thresholds, where: str, problems: list[str]) -> Thresholds:
    unknown = sorted(set(values) - set(THRESHOLD_KEYS))
    if unknown:
        problems.append(f"{where}unknown keys {unknown!r} (allowed: {', '.join(THRESHOLD_KEYS)})")
    found: list[str] = []
    checked = {k: _check_value(k, v, found) for k, v in values.items() if k in THRESHOLD_KEYS}
    problems += [where + p for p in found]
    return replace(base, **checked)


def parse_thresholds(raw: str | Mapping | None) -> ThresholdConfig:
    """The ``zoho_verify_thresholds`` Variable's value (JSON text or a dict); unset → defaults."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return ThresholdConfig()
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ThresholdError(f"{THRESHOLDS_VARIABLE} is not valid JSON: {exc}") from None
    if not isinstance(raw, Mapping):
        raise ThresholdError(f"{THRESHOLDS_VARIABLE} must be a JSON object with keys "
                             f"{', '.join(THRESHOLD_KEYS)} and optionally tenants")
    problems: list[str] = []
    raw = dict(raw)
    per_tenant = raw.pop("tenants", None) or {}
    default = _thresholds(raw, Thresholds(), "", problems)
    tenants: dict[str, Thresholds] = {}
    if not isinstance(per_tenant, Mapping):
        problems.append('tenants must be an object: {"<user_id>": {"daily_api_budget": 5000, ...}}')
    else:
        for user_id, values in per_tenant.items():
            if not isinstance(values, Mapping):
                problems.append(f"tenants.{user_id} must be an object of thresholds")
                continue
            tenants[str(user_id)] = _thresholds(values, default, f"tenants.{user_id}: ", problems)
    if problems:
        raise ThresholdError(f"{THRESHOLDS_VARIABLE} is invalid: " + "; ".join(problems))
    return ThresholdConfig(default, tenants)


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str


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
    def hours_since_sync(self) -> float | None:
        """Hours since the oldest entity's last successful sync (None unless all succeeded)."""
        ages = [s.hours_since_finished for s in self.sync.values() if s.status == "success"]
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

    # ---------------------------------------------------------------- checks
    def evaluate(self) -> None:
        t = self.thresholds
        checks: list[Check] = []
        if t.min_phone_share is not None:
            share = self.phone_share
            if share is None:
                checks.append(Check("min_phone_share", True, "no live customers: phone share not checked"))
            else:
                checks.append(Check("min_phone_share", share >= t.min_phone_share,
                                    f"customers with a primary phone {_pct(share)} "
                                    f"{'>=' if share >= t.min_phone_share else '<'} minimum {_pct(t.min_phone_share)}"))
        if t.max_invoices_without_customer_share is not None:
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
            if age is None:
                never = [e for e in ENTITIES if e not in self.sync or self.sync[e].last_full_sync_at is None]
                checks.append(Check("max_hours_since_full_sync", False,
                                    f"no full (nightly) sync has completed for {', '.join(never)}: deletions "
                                    "are not detected until zoho_sync_nightly succeeds"))
            else:
                checks.append(Check("max_hours_since_full_sync", age <= limit,
                                    f"last full sync {_hours(age)} ago {'<=' if age <= limit else '>'} "
                                    f"maximum {_hours(limit)}"))
        if t.max_budget_share is not None:
            share, limit = self.budget_share, t.max_budget_share
            checks.append(Check("max_budget_share", share <= limit,
                                f"the last sync used {self.api_calls} API calls, {_pct(share)} of the daily budget "
                                f"of {t.daily_api_budget} {'<=' if share <= limit else '>'} maximum {_pct(limit)}"))
        self.checks = checks

    def _freshness_check(self, limit: float) -> Check:
        problems = []
        for entity in ENTITIES:
            s = self.sync.get(entity)
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
            "checks": [asdict(c) for c in self.checks],
        }

    def text(self) -> str:
        lines = [f"tenant {self.user_id!r}: {'PASSED' if self.ok else 'FAILED'}"]
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
        lines.append("  checks:")
        lines += [f"    {'ok  ' if c.ok else 'FAIL'}  {c.name}: {c.message}" for c in self.checks] or ["    (none)"]
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

    def tenant(self, user_id: str) -> TenantReport:
        return next(t for t in self.tenants if t.user_id == user_id)

    def as_dict(self) -> dict:
        return {"generated_at": self.generated_at.isoformat(), "ok": self.ok, "problems": list(self.problems),
                "failed_tenants": self.failed_tenants, "unchecked_tenants": list(self.unchecked_tenants),
                "tenants": [t.as_dict() for t in self.tenants]}

    def text(self) -> str:
        if self.ok:
            head = f"PASSED: {len(self.tenants)} tenant(s) checked"
        elif self.problems:
            head = "FAILED: " + "; ".join(self.problems)
        else:
            head = f"FAILED: {len(self.failed_tenants)} of {len(self.tenants)} tenant(s): {', '.join(self.failed_tenants)}"
        lines = [f"Customer sync verification at {_ts(self.generated_at)}: {head}"]
        if self.unchecked_tenants:
            lines.append(f"(not configured, not checked: {', '.join(self.unchecked_tenants)})")
        for t in self.tenants:
            lines += ["", t.text()]
        return "\n".join(lines)


# --------------------------------------------------------------------------- running




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
    found = sorted(set(customers) | set(invoices) | set(sync) | set(reminders))
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


def tenants_from_env() -> list[str] | None:
    """The ``zoho_tenants`` Variable given as ``AIRFLOW_VAR_ZOHO_TENANTS``; None when unset."""
    raw = os.environ.get("AIRFLOW_VAR_ZOHO_TENANTS")
    if not raw or not raw.strip():
        return None
    from zoho.sync.tenants import parse_tenants

    return [t["user_id"] for t in parse_tenants(raw)]


def main(argv: Iterable[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m zoho.checks.verify", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--uri", help="warehouse URI (default: AIRFLOW_CONN_WAREHOUSE_DEFAULT)")
    p.add_argument("--thresholds", help="thresholds JSON (default: AIRFLOW_VAR_ZOHO_VERIFY_THRESHOLDS, else defaults)")
    p.add_argument("--tenant", action="append", dest="tenants", metavar="USER_ID",
                   help="check this tenant (repeatable; default: AIRFLOW_VAR_ZOHO_TENANTS, else every tenant in the data)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    for key in THRESHOLD_KEYS:
        p.add_argument("--" + key.replace("_", "-"), dest=key, type=int if key == "daily_api_budget" else float,
                       default=None, help=f"threshold {key} (default {getattr(Thresholds, key)})")
    a = p.parse_args(list(argv) if argv is not None else None)
    try:
        config = parse_thresholds(a.thresholds if a.thresholds is not None
                                  else os.environ.get("AIRFLOW_VAR_" + THRESHOLDS_VARIABLE.upper()))
        config = config.with_overrides(**{k: getattr(a, k) for k in THRESHOLD_KEYS})
        tenants = a.tenants or tenants_from_env()
    except ValueError as exc:  # ThresholdError, TenantConfigError
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = verify(a.uri or warehouse.uri_from_env(), config, tenants)
    print(json.dumps(report.as_dict(), indent=2) if a.json else report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
