"""Per-tenant analyst roles (migration 0008): a role whose members see one tenant's rows only.

    python -m zoho.warehouse.tenant_roles create <user_id> [--role NAME]   # NOLOGIN role, mapped to the tenant
    python -m zoho.warehouse.tenant_roles drop <role>
    python -m zoho.warehouse.tenant_roles list

``create`` makes the NOLOGIN role (default ``zoho_tenant_<user_id>``, lower-cased, every character
but ``a-z0-9_`` replaced by ``_``, at most 63 bytes), a member of ``zoho_tenant_analyst``, and maps it
to the tenant in ``zoho_sync.tenant_roles``. A deployment then grants it to a login
(``create role alice login password '...' in role zoho_tenant_acme``): alice sees acme's rows of
``analytics`` only (row-level security, docs/ANALYST_GUIDE.md "Per-tenant analyst roles"). Running
it again for the same tenant is a no-op; a role name that already exists and is no tenant role (a
login, ``zoho_analyst``, ...) is refused, so no existing user is restricted by mistake. On a cluster
with several warehouse databases, ``create`` in a second database maps the existing role there too.

``drop`` removes the mapping and the role when ``create`` made it (its members lose the tenant's
rows; they are named), else only takes it out of ``zoho_tenant_analyst``.

The warehouse is ``--uri``, else the ``warehouse_default`` connection (``AIRFLOW_CONN_WAREHOUSE_DEFAULT``);
creating roles needs a role with CREATEROLE (or a superuser). Identifiers are composed with
``psycopg.sql.Identifier``; the other statements are in ``sql/tenant_role_*.sql``.
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass

import psycopg
from psycopg import sql

from zoho.warehouse.connection import connect
from zoho.warehouse.sqlfiles import sql_files

load_sql = sql_files(__file__)

GROUP_ROLE = "zoho_tenant_analyst"
MARK = "created by zoho.warehouse.tenant_roles"
MAX_IDENTIFIER_BYTES = 63


class TenantRoleError(RuntimeError):
    """A refusal the command reports (exit status 1) instead of a traceback."""


def default_role_name(user_id: str) -> str:
    """``zoho_tenant_<user_id>``: lower case, ``[a-z0-9_]`` only, cut to Postgres' 63 bytes."""
    cleaned = re.sub(r"[^a-z0-9_]", "_", user_id.strip().lower())
    return f"zoho_tenant_{cleaned}"[:MAX_IDENTIFIER_BYTES]


@dataclass
class RoleState:
    role_exists: bool
    can_login: bool
    is_tenant_analyst: bool
    made_by_command: bool
    mapped_user_id: str | None


def _state(conn: psycopg.Connection, name: str) -> RoleState:
    return RoleState(*conn.execute(load_sql("tenant_role_lookup"), {"name": name, "mark": MARK}).fetchone())


def _require_group(conn: psycopg.Connection) -> None:
    if conn.execute("select to_regclass('zoho_sync.tenant_roles') is null").fetchone()[0]:
        raise TenantRoleError("zoho_sync.tenant_roles does not exist: run `python -m zoho.warehouse.schema upgrade`")
    if not conn.execute("select exists (select 1 from pg_roles where rolname = %s)", (GROUP_ROLE,)).fetchone()[0]:
        raise TenantRoleError(f"role {GROUP_ROLE} does not exist: ask a DBA for "
                              f"\"create role {GROUP_ROLE} nologin\", then re-run the migrations")


