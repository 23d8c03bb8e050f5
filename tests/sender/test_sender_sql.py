"""The reminder sender's SQL route against a real Postgres: claim under a lease, marks, back-off,
the event history, a reminder run beside a sender, and the ``zoho_sender`` role.

The functions are called as a sender that talks to Postgres directly would call them; the API's
endpoints (tests/api/test_sender.py) are a thin layer over the same functions.
"""
from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.sender.reminders import (claim, due_reminders, events, mark_failed, mark_sent, run, status,
                                    today)
from zoho.warehouse import connection as warehouse


def test_a_claim_holds_due_rows_under_one_lease_and_they_stay_pending(conn):
    due_reminders(conn, 5)
    batch = claim(conn, "sender-a", batch=3)
    assert len(batch) == 3 and len({r["lease_id"] for r in batch}) == 1
    first = batch[0]
    number = int(first["invoice_number"].removeprefix("INV-"))
    assert first["customer_name"] == f"Customer {number}"   # the invoice's own customer
    assert str(first["amount_due"]) == "100.00" and first["phone"] == "+14155550100"
    assert first["scheduled_for"] == today() and first["attempts"] == 0
    held = conn.execute("select status, claimed_by, lease_until > now() + interval '250 seconds' "
                        "from analytics.payment_reminders where lease_id = %s", (first["lease_id"],)).fetchall()
    assert held == [("pending", "sender-a", True)] * 3
    # the next claim gets the other two only
    rest = claim(conn, "sender-b", batch=50)
    assert {r["reminder_id"] for r in rest}.isdisjoint({r["reminder_id"] for r in batch}) and len(rest) == 2
    assert claim(conn, "sender-c") == []
    assert events(conn, first["reminder_id"]) == [("created", "pending", None, "reminder run acme"),
                                                  ("claimed", "pending", None, "sender-a")]


def test_claims_see_only_the_tenants_asked_and_the_marks_too(conn):
    due_reminders(conn, 2, "acme")
    due_reminders(conn, 2, "beta", prefix="B")
    batch = claim(conn, tenants=["beta"])
    assert {r["user_id"] for r in batch} == {"beta"} and len(batch) == 2
    answer = mark_sent(conn, batch[0]["reminder_id"], batch[0]["lease_id"], tenants=["acme"])
    assert answer["outcome"] == "not_found"
    assert status(conn, batch[0]["reminder_id"]) == ("pending", None)


def test_marks_are_idempotent_and_write_one_event(conn):
    due_reminders(conn, 2)
    a, b = claim(conn)
    first = mark_sent(conn, a["reminder_id"], a["lease_id"], message_id="SM-1")
    again = mark_sent(conn, a["reminder_id"], a["lease_id"], message_id="SM-1")
    assert (first["outcome"], again["outcome"]) == ("ok", "unchanged")
    assert first["status"] == again["status"] == "sent" and first["sent_at"] == again["sent_at"]
    other = mark_sent(conn, a["reminder_id"], a["lease_id"], message_id="SM-2")
    assert other["outcome"] == "conflict" and "already marked sent" in other["message"]
    failed = mark_failed(conn, b["reminder_id"], b["lease_id"], error="number unreachable", retryable=False)
    failed_again = mark_failed(conn, b["reminder_id"], b["lease_id"], error="number unreachable", retryable=False)
    assert (failed["outcome"], failed_again["outcome"]) == ("ok", "unchanged")
    assert status(conn, b["reminder_id"]) == ("failed", "send_failed")
    assert [e[0] for e in events(conn, a["reminder_id"])] == ["created", "claimed", "sent"]
    assert [e[:3] for e in events(conn, b["reminder_id"])][-1] == ("failed", "failed", "send_failed")
    assert len(events(conn, b["reminder_id"])) == 3
    # a later run never resets them
    run(conn)
    assert status(conn, a["reminder_id"]) == ("sent", None) and status(conn, b["reminder_id"]) == ("failed", "send_failed")


