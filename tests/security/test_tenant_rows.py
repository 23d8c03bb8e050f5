"""Per-tenant analyst roles (migration 0008): row-level security by ``user_id`` on ``analytics``.

On a fresh migrated warehouse with the marts built by real dbt from two tenants' raw rows (acme and
globex of tests/dbt/data.py), reminders written to ``analytics.payment_reminders`` (their events by
the trigger of 0007), and one tenant role per tenant made by ``zoho.warehouse.tenant_roles``: a
LOGIN member of a tenant role sees exactly its tenant's rows of every table and view (counts equal
to the tenant's real counts), ``set role`` to the tenant role does the same, a member of
``zoho_analyst`` sees every row, and a tenant writes nothing. After a dbt ``--full-refresh`` of the
marts (new tables, views replaced) and after an incremental run, the same holds.
"""
from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.dbt.conftest import Dbt, connect
from tests.dbt.data import ACME, GLOBEX, land_all
from zoho.warehouse import schema, tenant_roles

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TENANTS = (ACME, GLOBEX)
MARTS = ("analytics.customers_cache", "analytics.invoices_cache")
VIEWS = ("analytics.invoices_with_customer", "analytics.reminders_with_customer")
RELATIONS = MARTS + VIEWS + ("analytics.payment_reminders", "analytics.payment_reminder_events")
TAG = uuid.uuid4().hex[:8]  # roles are cluster-wide: names of this run only


def as_user(uri: str, user: str) -> str:
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, f"{user}@{parts.hostname}:{parts.port}", parts.path, "", ""))


def counts_by_tenant(conn) -> dict[str, dict[str, int]]:
    """relation -> {user_id: rows} as the connection's user sees them."""
    return {rel: dict(conn.execute(f"select user_id, count(*) from {rel} group by user_id").fetchall())
            for rel in RELATIONS}


