"""Airflow task callables of the sync DAGs (the Airflow-facing layer over ``zoho``).

Work happens here at run time only: nothing in this module touches the API, the warehouse or
Variables at import (DAG parse) time.
"""
from __future__ import annotations

import logging
from datetime import date

from airflow.sdk import BaseHook, Variable, get_current_context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from zoho.books import errors
from zoho.warehouse import schema
from zoho.warehouse import connection as warehouse
from zoho.sync.tenants import parse_tenants

log = logging.getLogger(__name__)

# Errors that retrying cannot fix: the task fails at once, with the message naming the tenant.
NOT_RETRYABLE = (errors.AuthenticationError, errors.WrongOrganizationError, errors.BadParameterError,
                 errors.ConfigurationError)


def warehouse_uri() -> str:
    """The ``warehouse_default`` connection as a libpq URI (its schema field is the database)."""
    return warehouse.normalise_uri(BaseHook.get_connection(warehouse.WAREHOUSE_CONN_ID).get_uri())


def migrate_warehouse() -> str:
    uri = warehouse_uri()
    schema.upgrade(uri)
    revision = schema.current_revision(uri)
    log.info("warehouse schema at revision %s", revision)
    return revision


def list_tenants() -> list[dict]:
    tenants = parse_tenants(Variable.get("zoho_tenants", default=None))
    log.info("%d tenant(s): %s", len(tenants), ", ".join(t["user_id"] for t in tenants))
    return tenants


def extract_tenant(tenant: dict, mode: str) -> dict:
    """Sync one tenant (mapped task; the UI labels it with the user_id)."""
    from zoho.sync.budget import budget_settings
    from zoho.sync.extract import Tenant, TenantBusyError, sync_tenant
    from zoho.airflow.hooks import ZohoBooksHook

    context = get_current_context()
    context["tenant_user_id"] = tenant["user_id"]
    run_id = context["run_id"]
    hook = ZohoBooksHook(zoho_conn_id=tenant["conn_id"], tenant=tenant["user_id"])
    try:
        client = hook.get_client()
        budget = budget_settings(hook.extra, tenant["user_id"])
        result = sync_tenant(client, warehouse_uri(), Tenant(tenant["user_id"], hook.default_country),
                             mode, run_id=run_id, budget=budget, due_range=_reminder_due_range())
    except NOT_RETRYABLE as exc:
        raise AirflowFailException(f"tenant {tenant['user_id']!r}: {exc}") from None
    except TenantBusyError as exc:
        # the other run is syncing this tenant right now: nothing is lost by skipping this one
        raise AirflowSkipException(str(exc)) from None
    stats = client.stats.as_dict()
    for e in result.entities:
        log.info("tenant %r %s (%s): fetched %d, written %d, deleted %d, rejected %d, api calls %d, "
                 "person calls %d, invoices without customer %d, watermark %s",
                 result.user_id, e.entity, e.mode, e.fetched, e.upserted, e.deleted, e.rejected, e.api_calls,
                 e.person_calls, e.missing_customers, e.watermark)
    log.info("tenant %r synced in %.1f s; client stats: %s", result.user_id, result.seconds, stats)
    log.info("tenant %r API budget (organisation's Zoho day): %s", result.user_id, result.budget)
    if result.stopped:
        log.warning("tenant %r: the %s run stopped for the API budget (%s): what landed is kept and the next run "
                    "goes on; zoho_sync.sync_metadata and zoho_sync.api_budget say how far it got",
                    result.user_id, mode, result.stopped)
    return {**result.as_dict(), "client_stats": stats}


def _reminder_due_range() -> tuple[int, int]:
    """The due dates (days from today) whose invoices can have a reminder in the policy's window:
    what the nightly checks every night and reads the persons of first. A bad policy falls back to
    the default's range here (the reminder task reports the policy error)."""
    from zoho.reminders.policy import PolicyError, ReminderPolicy, parse_policy
    from zoho.sync.sweep import reminder_due_range

    try:
        policy = parse_policy(Variable.get("zoho_reminder_policy", default=None))
    except PolicyError:
        policy = ReminderPolicy()
    return reminder_due_range(policy.steps, policy.window_days_before, policy.window_days_after)


def _run_date(context) -> date:
    """The run's date in UTC: its logical date (a backfill behaves as its own date), else run_after."""
    from datetime import timezone

    stamp = context.get("logical_date") or context["dag_run"].run_after
    return stamp.astimezone(timezone.utc).date()


def quality_gate(dbt_group_id: str) -> dict:
    """Validate the marts; fail (without retry) when an expectation or a dbt task of the run failed."""
    from zoho.checks.quality import QualityGateError, run_quality_gate

    context = get_current_context()
    ti, run_id = context["ti"], context["run_id"]
    states = ti.get_task_states(dag_id=ti.dag_id, task_group_id=dbt_group_id, run_ids=[run_id]).get(run_id, {})
    failed = sorted(task_id for task_id, state in states.items() if state not in ("success", "skipped"))
    try:
        gate = run_quality_gate(warehouse_uri(), run_id, failed_dbt_tasks=failed)
    except QualityGateError as exc:
        raise AirflowFailException(str(exc)) from None
    log.info("%s", gate.summary())
    if not gate.success:
        raise AirflowFailException(gate.summary())
    return {"success": True, "expectations": len(gate.results), "seconds": round(gate.seconds, 2)}


