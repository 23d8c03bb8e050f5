"""A reminder's history: the rows of ``analytics.payment_reminder_events`` (written by a trigger on
``analytics.payment_reminders``, one per state change: created, withheld, ready, updated, claimed,
sent, failed, cancelled), oldest first. Read by the API and the Customer sync page."""
from __future__ import annotations

import uuid

import psycopg
from psycopg.rows import dict_row

from zoho.warehouse.sqlfiles import sql_files

load_sql = sql_files(__file__)

EVENTS = ("created", "withheld", "ready", "updated", "claimed", "sent", "failed", "cancelled")


def reminder_events(conn: psycopg.Connection, reminder_id: uuid.UUID | str) -> list[dict]:
    """The reminder's events in order: id, event, status, reason, actor, detail, occurred_at."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(load_sql("history"), {"id": reminder_id}).fetchall()
