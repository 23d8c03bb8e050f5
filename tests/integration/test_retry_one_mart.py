"""Retrying one failed mart model, as a data engineer does it from the UI: a run of the real
incremental DAG in which ``invoices_cache`` fails (its table's schema drifted, so dbt refuses the
incremental merge: a model error, retried, then failed), then, once the cause is fixed, a run of
just that task (``scripts/run_dag.py --tasks``: ``dag.test()`` of the cleared task alone) builds the
mart with the change the failed run had landed, and runs the mart's tests. A failure of tests alone
fails the task at once (no retry)."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from decimal import Decimal
import pytest

from tests.helpers import run_dag
from zoho.warehouse import connection as warehouse

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SIZE = {"seed": 41, "orgs": 1, "contacts_per_org": 30, "invoices_per_org": 120}


def run_incremental(env: dict, when: datetime, *args: str) -> tuple[dict, str]:
    return run_dag(env, "zoho_sync_incremental", when, *args, retry_delay_s=0, timeout=900)


def states(summary: dict) -> dict[str, str]:
    return {t["task_id"]: t["state"] for t in summary["task_instances"] if t["map_index"] < 0}


def test_a_failed_mart_is_rebuilt_and_tested_by_rerunning_its_task_alone(sandbox_factory, make_database):
    sb = sandbox_factory(**SIZE, per_minute_limit=None, max_concurrent=None)
    org = sb.organizations[0]
    uri = make_database("retry")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_VAR_ZOHO_", "AIRFLOW_CONN_ZOHO"))}
    env.update(sb.airflow_env())
    env["AIRFLOW_CONN_WAREHOUSE_DEFAULT"] = uri
    when = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)

    first, _ = run_incremental(env, when)
    assert first["state"] == "success", states(first)

    invoice = sb.invoices(org)[0]
    sb.update_invoice(org, invoice["invoice_id"], total="4321.50", balance="4321.50")
    with warehouse.connect(uri) as conn:  # the fault: the mart's table no longer matches its model
        conn.execute("alter table analytics.invoices_cache add column drifted integer")
        conn.commit()

    failed, out = run_incremental(env, when + timedelta(minutes=30))
    s = states(failed)
    assert failed["state"] == "failed"
    assert s["dbt_models.invoices_cache"] == "failed" and s["dbt_models.customers_cache"] == "success"
    assert s["dbt_models.analyst_views"] == "upstream_failed"
    tries = [t["try_number"] for t in failed["task_instances"] if t["task_id"] == "dbt_models.invoices_cache"]
    assert tries == [3], "a model error is retried (twice) before the task fails"
    assert "out of sync" in out  # dbt's own reason, in the task's log

    def total(conn) -> Decimal:
        return conn.execute("select total from analytics.invoices_cache where user_id = %s "
                            "and zoho_invoice_id = %s", (org.user_id, invoice["invoice_id"])).fetchone()[0]

    with warehouse.connect(uri) as conn:
        assert total(conn) != Decimal("4321.50")  # landed in zoho_raw, not modelled
        conn.execute("alter table analytics.invoices_cache drop column drifted")
        conn.commit()

    retried, out = run_incremental(env, when + timedelta(minutes=31), "--tasks", "dbt_models.invoices_cache")
    assert retried["state"] == "success"
    assert [t["task_id"] for t in retried["task_instances"]] == ["dbt_models.invoices_cache"]
    assert "OK created sql incremental model analytics.invoices_cache" in out
    for test in ("relationships_invoices_cache_customer_id", "unique_invoices_cache_id",
                 "assert_open_balance_matches_staging"):
        assert f"PASS {test}" in out, f"the mart's test {test} did not run"
    with warehouse.connect(uri) as conn:
        assert total(conn) == Decimal("4321.50")

    # A failure of tests alone is a finding: the task fails at its first try, naming the tests.
    with warehouse.connect(uri) as conn:
        conn.execute("update analytics.invoices_cache set balance = total + 1 where user_id = %s "
                     "and zoho_invoice_id = %s", (org.user_id, invoice["invoice_id"]))
        conn.commit()
    found, out = run_incremental(env, when + timedelta(minutes=32), "--tasks", "dbt_models.invoices_cache")
    (task,) = found["task_instances"]
    assert (task["state"], task["try_number"]) == ("failed", 1)
    assert "dbt tests failed (not retried: a failed test is a finding): invoices_cache_balance_between_zero_and_total" in out
