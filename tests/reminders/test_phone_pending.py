"""``generate_reminders`` for customers whose phone is pending (``customers_cache.phone_pending``):
the phone rule needs contact persons the sync has not read yet, so ``primary_phone`` may be a guess.
Such a reminder is ``skipped`` with ``phone_pending`` and no phone, and becomes ``pending`` with
the resolved phone once the persons are read, as a ``no_phone`` one does when a phone appears.

Marts from the dbt contract (tests/reminders/marts.py); tests/dbt/test_phone_pending.py builds
``phone_pending`` with dbt from raw contacts. Default policy: the invoice due 2026-03-10 has steps
on 03-07 (-3) and 03-10 (0); a run on 03-09 works on 03-07..03-10, one on 03-10 on 03-08..03-11.
"""
from __future__ import annotations

from datetime import date

import pytest

from tests.reminders.test_reminders import PHONE, customer, invoice, reminders, run, snapshot

GUESS = PHONE                # what the contact's own fields give while its persons are unread
RESOLVED = "+14155550102"    # the primary person's mobile, once the persons are read
HELD = ("skipped", "phone_pending", None)


def persons_read(conn, cid, phone: str | None = RESOLVED, source: str | None = "primary_person.mobile") -> None:
    """What the next dbt run writes once the sync has stored the customer's persons."""
    conn.execute("update analytics.customers_cache set phone_pending = false, primary_phone = %s, "
                 "primary_phone_source = %s where id = %s", (phone, source if phone else None, cid))


def test_a_pending_phone_withholds_the_reminder_and_never_uses_the_guess(conn):
    customer(conn, phone_pending=True, primary_phone=GUESS, primary_phone_source="contact.phone")
    invoice(conn)
    summary = run(conn, date(2026, 3, 10))
    assert reminders(conn) == {("INV1", 0): HELD}
    assert summary.by_status == {("skipped", "phone_pending"): 1}


@pytest.mark.parametrize(("columns", "gate_passed", "expected"), [
    ({"primary_phone": None, "primary_phone_source": None}, True, HELD),   # over no_phone
    ({"primary_phone": " "}, True, HELD),
    ({}, False, ("skipped", "quality_gate_failed", None)),                 # the gate first
    ({"is_deleted": True}, True, ("cancelled", "customer_deleted", None)),  # a deleted customer's are cancelled
], ids=["over-no_phone", "over-blank-phone", "gate-over-phone_pending", "deleted-over-phone_pending"])
def test_phone_pending_precedence(conn, columns, gate_passed, expected):
    customer(conn, phone_pending=True, **columns)
    invoice(conn)
    run(conn, date(2026, 3, 10), gate_passed=gate_passed)
    assert reminders(conn) == {("INV1", 0): expected}


def test_the_reminder_becomes_pending_with_the_resolved_phone_once_the_persons_are_read(conn):
    cid = customer(conn, phone_pending=True, primary_phone=GUESS, primary_phone_source="contact.phone")
    invoice(conn)
    run(conn, date(2026, 3, 9))
    assert reminders(conn) == {("INV1", -3): HELD, ("INV1", 0): HELD}
    persons_read(conn, cid)
    summary = run(conn, date(2026, 3, 10))
    # re-evaluated in the run's window only, as no_phone rows are: 03-07 is behind it
    assert reminders(conn) == {("INV1", -3): HELD, ("INV1", 0): ("pending", None, RESOLVED)}
    assert (summary.created, summary.reevaluated) == (0, 1)
    before = snapshot(conn)
    again = run(conn, date(2026, 3, 10))
    assert snapshot(conn) == before and again.changed == 0


def test_a_customer_without_any_phone_shows_phone_pending_until_its_persons_are_read(conn):
    cid = customer(conn, phone_pending=True, primary_phone=None, primary_phone_source=None)
    invoice(conn)
    run(conn, date(2026, 3, 10))
    assert reminders(conn) == {("INV1", 0): HELD}
    persons_read(conn, cid, phone=None)              # the persons have no number either
    run(conn, date(2026, 3, 10))
    assert reminders(conn) == {("INV1", 0): ("skipped", "no_phone", None)}
    persons_read(conn, cid)                          # a later sync finds one
    run(conn, date(2026, 3, 10))
    assert reminders(conn) == {("INV1", 0): ("pending", None, RESOLVED)}


def test_a_pending_reminder_is_withheld_when_the_phone_becomes_pending_again(conn):
    cid = customer(conn)
    invoice(conn)
    run(conn, date(2026, 3, 10))
    assert reminders(conn) == {("INV1", 0): ("pending", None, PHONE)}
    # the contact changed and its persons are unread again: its phone may change, send nothing
    conn.execute("update analytics.customers_cache set phone_pending = true where id = %s", (cid,))
    run(conn, date(2026, 3, 10))
    assert reminders(conn) == {("INV1", 0): HELD}


def test_sent_rows_are_not_touched_by_a_pending_phone(conn):
    cid = customer(conn)
    invoice(conn)
    run(conn, date(2026, 3, 9))
    conn.execute("update analytics.payment_reminders set status = 'sent' where offset_days = -3")
    conn.execute("update analytics.customers_cache set phone_pending = true where id = %s", (cid,))
    run(conn, date(2026, 3, 9))
    assert reminders(conn) == {("INV1", -3): ("sent", None, PHONE), ("INV1", 0): HELD}


@pytest.mark.parametrize("gate_passed", [True, False])
def test_second_run_changes_nothing(conn, gate_passed):
    customer(conn, "C1", phone_pending=True)
    customer(conn, "C2", phone_pending=True, primary_phone=None, primary_phone_source=None)
    customer(conn, "C3")
    for zoho_id in ("C1", "C2", "C3"):
        invoice(conn, f"INV-{zoho_id}", zoho_id)
    first = run(conn, date(2026, 3, 9), gate_passed=gate_passed)
    assert first.created == 6
    before = snapshot(conn)
    second = run(conn, date(2026, 3, 9), gate_passed=gate_passed)
    assert snapshot(conn) == before and second.changed == 0
    assert second.by_status == first.by_status
    if gate_passed:
        assert first.by_status == {("pending", ""): 2, ("skipped", "phone_pending"): 4}
