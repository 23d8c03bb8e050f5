"""The summary ``make run`` prints: customers, invoices, reminders by status, API calls, per tenant.

    python -m zoho.checks.summary [--uri URI]

Reads only what exists: a table that is not built yet is reported as missing, never counted as 0.
"""
from __future__ import annotations

import argparse

from zoho.warehouse import connection as warehouse

QUERIES = {
    "customers": ("analytics.customers_cache",
                  "select user_id, count(*) filter (where not is_deleted), "
                  "count(*) filter (where not is_deleted and primary_phone is not null) "
                  "from analytics.customers_cache group by 1 order by 1"),
    "invoices": ("analytics.invoices_cache",
                 "select user_id, count(*) filter (where not is_deleted), "
                 "count(*) filter (where not is_deleted and customer_id is null) "
                 "from analytics.invoices_cache group by 1 order by 1"),
    "reminders": ("analytics.payment_reminders",
                  "select user_id, status, coalesce(reason, ''), count(*) from analytics.payment_reminders "
                  "group by 1, 2, 3 order by 1, 2, 3"),
    "sync": ("zoho_sync.sync_metadata",
             "select user_id, entity, last_mode, status, records_fetched, records_upserted, records_deleted, "
             "records_rejected, api_calls, person_calls, missing_customers, finished_at "
             "from zoho_sync.sync_metadata order by 1, 2"),
}


def _exists(conn, table: str) -> bool:
    return conn.execute("select to_regclass(%s)", (table,)).fetchone()[0] is not None


def render(uri: str) -> str:
    out: list[str] = []
    with warehouse.connect(uri) as conn:
        for name, (table, query) in QUERIES.items():
            if not _exists(conn, table):
                out.append(f"{name}: {table} does not exist yet (not built by this version)")
                continue
            rows = conn.execute(query).fetchall()
            if name == "customers":
                out.append("customers (active rows, with a primary phone):")
                out += [f"  {r[0]}: {r[1]} customers, {r[2]} with a primary phone" for r in rows] or ["  none"]
            elif name == "invoices":
                out.append("invoices (live rows, without a customer):")
                out += [f"  {r[0]}: {r[1]} invoices, {r[2]} without a customer" for r in rows] or ["  none"]
            elif name == "reminders":
                out.append("reminders by status (reason):")
                out += [f"  {r[0]}: {r[1]}{' (' + r[2] + ')' if r[2] else ''}: {r[3]}" for r in rows] or ["  none"]
            else:
                out.append("last sync per tenant and entity (API calls of that run):")
                out += [f"  {r[0]} {r[1]}: {r[2]} {r[3]}, fetched {r[4]}, written {r[5]}, deleted {r[6]}, "
                        f"rejected {r[7]}, API calls {r[8]} (persons {r[9]}), invoices without customer {r[10]}, "
                        f"finished {r[11]:%Y-%m-%d %H:%M:%S}" if r[11] else f"  {r[0]} {r[1]}: {r[3]}"
                        for r in rows] or ["  none"]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m zoho.checks.summary")
    p.add_argument("--uri", default=None)
    a = p.parse_args(argv)
    print(render(a.uri or warehouse.uri_from_env()))


if __name__ == "__main__":
    main()
