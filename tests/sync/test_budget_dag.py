"""A first sync bigger than a day's budget, through the real DAGs (``dag.test()`` in a process of its
own: real Airflow, dbt and Postgres, the sandbox over real sockets), day by day on Zoho's Free plan.

The organisation has 4,000 customers (about 2,000 of them need a contact-person call for their phone)
and 6,000 invoices: a first sync of about 2,100 calls, against the Free plan's 1,000 a day of which
the nightly sweep may spend 850 (the default reserve keeps 150 for the incremental runs). Each
simulated day the sandbox ends the Zoho day (no clock moves) and the nightly DAG runs; on day 1 an
invoice with a pending reminder is paid in Zoho and the incremental DAG runs.

What is shown: every run green, each Zoho day within the budget and no code-45 answer; on day 1
every reminder due in the window is pending with the right phone (its customer's persons were read
first) and none is withheld ``phone_pending``; on every day no pending reminder has a wrong phone;
the paid invoice's reminders cancelled the same day; no deletion flag before the sweep completes;
and within ceil(calls needed / (budget - reserve)) + 1 days the marts equal, table for table, those
of one nightly run with an unlimited budget.
"""
from __future__ import annotations

import json
import math
import os
from datetime import datetime, timedelta, timezone

import pytest

from tests.helpers import rows, scalar
from tests.helpers import run_dag as run_dag_process
from tests.reliability.helpers import assert_same_state, mart_state

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SIZE = {"seed": 31, "orgs": 1, "contacts_per_org": 4000, "invoices_per_org": 6000}
FREE = 1000
SWEEP_SHARE = 850  # the default reserve: 150 calls of the Free plan's 1,000
FAST = {"requests_per_minute": 100_000, "max_concurrent": 5}  # the sandbox has no minute limit here


def run_dag(env: dict, dag_id: str, when: datetime) -> dict:
    summary, output = run_dag_process(env, dag_id, when)
    return {**summary, "output": output}


def env_for(sb, uri: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_VAR_ZOHO_", "AIRFLOW_CONN_ZOHO"))}
    env.update(sb.airflow_env())
    (conn_key,) = [k for k in env if k.startswith("AIRFLOW_CONN_ZOHO")]
    conn = json.loads(env[conn_key])
    conn["extra"].update(FAST)
    env[conn_key] = json.dumps(conn)
    env["AIRFLOW_CONN_WAREHOUSE_DEFAULT"] = uri
    return env


def reminders(uri, user_id) -> dict[tuple[str, int], tuple[str, str | None, str | None]]:
    """(zoho invoice id, offset) -> (status, reason, phone) of the tenant's reminders."""
    return {(inv, off): (status, reason, phone) for inv, off, status, reason, phone in rows(uri, """
        select i.zoho_invoice_id, r.offset_days, r.status, r.reason, r.phone
        from analytics.payment_reminders r join analytics.invoices_cache i on i.id = r.invoice_id
        where r.user_id = %s""", user_id)}


@pytest.fixture(scope="module")
def days(sandbox_factory, make_database):
    sb = sandbox_factory(**SIZE, plans={0: "free"}, per_minute_limit=None, max_concurrent=None)
    org = sb.organizations[0]
    when = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)

    uri = make_database("freeplan")
    env = env_for(sb, uri)
    runs, paid = [], None
    for day in range(1, 7):
        if day > 1:
            sb.end_day(org)
        run = run_dag(env, "zoho_sync_nightly", when)
        sweeps = dict(rows(uri, "select entity, phase from zoho_sync.sweeps where user_id = %s", org.user_id))
        entry = {"run": run, "sweeps": sweeps, "reminders": reminders(uri, org.user_id),
                 "deleted": scalar(uri, "select count(*) from zoho_raw.contacts where user_id = %s and is_deleted",
                                   org.user_id)
                 + scalar(uri, "select count(*) from zoho_raw.invoices where user_id = %s and is_deleted",
                          org.user_id)}
        if day == 1:
            paid = next(inv for (inv, _), (status, _, _) in entry["reminders"].items() if status == "pending")
            sb.update_invoice(org, paid, status="paid")
            entry["incremental"] = run_dag(env, "zoho_sync_incremental", when + timedelta(minutes=30))
            entry["after_payment"] = reminders(uri, org.user_id)
        runs.append(entry)
        if sweeps == {"contacts": "complete", "invoices": "complete"}:
            break
    history = sb.day_history(org)
    calls_needed = sum(d["calls"] for d in history[-len(runs):])  # every call the first sync made (and day 1's incremental)
    # the reference: the same Zoho data synced by one nightly run with an unlimited budget
    sb.end_day(org)
    sb.set_plan(org, "premium")
    unlimited = make_database("unlimited")
    reference = run_dag(env_for(sb, unlimited), "zoho_sync_nightly", when)
    return {"sb": sb, "org": org, "uri": uri, "unlimited": unlimited, "reference": reference, "runs": runs,
            "paid": paid, "calls_needed": calls_needed, "history": history}


