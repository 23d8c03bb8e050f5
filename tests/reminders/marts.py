"""Test data for the marts ``analytics.customers_cache`` / ``analytics.invoices_cache``.

The tables come from ``marts_ddl.sql`` (a stand-in for the dbt build with docs/CONTRACT.md's columns); rows
are written with the ids dbt gives them (``md5(user_id || '|' || zoho_id)`` read as a uuid).
Shared by ``tests/reminders`` and ``tests/quality``.
"""
from __future__ import annotations

import hashlib
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

MARTS_DDL = Path(__file__).with_name("marts_ddl.sql")

CUSTOMER_DEFAULTS = {
    "customer_name": None, "company_name": None, "email": None, "phone": None, "mobile": None,
    "primary_phone": "+14155550100", "primary_phone_source": "contact.mobile", "contact_persons": [],
    "status": "active", "is_deleted": False, "customer_hash": "h",
}
INVOICE_DEFAULTS = {
    "invoice_number": None, "status": "overdue", "invoice_date": date(2026, 1, 1), "due_date": None,
    "currency_code": "USD", "total": Decimal("100.00"), "balance": Decimal("100.00"), "is_deleted": False,
    "invoice_hash": "h",
}


def natural_key_uuid(user_id: str, zoho_id: str) -> uuid.UUID:
    return uuid.UUID(hashlib.md5(f"{user_id}|{zoho_id}".encode()).hexdigest())


def reminder_uuid(invoice_id: uuid.UUID, offset_days: int) -> uuid.UUID:
    return uuid.UUID(hashlib.md5(f"{invoice_id}|{offset_days}".encode()).hexdigest())


def create_marts(conn: psycopg.Connection) -> None:
    conn.execute(MARTS_DDL.read_text())


def truncate(conn: psycopg.Connection) -> None:
    conn.execute("truncate analytics.payment_reminders, analytics.invoices_cache, analytics.customers_cache")


def add_customer(conn: psycopg.Connection, user_id: str, zoho_customer_id: str, **columns) -> uuid.UUID:
    row = {**CUSTOMER_DEFAULTS, **columns}
    row["contact_persons"] = Jsonb(row["contact_persons"])
    cid = row.pop("id", None) or natural_key_uuid(user_id, zoho_customer_id)
    _insert(conn, "customers_cache", {"id": cid, "user_id": user_id, "zoho_customer_id": zoho_customer_id, **row})
    return cid


def add_invoice(conn: psycopg.Connection, user_id: str, zoho_invoice_id: str, zoho_customer_id: str | None,
                **columns) -> uuid.UUID:
    """An invoice; ``customer_id`` is the customer's id unless given (``customer_id=None``: unknown)."""
    row = {**INVOICE_DEFAULTS, **columns}
    iid = row.pop("id", None) or natural_key_uuid(user_id, zoho_invoice_id)
    if "customer_id" not in row:
        row["customer_id"] = natural_key_uuid(user_id, zoho_customer_id) if zoho_customer_id else None
    _insert(conn, "invoices_cache",
            {"id": iid, "user_id": user_id, "zoho_invoice_id": zoho_invoice_id, "zoho_customer_id": zoho_customer_id,
             **row})
    return iid


def _insert(conn: psycopg.Connection, table: str, row: dict) -> None:
    conn.execute(
        sql.SQL("insert into {} ({}) values ({})").format(
            sql.Identifier("analytics", table), sql.SQL(", ").join(map(sql.Identifier, row)),
            sql.SQL(", ").join(sql.Placeholder() * len(row))),
        list(row.values()))
