"""The product's DAGs, built from one place (the files in ``dags/`` are one line each):
``build_sync_dag(mode)`` for the two sync DAGs, ``build_legacy_dag()`` for the legacy migration.

Parse-time cost: no API, database, Variable or dbt access here (the dbt tasks are four ``dbt build``
tasks named after dbt selectors, see ``zoho.airflow.dbt``).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import Param, dag, task
from airflow.sdk import TriggerRule
from airflow.sdk.exceptions import AirflowFailException

from zoho.airflow import tasks
from zoho.airflow.dbt import models_task_group
from zoho.legacy import backfill as legacy

DBT_GROUP_ID = "dbt_models"

# Tenants of one run extracted at once (max_active_tis_per_dagrun of `extract`): each tenant has its
# own Zoho limits, so this bounds the run's load on the workers and the warehouse, not on Zoho.
EXTRACT_FANOUT = 4

SCHEDULES = {"incremental": "*/30 * * * *", "full": "0 2 * * *"}
DAG_IDS = {"incremental": "zoho_sync_incremental", "full": "zoho_sync_nightly"}

DEFAULT_ARGS = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}

DAG_DOCS = {
    "incremental": """
### Zoho Books sync: incremental (every 30 minutes)

Per tenant (one mapped task each, labelled with its `user_id`): contacts changed since the
watermark, then invoices changed since theirs (minus a 5-minute overlap), into `zoho_raw`. Never
infers deletions (that is the nightly run's job). Then the dbt models (one task per model, tests
after each), the quality gate, and the payment reminders.

State: `zoho_sync.sync_metadata` (watermarks, counts, API calls, last error),
`zoho_sync.rejected_records` (quarantined records). A tenant is never synced by two runs at once.
""",
    "full": """
### Zoho Books sync: nightly full pass (02:00 UTC)