def test_every_day_is_green_within_the_free_plan_without_a_code_45(days):
    runs = days["runs"]
    assert len(runs) >= 3, "the first sync must need several days' budget for this test to mean anything"
    for day, entry in enumerate(runs, 1):
        for run in (entry["run"], entry.get("incremental")):
            if run is None:
                continue
            failed = [(t["task_id"], t["map_index"]) for t in run["task_instances"] if t["state"] == "failed"]
            assert run["state"] == "success" and not failed, (
                day, failed, [l for l in run["output"].splitlines() if "FAIL" in l or "Error" in l][-20:])
    history = days["history"][-len(runs):]
    assert max(d["calls"] for d in history) <= FREE
    assert sum(d["code_45"] for d in days["history"]) == 0


def test_due_reminders_are_right_from_day_one_and_never_to_a_wrong_phone(days):
    # the reference synced after the payment of day 1: that invoice's reminders are compared elsewhere
    want = {k: v for k, v in reminders(days["unlimited"], days["org"].user_id).items() if k[0] != days["paid"]}
    first = days["runs"][0]["reminders"]
    due = {k for k, (status, _, _) in want.items() if status == "pending"}
    assert due, "the window must hold reminders for this test to mean anything"
    # day 1: the contact pages, the open invoices and those customers' persons fit in the day
    assert {k: first.get(k) for k in due} == {k: want[k] for k in due}
    assert not [k for k, (_, reason, _) in first.items() if reason == "phone_pending"]
    for day, entry in enumerate(days["runs"], 1):
        for key, (status, reason, phone) in entry["reminders"].items():
            if status == "pending" and key[0] != days["paid"]:
                assert want.get(key, (None, None, None))[2] == phone, (day, key, want.get(key))


def test_a_payment_on_day_one_cancels_its_reminders_the_same_day(days):
    entry = days["runs"][0]
    cancelled = {k: v for k, v in entry["after_payment"].items() if k[0] == days["paid"]}
    assert cancelled and all(status == "cancelled" for status, _, _ in cancelled.values()), cancelled


def test_the_sweep_completes_within_its_forecast_and_equals_an_unlimited_run(days):
    runs, org = days["runs"], days["org"]
    assert runs[-1]["sweeps"] == {"contacts": "complete", "invoices": "complete"}
    assert len(runs) <= math.ceil(days["calls_needed"] / SWEEP_SHARE) + 1, (len(runs), days["calls_needed"])
    assert all(entry["deleted"] == 0 for entry in runs)  # nothing deleted in Zoho: nothing ever flagged
    assert days["reference"]["state"] == "success"
    assert_same_state(*(without_invoice(mart_state(uri, org.user_id), days["paid"])
                        for uri in (days["uri"], days["unlimited"])))


def without_invoice(state: dict, invoice_id: str) -> dict:
    """The marts but the reminders of ``invoice_id`` (paid in Zoho before the reference run, so it has
    none there, while the day-by-day warehouse cancelled the ones it had)."""
    reminder_tables = ("analytics.payment_reminders", "analytics.reminders_with_customer")
    return {table: {k: v for k, v in rows_.items() if not (table in reminder_tables and k.startswith(invoice_id + ":"))}
            for table, rows_ in state.items()}
