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
  organisation's daily budget (Zoho plans: 1,000 to 10,000 requests a day);
- the budget planner (``zoho_sync.budget_planner``): the budget the last run applied, the calls spent
  and left today, the nightly sweep's phase and progress, the calls and nights it still needs, and
  its verdict. A ``slow`` (more than 7 nights) or ``never`` verdict is a warning with the planner's
  advice (raise ``daily_budget``, lower ``budget_reserve``, upgrade the plan), not a failure.

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
from collections.abc import Iterable

from zoho.checks.report import verify
from zoho.checks.thresholds import THRESHOLD_KEYS, THRESHOLDS_VARIABLE, Thresholds, parse_thresholds
from zoho.warehouse import connection as warehouse


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
