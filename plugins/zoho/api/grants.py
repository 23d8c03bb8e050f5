"""Grant Airflow users tenants over the API (``zoho_sync.api_grants``).

    python -m zoho.api.grants grant alice acme            # alice reads tenant acme
    python -m zoho.api.grants grant sender-bot acme --send  # ... and may claim and mark its reminders
    python -m zoho.api.grants revoke alice acme            # (or every tenant of alice: revoke alice)
    python -m zoho.api.grants list [--user alice]

The user name is the Airflow user's name as the auth manager knows it (simple auth manager: the
name in ``[core] simple_auth_manager_users``; FAB: the login). Airflow admins see every tenant
without a grant. The warehouse is ``AIRFLOW_CONN_WAREHOUSE_DEFAULT`` unless ``--uri`` is given.
"""
from __future__ import annotations

import argparse
import sys

import psycopg

from zoho.warehouse.connection import connect
from zoho.warehouse.sqlfiles import sql_files

load_sql = sql_files(__file__)


def grant(conn, username: str, tenant: str, send: bool = False) -> None:
    conn.execute(load_sql("grant"), {"username": username, "user_id": tenant, "access": "send" if send else "read"})


def revoke(conn, username: str, tenant: str | None = None) -> int:
    return conn.execute(load_sql("revoke"), {"username": username, "user_id": tenant}).rowcount


def list_grants(conn, username: str | None = None) -> list[tuple]:
    return conn.execute(load_sql("grants_list"), {"username": username}).fetchall()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zoho.api.grants", description=__doc__.split("\n\n")[0])
    parser.add_argument("--uri", help="warehouse URI (default: AIRFLOW_CONN_WAREHOUSE_DEFAULT)")
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grant", help="grant a user a tenant (read; --send: read and send)")
    g.add_argument("username")
    g.add_argument("tenant")
    g.add_argument("--send", action="store_true", help="also claim and mark the tenant's reminders")
    r = sub.add_parser("revoke", help="revoke a tenant (or every tenant) from a user")
    r.add_argument("username")
    r.add_argument("tenant", nargs="?")
    ls = sub.add_parser("list", help="list the grants")
    ls.add_argument("--user")
    args = parser.parse_args(argv)
    with connect(args.uri) as conn:
        if args.command == "grant":
            try:
                with conn.transaction():
                    known = conn.execute(load_sql("tenant_exists"), {"tenant": args.tenant}).fetchone()[0]
            except psycopg.errors.UndefinedTable:  # the marts are not built yet
                known = False
            if not known:
                print(f"warning: tenant {args.tenant!r} has no data in the warehouse yet", file=sys.stderr)
            grant(conn, args.username, args.tenant, args.send)
            print(f"granted {args.username} {'send' if args.send else 'read'} on tenant {args.tenant}")
        elif args.command == "revoke":
            n = revoke(conn, args.username, args.tenant)
            print(f"revoked {n} grant(s) of {args.username}")
        else:
            rows = list_grants(conn, args.user)
            for username, tenant, access, granted_at, granted_by in rows:
                print(f"{username}\t{tenant}\t{access}\t{granted_at:%Y-%m-%d %H:%M}\t{granted_by}")
            if not rows:
                print("(no grants)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