def generate_reminders(tenants: list[dict]) -> dict:
    """Reminders for every tenant for the run's date; withheld (skipped) when the gate did not pass."""
    from zoho.reminders import generate as reminders
    from zoho.reminders.policy import parse_policy
    from zoho.checks.quality import gate_passed

    context = get_current_context()
    run_id, run_date = context["run_id"], _run_date(context)
    policy = parse_policy(Variable.get("zoho_reminder_policy", default=None))
    results, failures = {}, []
    with warehouse.connect(warehouse_uri()) as conn:
        passed = gate_passed(conn, run_id)
        if not passed:
            log.warning("the quality gate of run %s did not pass: no reminder becomes pending "
                        "(new ones are skipped with reason quality_gate_failed)", run_id)
        for tenant in tenants or []:
            user_id = tenant["user_id"]
            try:
                summary = reminders.generate_reminders(conn, user_id, run_date, policy, passed)
            except Exception as exc:  # one tenant's failure must not stop the others
                conn.rollback()
                log.exception("tenant %r: reminder generation failed", user_id)
                failures.append(f"{user_id}: {type(exc).__name__}: {exc}")
                continue
            log.info("%s", summary.table())
            results[user_id] = summary.as_dict()
    if failures:
        raise RuntimeError("reminder generation failed for " + "; ".join(failures))
    return {"run_date": run_date.isoformat(), "gate_passed": passed, "tenants": results}


def verify_deployment(tenants: list[dict]) -> dict:
    """The post-deployment report (``zoho.checks.verify``) for every tenant; fails (without retry) with the
    readable report when a threshold of the ``zoho_verify_thresholds`` Variable is crossed, and logs
    its warnings (a nightly sweep the budget planner says is slow or will never complete)."""
    from zoho.checks.report import verify
    from zoho.checks.thresholds import THRESHOLDS_VARIABLE, ThresholdError, parse_thresholds

    try:
        thresholds = parse_thresholds(Variable.get(THRESHOLDS_VARIABLE, default=None))
    except ThresholdError as exc:
        raise AirflowFailException(str(exc)) from None
    report = verify(warehouse_uri(), thresholds, [t["user_id"] for t in tenants or []] or None)
    log.info("%s", report.text())
    for tenant in report.tenants:  # warnings (the budget planner's slow or never) pass, loudly
        for check in tenant.warnings:
            log.warning("tenant %r: %s: %s", tenant.user_id, check.name, check.message)
    if not report.ok:
        raise AirflowFailException(report.text())
    return report.as_dict()


# --------------------------------------------------------------------------- legacy migration
def _legacy_params() -> tuple[str, str]:
    """The legacy DAG's ``source_table`` and ``default_country`` parameters, validated."""
    from zoho.legacy import backfill as legacy

    params = get_current_context()["params"]
    try:
        legacy.parse_source_table(params["source_table"])
        return params["source_table"].strip(), legacy.parse_country(params["default_country"])
    except legacy.LegacySourceError as exc:
        raise AirflowFailException(str(exc)) from None


def _tenant_countries() -> dict[str, str]:
    """user_id -> ``default_country`` of the tenant's Zoho connection, for the tenants in ``zoho_tenants``."""
    from airflow.sdk.exceptions import AirflowNotFoundException

    from zoho.airflow.hooks import ZohoBooksHook

    countries = {}
    for tenant in list_tenants():
        try:
            country = ZohoBooksHook(zoho_conn_id=tenant["conn_id"], tenant=tenant["user_id"]).default_country
        except AirflowNotFoundException:
            log.warning("tenant %r: connection %r not found; the default_country parameter applies",
                        tenant["user_id"], tenant["conn_id"])
            continue
        if country:
            countries[tenant["user_id"]] = country
    return countries


def land_legacy() -> dict:
    """Land the legacy table's customers and invoices (``zoho.legacy.backfill.land_legacy``); a bad parameter
    or a missing table/column fails at once, without retry."""
    from zoho.legacy import backfill as legacy

    source_table, default_country = _legacy_params()
    run_id = get_current_context()["run_id"]
    try:
        result = legacy.land_legacy(warehouse_uri(), source_table, run_id,
                                    countries=_tenant_countries(), default_country=default_country)
    except legacy.LegacySourceError as exc:
        raise AirflowFailException(str(exc)) from None
    log.info("landed %s: %s", source_table, result.as_dict())
    return result.as_dict()


def legacy_integrity_report() -> dict:
    """The legacy migration's integrity report, logged and stored; fails (without retry) when it
    does not reconcile."""
    from zoho.legacy import backfill as legacy

    source_table, _ = _legacy_params()
    report = legacy.integrity_report(warehouse_uri(), source_table, get_current_context()["run_id"])
    log.info("%s", report.table())
    if not report.ok:
        raise AirflowFailException("legacy backfill does not reconcile: " + "; ".join(report.failed_checks))
    return {k: v for k, v in report.counts.items() if not isinstance(v, (dict, list))}
