"""Faults inside a whole DAG run (``dag.test()`` of the nightly DAG: real Airflow retries, cosmos +
dbt, the quality gate, the reminders), compared on the marts.

The run is tests/reliability/dagrun.py: two tenants hit faults that their first try cannot survive
(an HTTP 500 outage longer than the client's retries; the warehouse session killed mid-load), plus
faults the client absorbs (code 44 bursts, an access token expiring mid-run). Airflow retries the
failed tries; afterwards each faulted tenant's marts (customers_cache, invoices_cache,
payment_reminders and the two analyst views) equal those of its clean twin, which synced the same
Zoho data in the same run without any fault: every row compared by checksum, with only the load
timestamps and the uuids derived from the user_id left out (those are checked against their formula).
"""
from __future__ import annotations

import pytest

from zoho.warehouse import connection as warehouse

from .dagrun import BROKEN, CLEAN, FAULTED, TWINS
from tests.helpers import rows
from .helpers import assert_ids_follow_the_formula, assert_same_state

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_the_faulted_tries_failed_and_airflow_retried_them(whole_run):
    for user_id in CLEAN:
        ti = whole_run.extract(user_id)
        assert (ti["state"], ti["try_number"]) == ("success", 1), ti
        assert ti["rendered_map_index"] == user_id  # the UI labels the task with the user_id
    for user_id in FAULTED:
        ti = whole_run.extract(user_id)
        assert (ti["state"], ti["try_number"]) == ("success", 2), ti  # try 1 failed, the retry succeeded
    assert len(whole_run.killed) == 1  # the warehouse session of "faulted; '--" was terminated mid-load
    out = whole_run.output
    assert "ServerError" in out and "gave up after 2 retries" in out
    assert "terminating connection due to administrator command" in out
    assert "access token rejected; refreshing once" in out
    assert "throttled" in out


def test_the_tenant_with_bad_credentials_fails_alone_and_is_not_retried(whole_run):
    ti = whole_run.extract(BROKEN)
    assert (ti["state"], ti["try_number"]) == ("failed", 1), ti
    assert f"tenant '{BROKEN}'" in whole_run.output and "invalid_code" in whole_run.output
    assert whole_run.state == "failed"  # the run must not look green
    states = {t["task_id"]: t["state"] for t in whole_run.task_instances if t["map_index"] < 0}
    assert states["quality_gate"] == "success" and states["generate_reminders"] == "success"
    assert states["run_failed"] == "failed"


@pytest.mark.parametrize("faulted", FAULTED)
def test_after_the_retries_the_marts_equal_those_of_the_clean_run(whole_run, faulted):
    clean = TWINS[faulted]
    expected, actual = whole_run.marts[clean], whole_run.marts[faulted]
    assert expected["analytics.customers_cache"] and expected["analytics.invoices_cache"]
    assert expected["analytics.payment_reminders"], "the data must produce reminders"
    assert_same_state(actual, expected)
    for user_id in (clean, faulted):
        assert_ids_follow_the_formula(whole_run.uri, user_id)


def test_no_change_lost_no_reminder_duplicated(whole_run):
    uri = whole_run.uri
    # every invoice and customer of the faulted tenants' Zoho data is in the marts
    sb = whole_run.sandboxes["faulted"]
    for i, user_id in enumerate(FAULTED):
        customers = {c["contact_id"] for c in sb.contacts(i) if c["contact_type"] == "customer"}
        invoices = {inv["invoice_id"] for inv in sb.invoices(i)}
        assert {r[0] for r in rows(uri, "select zoho_customer_id from analytics.customers_cache where user_id = %s",
                                   user_id)} == customers
        assert {r[0] for r in rows(uri, "select zoho_invoice_id from analytics.invoices_cache where user_id = %s",
                                   user_id)} == invoices
    with warehouse.connect(uri) as conn:
        dup = conn.execute("select count(*) - count(distinct (invoice_id, offset_days)) "
                           "from analytics.payment_reminders").fetchone()[0]
        assert dup == 0
        per_invoice = conn.execute("select max(n) from (select count(*) n from analytics.payment_reminders "
                                   "group by invoice_id, offset_days) s").fetchone()[0]
        assert per_invoice == 1