Per tenant: the full listing of contacts and invoices. What Zoho no longer lists is flagged
`is_deleted` (only when the listing completed) and its pending reminders are cancelled. Contact
persons are refreshed where the phone rule needs them. Then dbt, the quality gate, reminders.
""",
}

EXTRACT_DOC = """
Sync one tenant: contacts, then invoices, into `zoho_raw`, committed batch by batch; the watermark
moves only after the rows are committed. Bad credentials, a wrong organisation or an exhausted daily
API budget fail this tenant at once (no retry) with a message naming it; the other tenants go on.
Safe to clear and re-run: the upserts converge to the same rows.
"""


GATE_DOC = """
Great Expectations on the marts: E.164 phones, unique natural keys, balances within bounds, no
orphan `customer_id`, allowed statuses, and every dbt model and test of this run succeeded. Results
per expectation in `zoho_sync.quality_results` (by run id). A failure fails this task (no retry)
with a readable summary; the reminder task then makes no reminder `pending`.
"""

REMINDERS_DOC = """
Payment reminders for every tenant for this run's date (its logical date in UTC): steps created in
the window, re-evaluated, cancelled when the invoice was paid, voided or deleted. Idempotent
(deterministic ids, unique (invoice_id, offset_days)); `sent`/`failed` rows are never touched.
Runs even when the gate failed, to withhold (skip) instead of sending.
"""


VERIFY_DOC = """
Post-deployment verification (`zoho.checks.verify`, the same report as `make verify`), per tenant: share of
customers with a primary phone, invoices without a customer, reminders by status and reason, sync
freshness, API calls of this run against the daily budget. Fails (no retry) with the readable report
when a threshold of the `zoho_verify_thresholds` Variable (JSON; defaults in `zoho/checks/thresholds.py`) is
crossed. Runs even when an upstream task failed: that is when the report helps most.
"""


WATCHER_DOC = """
Marks the whole run failed when any task failed: a failed tenant does not stop the others (the
models, the gate and the reminders still run on what landed), but the run must not look green.
Skipped when everything succeeded.
"""


def build_sync_dag(mode: str):
    dag_id = DAG_IDS[mode]

    @dag(
        dag_id=dag_id,
        schedule=SCHEDULES[mode],
        start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["zoho", "customer-sync", mode],
        doc_md=DAG_DOCS[mode],
        dagrun_timeout=timedelta(hours=6 if mode == "full" else 1),
    )
    def sync():
        @task(doc_md="Apply the warehouse schema migrations (Alembic; idempotent).")
        def migrate_warehouse():
            return tasks.migrate_warehouse()

        @task(doc_md="Read the tenants from the `zoho_tenants` Variable (unset: the default tenant).")
        def list_tenants():
            return tasks.list_tenants()

        @task(doc_md=EXTRACT_DOC, map_index_template="{{ tenant_user_id }}",
              max_active_tis_per_dagrun=EXTRACT_FANOUT, execution_timeout=timedelta(hours=4))
        def extract(tenant: dict):
            return tasks.extract_tenant(tenant, mode)

        tenants = list_tenants()
        extracted = extract.expand(tenant=tenants)
        migrate_warehouse() >> extracted

        @task(trigger_rule=TriggerRule.ALL_DONE,
              doc_md="Extraction finished (some tenants may have failed: their failures stay visible; "
                     "the models are built from what landed).")
        def extraction_done():
            return None

        models = models_task_group(DBT_GROUP_ID, mode)

        @task(trigger_rule=TriggerRule.ALL_DONE, retries=0, doc_md=GATE_DOC)
        def quality_gate():
            return tasks.quality_gate(DBT_GROUP_ID)

        @task(trigger_rule=TriggerRule.ALL_DONE, doc_md=REMINDERS_DOC)
        def generate_reminders(tenants: list[dict]):
            return tasks.generate_reminders(tenants)

        @task(trigger_rule=TriggerRule.ONE_FAILED, retries=0, doc_md=WATCHER_DOC)
        def run_failed():
            raise AirflowFailException("a task of this run failed (see the red tasks: a tenant's extraction, "
                                       "a dbt model or test, or the quality gate); the other tasks completed")

        gate = quality_gate()
        reminders = generate_reminders(tenants)
        extracted >> extraction_done() >> models >> gate >> reminders
        watched = [extracted, models, gate, reminders]

        if mode == "full":
            @task(trigger_rule=TriggerRule.ALL_DONE, doc_md=VERIFY_DOC)
            def verify_deployment(tenants: list[dict]):
                return tasks.verify_deployment(tenants)

            verified = verify_deployment(tenants)
            reminders >> verified
            watched.append(verified)

        watched >> run_failed()

    return sync()


LEGACY_DAG_DOC = """
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

LEGACY_LAND_DOC = """
Read the source table once (set-based), quarantine unreadable rows with their reason, normalise the
legacy phones (`zoho.rules.phones.normalize_phone`, the tenant's `default_country` from its Zoho
connection, else the `default_country` parameter) and upsert the deduplicated customers and invoices
into `zoho_raw.legacy_*` (only changed rows are written). One transaction: safe to clear and re-run.
A bad parameter or a missing table/column fails at once, without retry.
"""

LEGACY_REPORT_DOC = """
The integrity report: the source table checked against the landing tables, Zoho's raw tables and
the marts; stored in `zoho_sync.legacy_backfill_runs` (one row per run) and printed here. Fails
(no retry: a failed check is a finding) when a legacy invoice is left without a customer for no
known reason, or when the counts do not reconcile.
"""


def build_legacy_dag():
    """The manual ``zoho_legacy_backfill`` DAG (the one-off migration of the old invoice table)."""

    @dag(
        dag_id="zoho_legacy_backfill",
        schedule=None,
        start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["zoho", "legacy-migration", "manual"],
        doc_md=LEGACY_DAG_DOC,
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

        @task(doc_md=LEGACY_LAND_DOC, execution_timeout=timedelta(hours=2))
        def land_legacy():
            return tasks.land_legacy()

        @task(retries=0, doc_md=LEGACY_REPORT_DOC)
        def integrity_report():
            return tasks.legacy_integrity_report()

        migrate_warehouse() >> land_legacy() >> models_task_group(DBT_GROUP_ID) >> integrity_report()

    return zoho_legacy_backfill()
