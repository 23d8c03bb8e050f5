"""Due reminders for the sender tests: invoices due today (UTC), one reminder each (step 0) made by
the real reminder run, and the sender's SQL functions called as a sender would."""
from __future__ import annotations

from datetime import datetime, timezone

from tests.reminders.marts import add_customer, add_invoice
from zoho.reminders.generate import generate_reminders
from zoho.reminders.policy import ReminderPolicy

POLICY = ReminderPolicy()


def today():
    return datetime.now(timezone.utc).date()


def due_reminders(conn, n: int, tenant: str = "acme", prefix: str = "INV", phone: str = "+14155550100") -> None:
    """``n`` invoices of ``tenant`` due today with a customer each: ``n`` pending reminders due today."""
    for i in range(n):
        add_customer(conn, tenant, f"C-{prefix}-{i}", customer_name=f"Customer {i}", primary_phone=phone)
        add_invoice(conn, tenant, f"{prefix}-{i}", f"C-{prefix}-{i}", due_date=today(), invoice_number=f"{prefix}-{i:05d}")
    run(conn, tenant)


def run(conn, tenant: str = "acme"):
    return generate_reminders(conn, tenant, today(), POLICY, True)


def claim(conn, sender: str = "s1", batch: int = 50, lease: int = 300, tenants=None) -> list[dict]:
    cur = conn.execute("select * from analytics.claim_reminders(%s, %s, %s, %s, %s)",
                       (sender, batch, lease, tenants, today()))
    names = [c.name for c in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def mark_sent(conn, reminder_id, lease_id, provider="twilio", message_id="SM1", tenants=None) -> dict:
    cur = conn.execute("select * from analytics.mark_reminder_sent(%s, %s, %s, %s, %s)",
                       (reminder_id, lease_id, provider, message_id, tenants))
    return dict(zip([c.name for c in cur.description], cur.fetchone()))


def mark_failed(conn, reminder_id, lease_id, error="provider timeout", retryable=True, tenants=None,
                max_attempts=5, backoff_seconds=300) -> dict:
    cur = conn.execute("select * from analytics.mark_reminder_failed(%s, %s, %s, %s, %s, %s, %s)",
                       (reminder_id, lease_id, error, retryable, tenants, max_attempts, backoff_seconds))
    return dict(zip([c.name for c in cur.description], cur.fetchone()))


def events(conn, reminder_id=None) -> list[tuple]:
    """(event, status, reason, actor) of one reminder (or all), in order."""
    return conn.execute(
        "select event, status, reason, actor from analytics.payment_reminder_events "
        "where cast(%(id)s as uuid) is null or reminder_id = %(id)s order by id", {"id": reminder_id}).fetchall()


def status(conn, reminder_id) -> tuple:
    return conn.execute("select status, reason from analytics.payment_reminders where id = %s",
                        (reminder_id,)).fetchone()