def create(conn: psycopg.Connection, user_id: str, role: str | None = None) -> str:
    """Create (or confirm) the tenant role of ``user_id``; returns its name. One transaction."""
    if not user_id or not user_id.strip():
        raise TenantRoleError("user_id must not be empty")
    name = role or default_role_name(user_id)
    if len(name.encode()) > MAX_IDENTIFIER_BYTES:
        raise TenantRoleError(f"role name {name!r} is longer than {MAX_IDENTIFIER_BYTES} bytes")
    with conn.transaction():
        _require_group(conn)
        state = _state(conn, name)
        if state.mapped_user_id is not None and state.mapped_user_id != user_id:
            raise TenantRoleError(f"role {name} already sees tenant {state.mapped_user_id!r}: "
                                  f"choose another name with --role")
        if state.role_exists and not state.is_tenant_analyst and state.mapped_user_id is None:
            raise TenantRoleError(f"role {name} exists and is not a tenant analyst role: refusing to restrict it "
                                  f"(choose another name with --role)")
        if state.role_exists and state.can_login:
            raise TenantRoleError(f"role {name} can log in: a tenant role is a NOLOGIN group role "
                                  f"(grant it to logins instead)")
        ident = sql.Identifier(name)
        if not state.role_exists:
            conn.execute(sql.SQL("create role {} nologin").format(ident))
            conn.execute(sql.SQL("comment on role {} is {}").format(ident, sql.Literal(MARK)))
        if not state.is_tenant_analyst:
            conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(GROUP_ROLE), ident))
        conn.execute(load_sql("tenant_role_insert"), {"name": name, "user_id": user_id})
    return name


def drop(conn: psycopg.Connection, name: str) -> list[str]:
    """Forget the tenant role ``name`` (and drop it when ``create`` made it); returns its former members."""
    with conn.transaction():
        _require_group(conn)
        state = _state(conn, name)
        if state.mapped_user_id is None and not (state.role_exists and state.is_tenant_analyst):
            raise TenantRoleError(f"{name} is not a tenant role of this warehouse")
        members = [r[0] for r in conn.execute(load_sql("tenant_role_members"), {"name": name})]
        conn.execute(load_sql("tenant_role_delete"), {"name": name})
        if state.role_exists:
            ident = sql.Identifier(name)
            if state.made_by_command:
                try:
                    with conn.transaction():
                        conn.execute(sql.SQL("drop role {}").format(ident))
                except psycopg.errors.DependentObjectsStillExist as exc:
                    raise TenantRoleError(f"role {name} still owns objects or holds privileges: {exc}") from exc
            elif state.is_tenant_analyst:
                conn.execute(sql.SQL("revoke {} from {}").format(sql.Identifier(GROUP_ROLE), ident))
    return members


def list_roles(conn: psycopg.Connection) -> list[tuple]:
    """(role_name, user_id, created_at, role_exists, members) of every tenant role of this database."""
    _require_group(conn)
    return conn.execute(load_sql("tenant_role_list")).fetchall()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zoho.warehouse.tenant_roles",
                                     description="Per-tenant analyst roles (row-level security by user_id).")
    parser.add_argument("--uri", help="warehouse URI (default: AIRFLOW_CONN_WAREHOUSE_DEFAULT)")
    commands = parser.add_subparsers(dest="command", required=True)
    p_create = commands.add_parser("create", help="create the NOLOGIN role that sees one tenant")
    p_create.add_argument("user_id", help="the tenant (analytics.*.user_id)")
    p_create.add_argument("--role", help="role name (default: zoho_tenant_<user_id>, sanitised)")
    p_drop = commands.add_parser("drop", help="drop a tenant role (its members lose the tenant's rows)")
    p_drop.add_argument("role")
    commands.add_parser("list", help="the tenant roles, their tenants and members")
    args = parser.parse_args(argv)

    try:
        with connect(args.uri, autocommit=True) as conn:
            if args.command == "create":
                name = create(conn, args.user_id, args.role)
                print(f"role {name} sees tenant {args.user_id!r}; grant it to a login: "
                      f"create role <login> login password '...' in role {name}")
            elif args.command == "drop":
                members = drop(conn, args.role)
                print(f"tenant role {args.role} dropped" + (f"; former members: {', '.join(members)}" if members else ""))
            else:
                rows = list_roles(conn)
                if not rows:
                    print("no tenant roles")
                for role_name, user_id, created_at, exists, members in rows:
                    note = "" if exists else "  (role missing)"
                    print(f"{role_name}\t{user_id}\t{created_at:%Y-%m-%d %H:%M}\t{','.join(members) or '-'}{note}")
    except TenantRoleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