def only(tenant: str, real: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {rel: {tenant: counts[tenant]} for rel, counts in real.items()}


class Warehouse:
    def __init__(self, uri: str, dbt: Dbt):
        self.uri = uri
        self.dbt = dbt
        self.tenant_role = {ACME: f"zoho_tenant_acme_{TAG}", GLOBEX: f"zoho_tenant_globex_{TAG}"}
        self.logins: dict[str, str] = {}  # tenant or 'analyst' -> login role

    def real_counts(self) -> dict[str, dict[str, int]]:
        with connect(self.uri) as conn:  # the owner (a superuser here): every row
            return counts_by_tenant(conn)

    def login(self, who: str) -> str:
        return as_user(self.uri, self.logins[who])


@pytest.fixture(scope="module")
def wh(make_database, tmp_path_factory):
    uri = make_database("tenants")
    dbt = Dbt(uri, tmp_path_factory.mktemp("dbt_tenants"))
    w = Warehouse(uri, dbt)
    with connect(uri) as conn:
        land_all(conn)
    dbt("run")
    with connect(uri) as conn:
        # one reminder per open invoice ('created' events by the trigger), one withheld later ('withheld')
        conn.execute(
            "insert into analytics.payment_reminders (id, user_id, invoice_id, customer_id, phone, offset_days, "
            "scheduled_for, status) "
            "select gen_random_uuid(), i.user_id, i.id, i.customer_id, c.primary_phone, 0, current_date, 'pending' "
            "from analytics.invoices_cache i left join analytics.customers_cache c on c.id = i.customer_id "
            "where i.balance > 0")
        conn.execute("update analytics.payment_reminders set status = 'skipped', reason = 'no_phone' "
                     "where id = (select id from analytics.payment_reminders where user_id = %s "
                     "order by id limit 1)", (ACME,))
    # one role through main() (the documented command), one through the function
    assert tenant_roles.main(["--uri", uri, "create", ACME, "--role", w.tenant_role[ACME]]) == 0
    with connect(uri) as conn:
        tenant_roles.create(conn, GLOBEX, w.tenant_role[GLOBEX])
        for who, group in ((ACME, w.tenant_role[ACME]), (GLOBEX, w.tenant_role[GLOBEX]),
                           ("analyst", "zoho_analyst")):
            name = f"login_{who}_{TAG}"
            conn.execute(psycopg.sql.SQL("create role {} login in role {}").format(
                psycopg.sql.Identifier(name), psycopg.sql.Identifier(group)))
            w.logins[who] = name
    yield w
    with connect(uri) as conn:
        for name in w.logins.values():
            conn.execute(psycopg.sql.SQL("drop role if exists {}").format(psycopg.sql.Identifier(name)))
        for name in w.tenant_role.values():
            if conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone():
                tenant_roles.drop(conn, name)


def check_visibility(w: Warehouse) -> dict[str, dict[str, int]]:
    real = w.real_counts()
    for rel, counts in real.items():
        assert set(counts) == set(TENANTS) and all(counts.values()), (rel, counts)  # both tenants have rows
    for tenant in TENANTS:
        with psycopg.connect(w.login(tenant), autocommit=True) as conn:  # a real LOGIN connection
            assert counts_by_tenant(conn) == only(tenant, real)
            assert conn.execute("select current_user, zoho_sync.visible_tenants()").fetchone() \
                == (w.logins[tenant], [tenant])
            rows = conn.execute("select * from analytics.invoices_with_customer").fetchall()
            assert len(rows) == real["analytics.invoices_with_customer"][tenant]
        with connect(w.uri) as conn, conn.transaction():  # `set role` in the owner's session
            conn.execute(psycopg.sql.SQL("set local role {}").format(psycopg.sql.Identifier(w.tenant_role[tenant])))
            assert counts_by_tenant(conn) == only(tenant, real)
    with psycopg.connect(w.login("analyst"), autocommit=True) as conn:
        assert counts_by_tenant(conn) == real
    with connect(w.uri) as conn, conn.transaction():
        conn.execute("set local role zoho_pipeline")
        assert counts_by_tenant(conn) == real
        conn.execute("update analytics.payment_reminders set updated_at = updated_at")  # writes pass the check
        raise psycopg.Rollback()  # leaves the `with` block, undoing the update
    return real


def security_state(uri: str) -> dict:
    with connect(uri) as conn:
        tables = dict(conn.execute(
            "select c.oid::regclass::text, c.relrowsecurity and exists "
            "(select 1 from pg_policy p where p.polrelid = c.oid and p.polname = 'tenant_rows') "
            "from pg_class c where c.oid = any(%s::regclass[])",
            (list(MARTS) + ["analytics.payment_reminders", "analytics.payment_reminder_events"],)).fetchall())
        views = dict(conn.execute(
            "select c.oid::regclass::text, coalesce('security_invoker=true' = any(c.reloptions), false) "
            "from pg_class c where c.oid = any(%s::regclass[])", (list(VIEWS),)).fetchall())
        oids = dict(conn.execute("select r, r::regclass::oid from unnest(%s::text[]) r", (list(RELATIONS),)).fetchall())
        policies = dict(conn.execute(
            "select polrelid::regclass::text, oid from pg_policy where polname = 'tenant_rows'").fetchall())
    return {"tables": tables, "views": views, "oids": oids, "policies": policies}


def test_each_tenant_sees_only_its_rows_the_analyst_every_row(wh):
    state = security_state(wh.uri)
    assert all(state["tables"].values()) and len(state["tables"]) == 4, state["tables"]
    assert all(state["views"].values()) and len(state["views"]) == 2, state["views"]
    check_visibility(wh)


def test_a_tenant_writes_nothing(wh):
    with psycopg.connect(wh.login(ACME), autocommit=True) as conn:
        for stmt in (
            "insert into analytics.payment_reminders (id, user_id, invoice_id, offset_days, scheduled_for, status) "
            "values (gen_random_uuid(), 'acme', gen_random_uuid(), 0, current_date, 'pending')",
            "update analytics.payment_reminders set status = 'sent'",
            "update analytics.customers_cache set customer_name = 'x'",
            "delete from analytics.invoices_cache",
            "insert into analytics.payment_reminder_events (reminder_id, user_id, invoice_id, event, status, actor) "
            "select reminder_id, user_id, invoice_id, event, status, 'x' from analytics.payment_reminder_events",
            "truncate analytics.invoices_cache",
            "select * from zoho_sync.tenant_roles",
            "select * from zoho_raw.invoices",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(stmt)


def test_the_tenants_rows_survive_a_full_refresh_and_an_incremental_run(wh):
    before = security_state(wh.uri)
    real_before = wh.real_counts()
    wh.dbt("run", "--full-refresh", "--select", "path:models/marts")
    after = security_state(wh.uri)
    assert {rel for rel in MARTS if after["oids"][rel] != before["oids"][rel]} == set(MARTS)  # new tables
    assert all(after["tables"].values()) and all(after["views"].values()), after
    assert check_visibility(wh) == real_before

    wh.dbt("run")  # incremental: the hook finds the policies in place and leaves them (no lock, no re-creation)
    again = security_state(wh.uri)
    assert again["policies"] == after["policies"] and again["oids"] == after["oids"]
    assert check_visibility(wh) == real_before


def test_the_command_is_idempotent_refuses_other_roles_and_drops(wh, capsys):
    role = wh.tenant_role[GLOBEX]
    with connect(wh.uri) as conn:
        assert tenant_roles.create(conn, GLOBEX, role) == role  # again: a no-op
        with pytest.raises(tenant_roles.TenantRoleError, match="already sees tenant"):
            tenant_roles.create(conn, ACME, role)
        with pytest.raises(tenant_roles.TenantRoleError, match="not a tenant analyst role"):
            tenant_roles.create(conn, ACME, "zoho_analyst")
        with pytest.raises(tenant_roles.TenantRoleError, match="not a tenant analyst role"):
            tenant_roles.create(conn, ACME, wh.logins["analyst"])
        assert tenant_roles.main(["--uri", wh.uri, "create", ACME, "--role", "zoho_pipeline"]) == 1
    assert tenant_roles.main(["--uri", wh.uri, "list"]) == 0
    listed = capsys.readouterr().out
    assert f"{wh.tenant_role[ACME]}\t{ACME}\t" in listed and wh.logins[ACME] in listed

    temporary = f"zoho_tenant_tmp_{TAG}"
    with connect(wh.uri) as conn:
        tenant_roles.create(conn, "tmp tenant", temporary)
        assert tenant_roles.drop(conn, temporary) == []
        assert conn.execute("select exists (select 1 from pg_roles where rolname = %s) "
                            "or exists (select 1 from zoho_sync.tenant_roles where role_name = %s)",
                            (temporary, temporary)).fetchone()[0] is False


@pytest.mark.parametrize("user_id, role", [
    ("acme", "zoho_tenant_acme"),
    ("Acme Ltd.", "zoho_tenant_acme_ltd_"),
    ("o'brien; drop table x;--", "zoho_tenant_o_brien__drop_table_x___"),
    ("x" * 80, ("zoho_tenant_" + "x" * 80)[:63]),
])
def test_default_role_names_are_plain_identifiers(user_id, role):
    assert tenant_roles.default_role_name(user_id) == role


def test_the_migration_downgrades_and_upgrades_alone(make_database):
    uri = make_database("tenant_mig")

    def objects() -> tuple:
        with connect(uri) as conn:
            return conn.execute(
                "select to_regclass('zoho_sync.tenant_roles') is not null, "
                "to_regprocedure('zoho_sync.visible_tenants()') is not null, "
                "to_regprocedure('analytics.apply_tenant_row_security(regclass)') is not null, "
                "(select count(*) from pg_policy where polname = 'tenant_rows'), "
                "(select relrowsecurity from pg_class where oid = 'analytics.payment_reminders'::regclass), "
                "has_table_privilege('zoho_tenant_analyst', 'analytics.payment_reminders', 'select')").fetchone()

    assert objects() == (True, True, True, 2, True, True)
    schema.downgrade(uri, "0007")
    assert objects()[:5] == (False, False, False, 0, False)
    with connect(uri) as conn:
        if conn.execute("select 1 from pg_roles where rolname = 'zoho_tenant_analyst'").fetchone():
            assert not conn.execute(
                "select has_table_privilege('zoho_tenant_analyst', 'analytics.payment_reminders', 'select')"
            ).fetchone()[0]
    schema.upgrade(uri)
    assert objects() == (True, True, True, 2, True, True)
