"""Per-tenant analyst roles: Postgres row-level security by tenant (``user_id``) on ``analytics``.

- NOLOGIN group role ``zoho_tenant_analyst`` (created when missing, as 0003 creates its roles):
  connect, usage on ``analytics`` (and on ``zoho_sync``, to call the functions below by name),
  select on every table and view of ``analytics``, now and later (default privileges of the role
  that runs the migrations and dbt).
- ``zoho_sync.tenant_roles (role_name, user_id, created_at)``: the per-tenant roles (members of
  ``zoho_tenant_analyst``) and the tenant each one sees; written by
  ``python -m zoho.warehouse.tenant_roles create <user_id>``.
- ``zoho_sync.tenant_restricted()`` / ``zoho_sync.visible_tenants()``: whether the session's role
  is a tenant analyst, and which tenants it sees (security definer, executable by everyone).
- ``analytics.apply_tenant_row_security(regclass)``: enables row-level security on a table and
  (re)creates its policy ``tenant_rows`` (tenant analysts: their tenants' rows; everyone else: every
  row). Applied here to ``analytics.payment_reminders`` and ``analytics.payment_reminder_events``,
  and to the marts when dbt built them already; dbt applies it to the marts after every build
  (``dbt_project/macros/tenant_rows.sql``), and builds every view ``security_invoker`` so the
  policies apply through the views to whoever queries them.

The statements are in ``migrations/sql/0008_tenant_rows.sql``. The downgrade drops the policies
(and disables row-level security) on every ``analytics`` table that has one, the functions, the
table, the privileges of ``zoho_tenant_analyst`` in this database, and the role when this
migration created it and it has no members left (per-tenant roles made by the command are members:
drop them first with ``python -m zoho.warehouse.tenant_roles drop <role>``).

Revision ID: 0008
Revises: 0007
"""
from pathlib import Path

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UPGRADE = (Path(__file__).resolve().parent.parent / "sql" / "0008_tenant_rows.sql").read_text()

DOWNGRADE = """
do $$
declare
    rel regclass;
    v text;
begin
    for rel in
        select p.polrelid::regclass from pg_policy as p join pg_class as c on c.oid = p.polrelid
        where p.polname = 'tenant_rows' and c.relnamespace = 'analytics'::regnamespace
    loop
        begin
            execute format('drop policy tenant_rows on %s', rel);
            if not exists (select 1 from pg_policy where polrelid = rel) then
                execute format('alter table %s disable row level security', rel);
            end if;
        exception when insufficient_privilege then
            raise warning '% is not owned by %: drop its policy tenant_rows as its owner before the functions go', rel, current_user;
            raise;
        end;
    end loop;
    foreach v in array array['analytics.invoices_with_customer', 'analytics.reminders_with_customer'] loop
        continue when to_regclass(v) is null;
        begin
            execute format('alter view %s reset (security_invoker)', to_regclass(v));
        exception when insufficient_privilege then
            null;
        end;
    end loop;
end
$$;
drop function if exists analytics.apply_tenant_row_security(regclass);
drop function if exists zoho_sync.visible_tenants();
drop function if exists zoho_sync.tenant_restricted();
drop table if exists zoho_sync.tenant_roles;
do $$
begin
    if exists (select 1 from pg_roles where rolname = 'zoho_tenant_analyst') then
        alter default privileges in schema analytics revoke select on tables from zoho_tenant_analyst;
        revoke all on all tables in schema analytics from zoho_tenant_analyst;
        revoke all on schema analytics, zoho_sync from zoho_tenant_analyst;
        execute format('revoke all on database %I from zoho_tenant_analyst', current_database());
        if exists (select 1 from pg_roles where rolname = 'zoho_tenant_analyst'
                   and shobj_description(oid, 'pg_authid') like 'created by the zoho sync%')
           and not exists (select 1 from pg_auth_members m join pg_roles g on g.oid = m.roleid
                           where g.rolname = 'zoho_tenant_analyst') then
            begin
                drop role zoho_tenant_analyst;
            exception when dependent_objects_still_exist then
                raise notice 'role zoho_tenant_analyst kept: another database of this cluster still grants it privileges';
            end;
        elsif exists (select 1 from pg_auth_members m join pg_roles g on g.oid = m.roleid
                      where g.rolname = 'zoho_tenant_analyst') then
            raise notice 'role zoho_tenant_analyst kept: it still has members (per-tenant roles)';
        end if;
    end if;
end
$$;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