def test_a_retryable_failure_returns_after_its_back_off_then_gives_up(conn):
    due_reminders(conn, 1)
    (r,) = claim(conn)
    answer = mark_failed(conn, r["reminder_id"], r["lease_id"], error="429 from provider", backoff_seconds=1,
                         max_attempts=3)
    assert answer["outcome"] == "ok" and answer["status"] == "pending" and answer["attempts"] == 1
    assert mark_failed(conn, r["reminder_id"], r["lease_id"], error="429 from provider", backoff_seconds=1,
                       max_attempts=3)["outcome"] == "unchanged"
    # the same lease may not mark it sent after reporting the failure
    assert mark_sent(conn, r["reminder_id"], r["lease_id"])["outcome"] == "conflict"
    assert claim(conn) == []                      # backing off (1 s)
    time.sleep(1.2)
    (again,) = claim(conn, "s2")
    assert again["attempts"] == 1 and again["lease_id"] != r["lease_id"]
    mark_failed(conn, again["reminder_id"], again["lease_id"], error="429 again", backoff_seconds=1, max_attempts=3)
    time.sleep(2.2)                               # 1 s x 2^1
    (third,) = claim(conn, "s3")
    last = mark_failed(conn, third["reminder_id"], third["lease_id"], error="429 still", backoff_seconds=1,
                       max_attempts=3)
    assert (last["status"], last["reason"], last["attempts"]) == ("failed", "send_attempts_exhausted", 3)
    kinds = [(e[0], e[2]) for e in events(conn, r["reminder_id"])]
    assert kinds == [("created", None), ("claimed", None), ("failed", "send_failed_retryable"), ("claimed", None),
                     ("failed", "send_failed_retryable"), ("claimed", None), ("failed", "send_attempts_exhausted")]


def test_an_expired_lease_returns_the_reminder_and_the_old_holder_is_refused(conn):
    due_reminders(conn, 1)
    (r,) = claim(conn, "slow-sender", lease=1)
    assert claim(conn, "other") == []
    time.sleep(1.2)
    (taken,) = claim(conn, "other")
    refused = mark_sent(conn, r["reminder_id"], r["lease_id"])
    assert refused["outcome"] == "conflict" and "held by other" in refused["message"]
    assert mark_sent(conn, taken["reminder_id"], taken["lease_id"])["outcome"] == "ok"


def test_an_expired_lease_nobody_took_still_takes_the_mark(conn):
    due_reminders(conn, 1)
    (r,) = claim(conn, "late", lease=1)
    time.sleep(1.2)
    assert mark_sent(conn, r["reminder_id"], r["lease_id"])["outcome"] == "ok"


def test_a_cancellation_after_the_claim_refuses_the_mark(conn):
    due_reminders(conn, 1)
    (r,) = claim(conn)
    conn.execute("update analytics.invoices_cache set status = 'paid', balance = 0 where id = %s", (r["invoice_id"],))
    run(conn)
    assert status(conn, r["reminder_id"]) == ("cancelled", "invoice_paid")
    refused = mark_sent(conn, r["reminder_id"], r["lease_id"])
    assert refused["outcome"] == "conflict" and "cancelled (invoice_paid)" in refused["message"]
    assert status(conn, r["reminder_id"]) == ("cancelled", "invoice_paid")
    assert events(conn, r["reminder_id"])[-1] == ("cancelled", "cancelled", "invoice_paid", "reminder run acme")


def test_a_run_leaves_a_held_row_as_claimed_and_follows_it_once_released(conn):
    due_reminders(conn, 1)
    (r,) = claim(conn, lease=1)
    conn.execute("update analytics.customers_cache set primary_phone = '+14155550199' where user_id = 'acme'")
    run(conn)
    assert conn.execute("select phone from analytics.payment_reminders where id = %s",
                        (r["reminder_id"],)).fetchone() == ("+14155550100",)
    time.sleep(1.2)                               # the lease ran out without a mark
    run(conn)
    assert conn.execute("select phone from analytics.payment_reminders where id = %s",
                        (r["reminder_id"],)).fetchone() == ("+14155550199",)
    assert [e[0] for e in events(conn, r["reminder_id"])] == ["created", "claimed", "updated"]


def test_a_run_that_changes_nothing_writes_no_event(conn):
    due_reminders(conn, 3)
    before = len(events(conn))
    run(conn)
    run(conn)
    assert len(events(conn)) == before == 3
    conn.execute("update analytics.customers_cache set primary_phone = null where user_id = 'acme'")
    run(conn)
    assert Counter(e[0] for e in events(conn)) == {"created": 3, "withheld": 3}
    conn.execute("update analytics.customers_cache set primary_phone = '+14155550100' where user_id = 'acme'")
    run(conn)
    assert Counter(e[0] for e in events(conn)) == {"created": 3, "withheld": 3, "ready": 3}


def test_the_event_history_is_append_only(conn):
    due_reminders(conn, 1)
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        conn.execute("update analytics.payment_reminder_events set actor = 'x'")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        conn.execute("delete from analytics.payment_reminder_events")


# --------------------------------------------------------------------------- concurrency
def _claim_and_mark(uri: str, sender: str, out, start) -> None:
    """A sender process: claim batches of 20 until none is left, mark each sent."""
    sent = []
    with warehouse.connect(uri, autocommit=True) as conn:
        start.wait(60)  # every sender connected: they start together
        while batch := claim(conn, sender, batch=20):
            for r in batch:
                answer = mark_sent(conn, r["reminder_id"], r["lease_id"], message_id=f"{sender}-{r['reminder_id']}")
                if answer["outcome"] == "ok":
                    sent.append(str(r["reminder_id"]))
    out.put((sender, sent))


