"""Test data for the marts ``analytics.customers_cache`` / ``analytics.invoices_cache``.

The tables are created from the dbt contract of the marts (``_marts__models.yml``: the columns in
order with their types and NOT NULL constraints, the keys, the foreign key, and the indexes of the
models' config), the same contract dbt enforces when it builds them, without a dbt run;
tests/dbt/test_marts.py checks that what dbt builds is what :func:`marts_ddl` creates. Rows are written
with the ids dbt gives them (``md5(user_id || '|' || zoho_id)`` read as a uuid).
Shared by ``tests/reminders``, ``tests/quality`` and ``tests/verify``.
"""
from __future__ import annotations

import hashlib
import re
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import cache
from pathlib import Path

import psycopg
import yaml
from psycopg import sql
from psycopg.types.json import Jsonb

MARTS_YML = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "marts" / "_marts__models.yml"
SCHEMA = "analytics"  # the marts' schema in dbt_project.yml, used verbatim (macros/generate_schema_name.sql)
MARTS = ("customers_cache", "invoices_cache")  # in the order of their foreign key

CUSTOMER_DEFAULTS = {
    "customer_name": None, "company_name": None, "email": None, "phone": None, "mobile": None,
    "primary_phone": "+14155550100", "primary_phone_source": "contact.mobile", "phone_pending": False,
    "contact_persons": [],
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


@cache
def marts_ddl() -> sql.Composed:
    """``create schema`` / ``create table`` / ``create index`` of the marts, from their dbt contract."""
    models = {model["name"]: model for model in yaml.safe_load(MARTS_YML.read_text())["models"]}
    statements = [sql.SQL("create schema if not exists {}").format(sql.Identifier(SCHEMA))]
    for name in MARTS:
        model = models[name]
        table = sql.Identifier(SCHEMA, name)
        items = [sql.SQL("{} {}{}").format(
                     sql.Identifier(column["name"]), sql.SQL(column["data_type"]),
                     sql.SQL(" not null" if any(c["type"] == "not_null" for c in column.get("constraints", []))
                             else ""))
                 for column in model["columns"]]
        for constraint in model.get("constraints", []):
            items.append(_table_constraint(constraint))
        statements.append(sql.SQL("create table {} ({})").format(table, sql.SQL(", ").join(items)))
        for index in model.get("config", {}).get("indexes", []):
            statements.append(sql.SQL("create index on {} ({})").format(
                table, sql.SQL(", ").join(map(sql.Identifier, index["columns"]))))
    return sql.SQL(";\n").join(statements)


def _table_constraint(constraint: dict) -> sql.Composable:
    """A model-level constraint of the contract (unnamed ones get Postgres' default names, as in dbt)."""
    def names(columns):
        return sql.SQL(", ").join(map(sql.Identifier, columns))

    name = sql.SQL("constraint {} ").format(sql.Identifier(constraint["name"])) if "name" in constraint else sql.SQL("")
    if constraint["type"] == "primary_key":
        return sql.SQL("{}primary key ({})").format(name, names(constraint["columns"]))
    if constraint["type"] == "unique":
        return sql.SQL("{}unique ({})").format(name, names(constraint["columns"]))
    if constraint["type"] == "foreign_key":
        to = re.fullmatch(r"ref\('(\w+)'\)", constraint["to"]).group(1)
        return sql.SQL("{}foreign key ({}) references {} ({})").format(
            name, names(constraint["columns"]), sql.Identifier(SCHEMA, to), names(constraint["to_columns"]))
    raise ValueError(f"constraint type {constraint['type']!r} of the marts' contract is not supported here")


def create_marts(conn: psycopg.Connection) -> None:
    """The two (empty) marts, as dbt's contract defines them (a few milliseconds)."""
    conn.execute(marts_ddl())


def truncate(conn: psycopg.Connection) -> None:
    conn.execute("truncate analytics.payment_reminder_events, analytics.payment_reminders, analytics.invoices_cache, "
                 "analytics.customers_cache")


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
    row.setdefault("updated_at", datetime.now(timezone.utc))  # not null, and dbt's tables have no defaults
    conn.execute(
        sql.SQL("insert into {} ({}) values ({})").format(
            sql.Identifier("analytics", table), sql.SQL(", ").join(map(sql.Identifier, row)),
            sql.SQL(", ").join(sql.Placeholder() * len(row))),
        list(row.values()))
