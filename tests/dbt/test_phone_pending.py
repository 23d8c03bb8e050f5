"""``phone_pending`` from raw contacts to reminders, with real dbt and real Postgres.

The sync sets ``zoho_raw.contacts.persons_pending`` when it lands a contact whose persons the phone
rule needs and defers them (a large first sync or a budget stop), and clears it when it stores the
persons. dbt carries it to ``customers_cache.phone_pending``; the reminders of such a customer are
``skipped`` with ``phone_pending`` and no phone until the persons are read, then ``pending`` with the
resolved phone.

One scenario (dbt invocations cost seconds): the ``scenario`` fixture lands the raw rows, runs dbt
and the reminders step by step (build, a run with nothing new, the persons read, the flag flipped
alone and back, a full refresh, the full refresh that adds the column to a mart built without it)
and records what each step left behind; the tests assert on those records.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest
from psycopg.rows import dict_row

from tests.dbt.conftest import connect, land_contact, land_invoice
from tests.dbt.data import contact, invoice, person
from zoho.reminders.generate import generate_reminders
from zoho.reminders.policy import ReminderPolicy

pytestmark = [pytest.mark.integration, pytest.mark.slow]

T = "acme"
WAITING = "460000000027001"      # contact phone only; persons deferred: the phone is a guess until they are read
SILENT = "460000000027002"       # no number anywhere; persons deferred
READY = "460000000027003"        # contact mobile, persons not needed
LEGACY_FILL = "460000000027004"  # no Zoho number, persons deferred; the legacy table has a phone
LEGACY_ONLY = "460000000027005"  # only the legacy table knows it
CUSTOMERS = {WAITING: "9001", SILENT: "9002", READY: "9003", LEGACY_FILL: "9004"}  # their invoices
GUESS, RESOLVED, READY_PHONE, LEGACY_PHONE = "+19259219201", "+14155550102", "+14155550140", "+12025550100"
RUN_DATE = date(2024, 5, 16)     # the invoices' due date: step 0 is in the run's window
HELD = ("skipped", "phone_pending", None)
# the business fields customer_hash covered before phone_pending existed
OLD_HASH = ("md5(cast(jsonb_build_array(customer_name, company_name, email, phone, mobile, primary_phone, "
            "primary_phone_source, contact_persons, status, is_deleted) as text))")


@dataclass
class Step:
    customers: dict[str, dict]
    reminders: dict[str, tuple] = field(default_factory=dict)
    rows_affected: dict[str, int] = field(default_factory=dict)
    reminders_changed: int | None = None
    old_hash: dict[str, str] = field(default_factory=dict)


def _land(conn) -> None:
    land_contact(conn, T, contact(WAITING, "Waiting Ltd", phone="+1-925-921-9201"), phone_e164=GUESS,
                 persons_pending=True)
    land_contact(conn, T, contact(SILENT, "Silent Ltd"), persons_pending=True)
    land_contact(conn, T, contact(READY, "Ready Ltd", mobile="+1 415 555 0140"), mobile_e164=READY_PHONE)
    land_contact(conn, T, contact(LEGACY_FILL, "Legacy Fill Ltd"), persons_pending=True)
    for customer_id, name in ((LEGACY_FILL, "Legacy Fill"), (LEGACY_ONLY, "Legacy Only")):
        conn.execute(
            "insert into zoho_raw.legacy_customers (user_id, customer_id, customer_name, phone, phone_e164, "
            "legacy_rows, legacy_updated_at, source_table, row_hash) "
            "values (%s, %s, %s, '202-555-0100', %s, 1, now(), 'legacy.invoices_cache', md5(%s))",
            (T, customer_id, name, LEGACY_PHONE, customer_id))
    for customer_id, invoice_id in CUSTOMERS.items():
        land_invoice(conn, T, invoice(invoice_id, customer_id, f"INV-{invoice_id}", status="overdue",
                                      due_date=RUN_DATE.isoformat()))


def _read_persons(conn) -> None:
    """What the sync does once it reads the deferred persons: stores them and clears the flag."""
    land_contact(conn, T, contact(WAITING, "Waiting Ltd", phone="+1-925-921-9201"), phone_e164=GUESS,
                 persons=[(person("460000000027011", "Ann", "Waiting", primary=True, mobile="+1 415 555 0102"),
                           RESOLVED, None)])
    land_contact(conn, T, contact(SILENT, "Silent Ltd"),
                 persons=[(person("460000000027012", "Sam", "Silent", primary=True), None, None)])


def _age_raw_rows(conn) -> None:
    """Every raw timestamp a day back: only the flag itself can make the next run look at a customer."""
    for table, columns in (("contacts", "_synced_at = _synced_at - interval '1 day', "
                                        "persons_synced_at = persons_synced_at - interval '1 day'"),
                           ("contact_persons", "_synced_at = _synced_at - interval '1 day'"),
                           ("invoices", "_synced_at = _synced_at - interval '1 day'"),
                           ("legacy_customers", "_synced_at = _synced_at - interval '1 day'")):
        conn.execute(f"update zoho_raw.{table} set {columns}")


def _rows_affected(result) -> dict[str, int]:
    marts = ("customers_cache", "invoices_cache")
    return {r["unique_id"].split(".")[-1]: r["adapter_response"].get("rows_affected")
            for r in result.results if r["unique_id"].split(".")[-1] in marts}


def _step(uri: str, result=None, remind: bool = True) -> Step:
    with connect(uri) as conn:
        with conn.cursor(row_factory=dict_row) as cur:
            customers = {r["zoho_customer_id"]: r for r in cur.execute(
                f"select *, {OLD_HASH} as old_hash from analytics.customers_cache where user_id = %s", (T,))}
        step = Step(customers, old_hash={k: r.pop("old_hash") for k, r in customers.items()})
        if result is not None:
            step.rows_affected = _rows_affected(result)
        if remind:
            summary = generate_reminders(conn, T, RUN_DATE, ReminderPolicy(), gate_passed=True)
            step.reminders_changed = summary.changed
            rows = conn.execute(
                "select c.zoho_customer_id, r.status, r.reason, r.phone from analytics.payment_reminders r "
                "join analytics.customers_cache c on c.id = r.customer_id where r.user_id = %s "
                "and r.offset_days = 0", (T,)).fetchall()
            step.reminders = {customer: (status, reason, phone) for customer, status, reason, phone in rows}
    return step


@pytest.fixture(scope="module")
def scenario(dbt_db) -> dict[str, Step]:
    uri, dbt = dbt_db
    steps: dict[str, Step] = {}
    with connect(uri) as conn:
        _land(conn)
    steps["built"] = _step(uri, dbt("build"))
    steps["rerun"] = _step(uri, dbt("run"))

    with connect(uri) as conn:
        _read_persons(conn)
    steps["persons_read"] = _step(uri, dbt("run"))
    steps["persons_read_again"] = _step(uri)

    with connect(uri) as conn:  # the flag alone, as a budget stop leaves it: no timestamp moves
        _age_raw_rows(conn)
        conn.execute("update zoho_raw.contacts set persons_pending = true where contact_id = %s", (READY,))
    steps["flipped"] = _step(uri, dbt("run"))
    with connect(uri) as conn:
        conn.execute("update zoho_raw.contacts set persons_pending = false where contact_id = %s", (READY,))
    steps["flipped_back"] = _step(uri, dbt("run"))

    dbt("run", "--full-refresh", "--select", "customers_cache+")
    steps["refreshed"] = _step(uri, remind=False)

    with connect(uri) as conn:  # customers_cache as the release before this column built it (the views
        # on it read every column: they go too, and the run rebuilds them, as it rebuilds the old ones)
        conn.execute("update zoho_raw.contacts set persons_pending = true where contact_id = %s", (READY,))
        conn.execute("alter table analytics.customers_cache drop column phone_pending cascade")
    dbt("run", "--full-refresh", "--select", "customers_cache+")  # docs/RUNBOOK.md "Upgrading"
    steps["upgraded"] = _step(uri, remind=False)
    return steps


def test_persons_pending_reaches_customers_cache_as_phone_pending(scenario):
    customers = scenario["built"].customers
    assert {k: r["phone_pending"] for k, r in customers.items()} == {
        WAITING: True, SILENT: True, READY: False, LEGACY_FILL: True, LEGACY_ONLY: False}
    # the phone is still resolved from what is known (the legacy phone fills in below Zoho's)
    assert {k: (r["primary_phone"], r["primary_phone_source"]) for k, r in customers.items()} == {
        WAITING: (GUESS, "contact.phone"), SILENT: (None, None), READY: (READY_PHONE, "contact.mobile"),
        LEGACY_FILL: (LEGACY_PHONE, "legacy.customer_phone"), LEGACY_ONLY: (LEGACY_PHONE, "legacy.customer_phone")}


def test_reminders_of_a_pending_phone_are_withheld_without_a_phone(scenario):
    assert scenario["built"].reminders == {WAITING: HELD, SILENT: HELD, LEGACY_FILL: HELD,
                                           READY: ("pending", None, READY_PHONE)}


def test_a_run_with_nothing_new_writes_nothing(scenario):
    assert scenario["rerun"].rows_affected == {"customers_cache": 0, "invoices_cache": 0}
    assert scenario["rerun"].customers == scenario["built"].customers
    assert scenario["rerun"].reminders == scenario["built"].reminders
    assert scenario["rerun"].reminders_changed == 0


def test_once_the_persons_are_read_the_reminder_is_pending_with_the_resolved_phone(scenario):
    step = scenario["persons_read"]
    assert step.rows_affected == {"customers_cache": 2, "invoices_cache": 0}
    waiting, silent = step.customers[WAITING], step.customers[SILENT]
    assert (waiting["phone_pending"], waiting["primary_phone"], waiting["primary_phone_source"]) == (
        False, RESOLVED, "primary_person.mobile")
    assert (silent["phone_pending"], silent["primary_phone"]) == (False, None)
    assert step.reminders == {WAITING: ("pending", None, RESOLVED), SILENT: ("skipped", "no_phone", None),
                              LEGACY_FILL: HELD, READY: ("pending", None, READY_PHONE)}
    assert step.reminders_changed == 2
    again = scenario["persons_read_again"]  # idempotent
    assert again.reminders == step.reminders and again.reminders_changed == 0


def test_a_flip_of_persons_pending_alone_updates_the_customer_on_an_incremental_run(scenario):
    before, flipped, back = scenario["persons_read"], scenario["flipped"], scenario["flipped_back"]
    assert flipped.rows_affected == {"customers_cache": 1, "invoices_cache": 0}
    ready = flipped.customers[READY]
    assert ready["phone_pending"] is True and ready["primary_phone"] == READY_PHONE
    assert ready["customer_hash"] != before.customers[READY]["customer_hash"]
    assert ready["updated_at"] > before.customers[READY]["updated_at"]
    assert flipped.reminders[READY] == HELD
    for key in set(before.customers) - {READY}:
        assert flipped.customers[key] == before.customers[key], key

    assert back.rows_affected == {"customers_cache": 1, "invoices_cache": 0}
    assert back.customers[READY]["phone_pending"] is False
    assert back.customers[READY]["customer_hash"] == before.customers[READY]["customer_hash"]
    assert back.reminders[READY] == ("pending", None, READY_PHONE)


def test_full_refresh_keeps_phone_pending_hashes_and_updated_at(scenario):
    assert scenario["refreshed"].customers == scenario["flipped_back"].customers


def test_the_hash_of_a_customer_whose_phone_is_not_pending_is_the_one_before_the_column(scenario):
    for name in ("built", "persons_read", "flipped", "refreshed"):
        step = scenario[name]
        for key, row in step.customers.items():
            assert (row["customer_hash"] == step.old_hash[key]) is (not row["phone_pending"]), (name, key)


def test_a_full_refresh_over_a_mart_built_without_the_column_adds_it_and_keeps_the_rest(scenario):
    before, after = scenario["refreshed"].customers, scenario["upgraded"].customers
    assert after[READY]["phone_pending"] is True and after[READY]["updated_at"] > before[READY]["updated_at"]
    for key in set(before) - {READY}:
        assert after[key] == before[key], key
