"""Airflow DAG zoho_legacy_backfill: the one-off, manual migration of the old invoice table (SPEC.md
"Legacy migration"). The work is in ``zoho.legacy`` (landing and the integrity report) and the dbt
marts; this file is the Airflow face: parameters, connections, the task log, failing the run.
No work at parse time."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import Param, dag, task

from zoho import legacy, tasks
from zoho.dag_factory import DEFAULT_ARGS
from zoho.dbt import models_task_group

DBT_GROUP_ID = "dbt_models"

DAG_DOC = """
### Legacy migration: the old invoice table into customers_cache / invoices_cache (manual)

The old system kept one row per invoice with the customer's name, phone and email copied in
(`user_id`, `zoho_invoice_id`, `zoho_customer_id`, `customer_name`, `customer_phone`,
`customer_email`, `updated_at`). Trigger with the parameter `source_table` (default
`legacy.invoices_cache`, schema-qualified) and, for tenants without a Zoho connection in
`zoho_tenants`, `default_country` (used to read phone numbers without a country code).

1. **land_legacy**: unreadable rows (no tenant, invoice id or customer id) are quarantined in
   `zoho_sync.rejected_records` (entity `legacy_invoices`) with the reason; the rest land as one
   customer per (user_id, zoho_customer_id), latest row winning, phone normalised, in
   `zoho_raw.legacy_customers`, and one invoice per (user_id, zoho_invoice_id) in
   `zoho_raw.legacy_invoices`.
2. **dbt_models**: the marts union them in below Zoho: Zoho's records win; a legacy phone fills
   `primary_phone` only where Zoho has no valid one (`primary_phone_source = legacy.customer_phone`);
   invoices Zoho has not synced land with `customer_id` set. Ids stay `md5(user_id|zoho_id)`.
3. **integrity_report**: counts (rows read, rejected, customers created, duplicates collapsed,
   invoices linked / without a customer and why, phones recovered) in the task log and in
   `zoho_sync.legacy_backfill_runs`; fails the run when an invoice is unlinked without a reason or
   counts do not reconcile.

Idempotent: re-running changes nothing, and the end state is the same before or after the first
Zoho sync. A later Zoho sync replaces the legacy-derived fields of a customer with Zoho's.
"""

LAND_DOC = """
Read the source table once (set-based), quarantine unreadable rows with their reason, normalise the
legacy phones (`zoho.phones.normalize_phone`, the tenant's `default_country` from its Zoho
connection, else the `default_country` parameter) and upsert the deduplicated customers and invoices
into `zoho_raw.legacy_*` (only changed rows are written). One transaction: safe to clear and re-run.
A bad parameter or a missing table/column fails at once, without retry.
"""

REPORT_DOC = """
The integrity report: the source table checked against the landing tables, Zoho's raw tables and
the marts; stored in `zoho_sync.legacy_backfill_runs` (one row per run) and printed here. Fails
(no retry: a failed check is a finding) when a legacy invoice is left without a customer for no
known reason, or when the counts do not reconcile.
"""


@dag(
    dag_id="zoho_legacy_backfill",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["zoho", "legacy-migration", "manual"],
    doc_md=DAG_DOC,
    dagrun_timeout=timedelta(hours=4),
    params={
        "source_table": Param(legacy.DEFAULT_SOURCE_TABLE, type="string", pattern=legacy.SOURCE_TABLE_PATTERN,
                              title="Legacy invoice table",
                              description="Schema-qualified name of the old invoice table, e.g. legacy.invoices_cache"),
        "default_country": Param(legacy.DEFAULT_COUNTRY, type="string", pattern=legacy.COUNTRY_PATTERN,
                                 title="Default country",
                                 description="ISO 3166 alpha-2 country for phones without a country code, "
                                             "for tenants whose Zoho connection does not say"),
    },
)
def zoho_legacy_backfill():
    @task(doc_md="Apply the warehouse schema migrations (Alembic; idempotent).")
    def migrate_warehouse():
        return tasks.migrate_warehouse()

    @task(doc_md=LAND_DOC, execution_timeout=timedelta(hours=2))
    def land_legacy():
        return tasks.land_legacy()

    @task(retries=0, doc_md=REPORT_DOC)
    def integrity_report():
        return tasks.legacy_integrity_report()

    migrate_warehouse() >> land_legacy() >> models_task_group(DBT_GROUP_ID) >> integrity_report()


dag = zoho_legacy_backfill()