def _senders(uri: str, n: int) -> tuple[list[multiprocessing.Process], multiprocessing.Queue, object]:
    """``n`` sender processes started together; the barrier is returned so that it outlives their start."""
    ctx = multiprocessing.get_context("spawn")
    out, start = ctx.Queue(), ctx.Barrier(n)
    procs = [ctx.Process(target=_claim_and_mark, args=(uri, f"sender-{i}", out, start)) for i in range(n)]
    for p in procs:
        p.start()
    return procs, out, start


def test_parallel_claimers_in_separate_processes_never_get_the_same_reminder(conn, marts_uri):
    due_reminders(conn, 400)
    procs, out, _start = _senders(marts_uri, 4)
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    sent = [rid for _, ids in results for rid in ids]
    assert len(sent) == len(set(sent)) == 400
    assert all(ids for _, ids in results), "every sender got work"
    per_reminder = conn.execute("select reminder_id, count(*) filter (where event = 'claimed'), "
                                "count(*) filter (where event = 'sent') from analytics.payment_reminder_events "
                                "group by reminder_id").fetchall()
    assert len(per_reminder) == 400 and {(c, s) for _, c, s in per_reminder} == {(1, 1)}


def test_a_reminder_run_racing_senders_loses_nothing_and_sends_nothing_twice(conn, marts_uri):
    due_reminders(conn, 300)
    # a quarter of the invoices gets paid while the senders work: those reminders are cancelled
    # (refused to a sender holding them) or sent before the run reached them, never both
    paid = [r[0] for r in conn.execute(
        "select id from analytics.invoices_cache where user_id = 'acme' order by id limit 75").fetchall()]
    errors: list[BaseException] = []

    def reminder_runs():
        try:
            with warehouse.connect(marts_uri, autocommit=True) as runner:
                for i in range(0, 75, 15):
                    runner.execute("update analytics.invoices_cache set status = 'paid', balance = 0 "
                                   "where id = any(%s)", (paid[i:i + 15],))
                    run(runner)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    procs, out, _start = _senders(marts_uri, 3)
    runner = threading.Thread(target=reminder_runs)
    runner.start()
    results = [out.get(timeout=120) for _ in procs]
    runner.join(60)
    for p in procs:
        p.join(30)
    assert not errors, errors
    run(conn)  # the last word of the run after the senders
    sent = [rid for _, ids in results for rid in ids]
    assert len(sent) == len(set(sent))
    final = dict(conn.execute("select status, count(*) from analytics.payment_reminders group by status").fetchall())
    assert final.get("sent", 0) == len(sent) and final.get("sent", 0) + final.get("cancelled", 0) == 300
    assert final.get("pending", 0) == 0
    # a reminder is sent or cancelled, never both, and every state change has one event
    both = conn.execute("select count(*) from (select reminder_id from analytics.payment_reminder_events "
                        "where event in ('sent', 'cancelled') group by reminder_id having count(*) > 1) x").fetchone()
    assert both == (0,)


# --------------------------------------------------------------------------- the role
def test_the_sender_role_may_call_its_functions_and_read_nothing(conn, marts_uri):
    due_reminders(conn, 2)
    conn.execute("drop role if exists sender_login")
    conn.execute("create role sender_login login in role zoho_sender")
    try:
        parts = urlsplit(marts_uri)
        uri = urlunsplit((parts.scheme, f"sender_login@{parts.hostname}:{parts.port}", parts.path, "", ""))
        with warehouse.connect(uri, autocommit=True) as sender:
            batch = claim(sender, "db-sender")
            assert len(batch) == 2
            assert mark_sent(sender, batch[0]["reminder_id"], batch[0]["lease_id"])["outcome"] == "ok"
            for statement in ("select * from analytics.payment_reminders",
                              "select * from analytics.customers_cache",
                              "select * from analytics.payment_reminder_events",
                              "update analytics.payment_reminders set status = 'sent'"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    sender.execute(statement)
    finally:
        conn.execute("drop owned by sender_login")
        conn.execute("drop role sender_login")


def test_a_claim_skips_reminders_whose_invoice_the_marts_show_paid(conn):
    due_reminders(conn, 3)
    paid = conn.execute("select invoice_id from analytics.payment_reminders order by id limit 1").fetchone()[0]
    conn.execute("update analytics.invoices_cache set status = 'paid', balance = 0 where id = %s", (paid,))
    batch = claim(conn)        # before the next reminder run has cancelled it
    assert len(batch) == 2 and paid not in {r["invoice_id"] for r in batch}
    run(conn)
    assert conn.execute("select status, reason from analytics.payment_reminders where invoice_id = %s",
                        (paid,)).fetchone() == ("cancelled", "invoice_paid")
