"""``generate_reminders`` against a real Postgres: windows, skip and cancel reasons, idempotency.

Default policy throughout unless a case says otherwise: steps [-3, 0, 3, 7, 14], window D-2..D+1.
The invoice "due" on 2026-03-10 has its steps on 03-07 (-3), 03-10 (0), 03-13 (3), 03-17 (7) and
03-24 (14).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tests.reminders.marts import add_customer, add_invoice, reminder_uuid
from zoho.reminders.policy import ReminderPolicy
from zoho.reminders.generate import generate_reminders

T = "acme"
DUE = date(2026, 3, 10)
PHONE = "+14155550100"
DEFAULT = ReminderPolicy()


def run(conn, run_date: date, policy: ReminderPolicy = DEFAULT, gate_passed: bool = True, user_id: str = T):
    return generate_reminders(conn, user_id, run_date, policy, gate_passed)


def reminders(conn, user_id: str = T) -> dict[tuple[str, int], tuple[str, str | None, str | None]]:
    """(zoho_invoice_id, offset_days) -> (status, reason, phone)."""
    rows = conn.execute(
        "select i.zoho_invoice_id, r.offset_days, r.status, r.reason, r.phone "
        "from analytics.payment_reminders r join analytics.invoices_cache i on i.id = r.invoice_id "
        "where r.user_id = %s order by 1, 2", (user_id,)).fetchall()
    return {(inv, off): (status, reason, phone) for inv, off, status, reason, phone in rows}


def snapshot(conn) -> list[tuple]:
    return conn.execute("select * from analytics.payment_reminders order by id").fetchall()


def invoice(conn, zoho_id: str = "INV1", customer: str | None = "C1", **columns):
    return add_invoice(conn, T, zoho_id, customer, **{"due_date": DUE, **columns})


def customer(conn, zoho_id: str = "C1", **columns):
    return add_customer(conn, T, zoho_id, **columns)


# --- windows -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("run_date", "offsets"), [
    (date(2026, 3, 4), []),          # window 03-02..03-05: before the first step
    (date(2026, 3, 6), [-3]),        # 03-04..03-07: -3 on its last window day (D+1)
    (date(2026, 3, 9), [-3, 0]),     # 03-07..03-10
    (date(2026, 3, 10), [0]),        # 03-08..03-11
    (date(2026, 3, 12), [0, 3]),     # 03-10..03-13: 0 on its first window day (D-2)
    (date(2026, 3, 13), [3]),        # 03-11..03-14
    (date(2026, 3, 16), [7]),        # 03-14..03-17
    (date(2026, 3, 20), []),         # 03-18..03-21: between steps
    (date(2026, 3, 26), [14]),       # 03-24..03-27
    (date(2026, 3, 27), []),         # 03-25..03-28: after the last step
])
def test_steps_are_created_only_in_their_window(conn, run_date, offsets):
    customer(conn)
    invoice(conn)
    summary = run(conn, run_date)
    assert reminders(conn) == {("INV1", o): ("pending", None, PHONE) for o in offsets}
    assert summary.created == len(offsets)


def test_daily_runs_create_each_step_once_on_the_first_run_whose_window_holds_it(conn):
    customer(conn)
    iid = invoice(conn)
    first_created: dict[int, date] = {}
    for day in range(40):
        run_date = date(2026, 3, 1) + timedelta(days=day)
        run(conn, run_date)
        for (_, offset) in reminders(conn):
            first_created.setdefault(offset, run_date)
    # window D-2..D+1: a step scheduled on S first appears on the run of S-1
    assert first_created == {o: DUE + timedelta(days=o - 1) for o in DEFAULT.steps}
    rows = conn.execute("select id, offset_days, scheduled_for from analytics.payment_reminders "
                        "order by offset_days").fetchall()
    assert rows == [(reminder_uuid(iid, o), o, DUE + timedelta(days=o)) for o in DEFAULT.steps]


def test_first_sync_creates_no_stale_steps(conn):
    customer(conn)
    invoice(conn, "OLD", due_date=date(2026, 1, 15))     # all steps long past
    invoice(conn, "RECENT", due_date=date(2026, 3, 1))   # steps 02-26, 03-01, 03-04, 03-08, 03-15
    invoice(conn, "FUTURE", due_date=date(2026, 4, 30))  # first step 04-27
    run(conn, date(2026, 3, 9))                          # window 03-07..03-10
    assert reminders(conn) == {("RECENT", 7): ("pending", None, PHONE)}


def test_backfill_for_an_earlier_date_creates_only_that_dates_window(conn):
    customer(conn)
    invoice(conn)
    run(conn, date(2026, 3, 12))
    assert set(reminders(conn)) == {("INV1", 0), ("INV1", 3)}
    before = snapshot(conn)
    summary = run(conn, date(2026, 3, 6))  # window 03-04..03-07
    assert set(reminders(conn)) == {("INV1", -3), ("INV1", 0), ("INV1", 3)}
    assert summary.created == 1 and summary.changed == 1
    assert [r for r in snapshot(conn) if r in before] == before  # the later window's rows untouched


def test_custom_policy_steps_and_window(conn):
    customer(conn)
    invoice(conn)
    policy = ReminderPolicy(steps=(-1, 1), window_days_before=0, window_days_after=0)
    run(conn, date(2026, 3, 9), policy)
    run(conn, date(2026, 3, 10), policy)
    assert set(reminders(conn)) == {("INV1", -1)}
    run(conn, date(2026, 3, 11), policy)
    assert set(reminders(conn)) == {("INV1", -1), ("INV1", 1)}


# --- invoices that get no reminder -----------------------------------------------------------------

@pytest.mark.parametrize(("columns", "policy"), [
    ({"status": "draft"}, DEFAULT),
    ({"status": "paid", "balance": Decimal(0)}, DEFAULT),
    ({"status": "paid", "balance": Decimal(5)}, DEFAULT),        # paid wins over a stale balance
    ({"status": "void"}, DEFAULT),
    ({"status": "pending_approval"}, DEFAULT),                   # not an eligible status by default
    ({"status": None}, DEFAULT),
    ({"is_deleted": True}, DEFAULT),
    ({"balance": Decimal(0)}, DEFAULT),
    ({"balance": Decimal("-5")}, DEFAULT),
    ({"balance": None}, DEFAULT),
    ({"due_date": None}, DEFAULT),
    ({"balance": Decimal("9.99")}, ReminderPolicy(min_amount=Decimal(10))),
], ids=["draft", "paid", "paid-with-balance", "void", "pending_approval", "no-status", "deleted",
        "zero-balance", "negative-balance", "no-balance", "no-due-date", "below-minimum"])
def test_no_reminder_for_an_ineligible_invoice(conn, columns, policy):
    customer(conn)
    invoice(conn, **columns)
    for run_date in (date(2026, 3, 9), date(2026, 3, 16)):
        summary = run(conn, run_date, policy)
        assert summary.created == 0
    assert reminders(conn) == {}


def test_balance_equal_to_the_minimum_is_eligible(conn):
    customer(conn)
    invoice(conn, balance=Decimal(10))
    run(conn, date(2026, 3, 10), ReminderPolicy(min_amount=Decimal(10)))
    assert reminders(conn) == {("INV1", 0): ("pending", None, PHONE)}


@pytest.mark.parametrize("status", ["sent", "viewed", "overdue", "partially_paid", "unpaid"])
def test_each_eligible_status_gets_a_reminder(conn, status):
    customer(conn)
    invoice(conn, status=status)
    run(conn, date(2026, 3, 10))
    assert reminders(conn) == {("INV1", 0): ("pending", None, PHONE)}


# --- skip reasons ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("setup", "gate_passed", "expected"), [
    ("no_customer", True, ("skipped", "no_customer", None)),
    ("no_phone", True, ("skipped", "no_phone", None)),
    ("blank_phone", True, ("skipped", "no_phone", None)),
    # created skipped, then cancelled by the same run (docs/CONTRACT.md "Reminder policy": a deleted customer's
    # reminders are cancelled)
    ("customer_deleted", True, ("cancelled", "customer_deleted", None)),
    ("ok", False, ("skipped", "quality_gate_failed", None)),
    # precedence: the gate first, then no_customer, customer_deleted, no_phone
    ("no_customer", False, ("skipped", "quality_gate_failed", None)),
    ("no_phone", False, ("skipped", "quality_gate_failed", None)),
    ("deleted_without_phone", True, ("cancelled", "customer_deleted", None)),
    ("ok", True, ("pending", None, PHONE)),
], ids=["no_customer", "no_phone", "blank_phone", "customer_deleted", "gate_failed", "gate_over_no_customer",
        "gate_over_no_phone", "deleted_over_no_phone", "pending"])
def test_skip_reason(conn, setup, gate_passed, expected):
    if setup == "no_customer":
        invoice(conn, customer="C404", customer_id=None)  # Zoho says the customer does not exist
    else:
        customer(conn, **{"no_phone": {"primary_phone": None}, "blank_phone": {"primary_phone": " "},
                          "customer_deleted": {"is_deleted": True},
                          "deleted_without_phone": {"is_deleted": True, "primary_phone": None}}.get(setup, {}))
        invoice(conn)
    run(conn, date(2026, 3, 10), gate_passed=gate_passed)
    assert reminders(conn) == {("INV1", 0): expected}


def test_gate_failure_creates_no_pending_row_and_withholds_the_windows_pending_rows(conn):
    customer(conn)
    invoice(conn, "INV1")                                        # steps 03-07, 03-10, ...
    invoice(conn, "INV2", due_date=DUE + timedelta(days=1))     # steps 03-08, 03-11, ...
    run(conn, date(2026, 3, 9))                                  # window 03-07..03-10
    assert set(reminders(conn).values()) == {("pending", None, PHONE)}
    summary = run(conn, date(2026, 3, 10), gate_passed=False)   # window 03-08..03-11
    held = ("skipped", "quality_gate_failed", None)
    assert reminders(conn) == {("INV1", -3): ("pending", None, PHONE),  # 03-07: outside the window
                               ("INV1", 0): held, ("INV2", -3): held, ("INV2", 0): held}
    assert (summary.created, summary.reevaluated) == (1, 2)
    run(conn, date(2026, 3, 10))                                 # the gate passes again: released
    assert set(reminders(conn).values()) == {("pending", None, PHONE)}


def test_phone_added_later_turns_the_skipped_row_pending(conn):
    cid = customer(conn, primary_phone=None)
    invoice(conn)
    run(conn, date(2026, 3, 9))
    assert reminders(conn)[("INV1", 0)] == ("skipped", "no_phone", None)
    conn.execute("update analytics.customers_cache set primary_phone = %s where id = %s", (PHONE, cid))
    run(conn, date(2026, 3, 10))
    assert reminders(conn)[("INV1", 0)] == ("pending", None, PHONE)


def test_customer_arriving_later_turns_the_no_customer_row_pending(conn):
    iid = invoice(conn, customer="C1", customer_id=None)
    run(conn, date(2026, 3, 10))
    assert reminders(conn)[("INV1", 0)] == ("skipped", "no_customer", None)
    cid = customer(conn)
    conn.execute("update analytics.invoices_cache set customer_id = %s where id = %s", (cid, iid))
    run(conn, date(2026, 3, 10))
    assert reminders(conn)[("INV1", 0)] == ("pending", None, PHONE)
    assert conn.execute("select customer_id from analytics.payment_reminders").fetchone()[0] == cid


def test_changed_or_removed_phone_is_followed_in_the_window_only(conn):
    cid = customer(conn)
    invoice(conn)
    run(conn, date(2026, 3, 9))                       # -3 (03-07) and 0 (03-10) pending
    conn.execute("update analytics.customers_cache set primary_phone = '+442071838750' where id = %s", (cid,))
    run(conn, date(2026, 3, 10))                      # window 03-08..03-11: only step 0
    assert reminders(conn) == {("INV1", -3): ("pending", None, PHONE),
                               ("INV1", 0): ("pending", None, "+442071838750")}
    conn.execute("update analytics.customers_cache set primary_phone = null where id = %s", (cid,))
    run(conn, date(2026, 3, 10))
    assert reminders(conn)[("INV1", 0)] == ("skipped", "no_phone", None)


# --- cancellation ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "policy", "reason"), [
    ("update analytics.invoices_cache set status = 'paid', balance = 0", DEFAULT, "invoice_paid"),
    ("update analytics.invoices_cache set balance = 0", DEFAULT, "invoice_paid"),
    ("update analytics.invoices_cache set status = 'void'", DEFAULT, "invoice_void"),
    ("update analytics.invoices_cache set is_deleted = true", DEFAULT, "invoice_deleted"),
    ("update analytics.invoices_cache set status = 'draft'", DEFAULT, "invoice_not_eligible"),
    ("update analytics.invoices_cache set balance = 4", ReminderPolicy(min_amount=Decimal(5)), "below_minimum"),
    ("update analytics.customers_cache set is_deleted = true", DEFAULT, "customer_deleted"),
    # precedence: deleted > void > paid > not eligible > below minimum > customer deleted
    ("update analytics.invoices_cache set is_deleted = true, status = 'void'", DEFAULT, "invoice_deleted"),
    ("update analytics.invoices_cache set status = 'void', balance = 0", DEFAULT, "invoice_void"),
    ("update analytics.invoices_cache set status = 'draft', balance = 0", DEFAULT, "invoice_paid"),
    ("update analytics.invoices_cache set balance = 0; update analytics.customers_cache set is_deleted = true",
     DEFAULT, "invoice_paid"),
])
@pytest.mark.parametrize("later", [date(2026, 3, 10), date(2026, 4, 20)], ids=["in-window", "weeks-later"])
def test_cancel_reason(conn, change, policy, reason, later):
    customer(conn, primary_phone=None)
    invoice(conn, "INV1")
    customer(conn, "C2")
    invoice(conn, "INV2", "C2")
    run(conn, date(2026, 3, 9), policy)               # skipped (no phone) and pending rows for -3 and 0
    assert {s for s, _, _ in reminders(conn).values()} == {"pending", "skipped"}
    conn.execute(change)
    summary = run(conn, later, policy)                # weeks later: the rows are far outside the window
    assert set(reminders(conn).values()) == {("cancelled", reason, None), ("cancelled", reason, PHONE)}
    assert summary.cancelled == 4


def test_cancel_also_applies_when_the_gate_failed(conn):
    customer(conn)
    invoice(conn)
    run(conn, date(2026, 3, 10))
    conn.execute("update analytics.invoices_cache set status = 'paid', balance = 0")
    run(conn, date(2026, 3, 10), gate_passed=False)
    assert reminders(conn) == {("INV1", 0): ("cancelled", "invoice_paid", PHONE)}


def test_cancelled_is_final(conn):
    customer(conn)
    invoice(conn)
    run(conn, date(2026, 3, 10))
    conn.execute("update analytics.invoices_cache set status = 'paid', balance = 0")
    run(conn, date(2026, 3, 10))
    conn.execute("update analytics.invoices_cache set status = 'overdue', balance = 100")  # payment reversed
    run(conn, date(2026, 3, 10))
    assert reminders(conn) == {("INV1", 0): ("cancelled", "invoice_paid", PHONE)}
    run(conn, date(2026, 3, 12))                       # the next step is created as usual
    assert reminders(conn)[("INV1", 3)] == ("pending", None, PHONE)


# --- due date changes ---------------------------------------------------------------------------------

def test_extended_due_date_moves_the_pending_step(conn):
    customer(conn)
    iid = invoice(conn)
    run(conn, date(2026, 3, 9))                        # -3 (03-07), 0 (03-10)
    conn.execute("update analytics.invoices_cache set due_date = '2026-04-10' where id = %s", (iid,))
    summary = run(conn, date(2026, 3, 9))
    assert summary.rescheduled == 2
    rows = conn.execute("select offset_days, scheduled_for, status from analytics.payment_reminders "
                        "order by offset_days").fetchall()
    assert rows == [(-3, date(2026, 4, 7), "pending"), (0, date(2026, 4, 10), "pending")]


def test_due_date_moved_back_cancels_steps_that_now_fall_before_the_window(conn):
    customer(conn)
    iid = invoice(conn)
    run(conn, date(2026, 3, 9))                        # -3 (03-07), 0 (03-10)
    conn.execute("update analytics.invoices_cache set due_date = '2026-03-01' where id = %s", (iid,))
    run(conn, date(2026, 3, 9))                        # steps now 02-26, 03-01, 03-04, 03-08
    assert reminders(conn) == {("INV1", -3): ("cancelled", "due_date_changed", PHONE),
                               ("INV1", 0): ("cancelled", "due_date_changed", PHONE),
                               ("INV1", 7): ("pending", None, PHONE)}


# --- idempotency, sent rows, tenants ------------------------------------------------------------------

def _mixed_dataset(conn):
    customer(conn, "C1")
    customer(conn, "C2", primary_phone=None)
    customer(conn, "C3", is_deleted=True)
    invoice(conn, "OK", "C1")
    invoice(conn, "NOPHONE", "C2")
    invoice(conn, "GONE", "C3")
    invoice(conn, "ORPHAN", "C9", customer_id=None)
    invoice(conn, "PAID", "C1", status="paid", balance=Decimal(0))
    invoice(conn, "DRAFT", "C1", status="draft")
    invoice(conn, "LATER", "C1", due_date=DUE + timedelta(days=1))


@pytest.mark.parametrize("gate_passed", [True, False])
def test_second_run_changes_nothing(conn, gate_passed):
    _mixed_dataset(conn)
    first = run(conn, date(2026, 3, 10), gate_passed=gate_passed)
    assert first.created > 0
    before = snapshot(conn)
    second = run(conn, date(2026, 3, 10), gate_passed=gate_passed)
    assert snapshot(conn) == before                   # same rows, same updated_at
    assert (second.created, second.rescheduled, second.reevaluated, second.cancelled) == (0, 0, 0, 0)
    assert second.by_status == first.by_status


def test_sent_and_failed_rows_survive_every_later_run_unchanged(conn):
    cid = customer(conn)
    iid = invoice(conn)
    run(conn, date(2026, 3, 9))                       # -3 and 0 pending
    conn.execute("update analytics.payment_reminders set status = 'sent' where offset_days = -3")
    conn.execute("update analytics.payment_reminders set status = 'failed', reason = 'carrier_rejected' "
                 "where offset_days = 0")
    kept = snapshot(conn)
    changes = [
        ("update analytics.customers_cache set primary_phone = '+442071838750' where id = %s", cid),
        ("update analytics.customers_cache set primary_phone = null where id = %s", cid),
        ("update analytics.invoices_cache set due_date = '2026-03-20' where id = %s", iid),
        ("update analytics.invoices_cache set status = 'paid', balance = 0 where id = %s", iid),
        ("update analytics.invoices_cache set status = 'void' where id = %s", iid),
        ("update analytics.customers_cache set is_deleted = true where id = %s", cid),
        ("update analytics.invoices_cache set is_deleted = true where id = %s", iid),
    ]
    for stmt, key in changes:
        conn.execute(stmt, (key,))
        for run_date, gate in ((date(2026, 3, 9), True), (date(2026, 3, 10), False), (date(2026, 3, 18), True)):
            run(conn, run_date, gate_passed=gate)
            now = {r[0]: r for r in snapshot(conn)}
            assert [now[r[0]] for r in kept] == kept, stmt


def test_other_tenants_are_not_touched(conn):
    customer(conn)
    invoice(conn)
    add_customer(conn, "other", "C1")
    add_invoice(conn, "other", "INV1", "C1", due_date=DUE)
    run(conn, date(2026, 3, 10), user_id="other")
    other = snapshot(conn)
    conn.execute("update analytics.invoices_cache set status = 'paid', balance = 0 where user_id = 'other'")
    conn.execute("update analytics.customers_cache set is_deleted = true where user_id = 'other'")
    summary = run(conn, date(2026, 3, 10))
    assert summary.created == 1 and summary.cancelled == 0
    assert summary.by_status == {("pending", ""): 1}
    assert [r for r in snapshot(conn) if r[1] == "other"] == other


def test_summary_counts_by_status_and_reason(conn):
    _mixed_dataset(conn)
    summary = run(conn, date(2026, 3, 10))
    assert summary.by_status == {("pending", ""): 3, ("skipped", "no_phone"): 1, ("skipped", "no_customer"): 1,
                                 ("cancelled", "customer_deleted"): 1}
    assert summary.created == 6 and summary.totals() == {"pending": 3, "skipped": 2, "cancelled": 1}
    table = summary.table()
    assert "tenant 'acme'" in table and "no_customer" in table and "quality gate passed" in table


def test_run_date_given_as_a_datetime_uses_its_day(conn):
    customer(conn)
    invoice(conn)
    summary = run(conn, datetime(2026, 3, 12, 23, 30, tzinfo=timezone.utc))
    assert summary.run_date == date(2026, 3, 12)
    assert set(reminders(conn)) == {("INV1", 0), ("INV1", 3)}
