"""Roles: ``zoho_pipeline`` (the pipeline's writes) and ``zoho_analyst`` (reads ``analytics`` only).

Both are NOLOGIN group roles: a deployment grants them to its login users
(``create role alice login in role zoho_analyst``). Roles are cluster-wide in Postgres while this
migration runs once per database, so they are created only when missing (and a concurrent
migration of another database creating them first is not an error); the grants are per database.

- ``zoho_pipeline``: connect/create/temporary on the database; usage and create on ``zoho_raw``,
  ``zoho_sync`` and ``analytics``; read and write on every table and sequence there, now and later
  (default privileges).
- ``zoho_analyst``: connect; usage on ``analytics`` and select on every table and view there, now
  and later: default privileges of the role that runs the migrations, which is the role of the
  ``warehouse_default`` connection that also runs dbt, so the tables and views dbt (re)creates,
  ``--full-refresh`` included, are readable by analysts without a grant step in dbt. Nothing in
  ``zoho_raw`` (raw payloads), ``zoho_sync`` or dbt's ``zoho_staging`` views.

Where the migrating role may not create roles (a managed warehouse), the roles are left to a DBA
(a warning says so) and the grants apply once they exist (re-run ``python -m zoho.warehouse.schema upgrade``
after a downgrade/upgrade, or grant by hand).

The downgrade revokes every privilege this migration granted in this database, then drops each
role if this migration created it (marked by a comment on the role), no login role is a member of
it and no other database of the cluster still grants it anything.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

MARK = "created by the zoho sync warehouse migrations (0003)"

UPGRADE = """
do $$
declare
    may_create boolean := (select rolsuper or rolcreaterole from pg_roles where rolname = current_user);
    r text;
begin
    foreach r in array array['zoho_pipeline', 'zoho_analyst'] loop
        continue when exists (select 1 from pg_roles where rolname = r);
        if not may_create then
            raise warning 'role % does not exist and % may not create roles: ask a DBA for "create role % nologin", then re-run the migrations',
                r, current_user, r;
            continue;
        end if;
        begin
            execute format('create role %I nologin', r);
            execute format('comment on role %I is %L', r, '{mark}');
        exception when duplicate_object or unique_violation then
            null;  -- created meanwhile by the migration of another database of this cluster
        end;
    end loop;

    if exists (select 1 from pg_roles where rolname = 'zoho_pipeline') then
        execute format('grant connect, temporary, create on database %I to zoho_pipeline', current_database());
        grant usage, create on schema zoho_raw, zoho_sync, analytics to zoho_pipeline;
        grant select, insert, update, delete, truncate, references
            on all tables in schema zoho_raw, zoho_sync, analytics to zoho_pipeline;
        grant usage, select, update on all sequences in schema zoho_raw, zoho_sync, analytics to zoho_pipeline;
        alter default privileges in schema zoho_raw, zoho_sync, analytics
            grant select, insert, update, delete, truncate, references on tables to zoho_pipeline;
        alter default privileges in schema zoho_raw, zoho_sync, analytics
            grant usage, select, update on sequences to zoho_pipeline;
    end if;

    if exists (select 1 from pg_roles where rolname = 'zoho_analyst') then
        execute format('grant connect on database %I to zoho_analyst', current_database());
        grant usage on schema analytics to zoho_analyst;
        grant select on all tables in schema analytics to zoho_analyst;
        alter default privileges in schema analytics grant select on tables to zoho_analyst;
    end if;
end
$$;
""".format(mark=MARK)

DOWNGRADE = """
do $$
declare
    r text;
begin
    if exists (select 1 from pg_roles where rolname = 'zoho_analyst') then
        alter default privileges in schema analytics revoke select on tables from zoho_analyst;
        revoke all on all tables in schema analytics from zoho_analyst;
        revoke all on schema analytics from zoho_analyst;
        execute format('revoke all on database %I from zoho_analyst', current_database());
    end if;

    if exists (select 1 from pg_roles where rolname = 'zoho_pipeline') then
        alter default privileges in schema zoho_raw, zoho_sync, analytics
            revoke all on tables from zoho_pipeline;
        alter default privileges in schema zoho_raw, zoho_sync, analytics
            revoke all on sequences from zoho_pipeline;
        revoke all on all tables in schema zoho_raw, zoho_sync, analytics from zoho_pipeline;
        revoke all on all sequences in schema zoho_raw, zoho_sync, analytics from zoho_pipeline;
        revoke all on schema zoho_raw, zoho_sync, analytics from zoho_pipeline;
        execute format('revoke all on database %I from zoho_pipeline', current_database());
    end if;

    foreach r in array array['zoho_analyst', 'zoho_pipeline'] loop
        continue when not exists (
            select 1 from pg_roles
            where rolname = r and shobj_description(oid, 'pg_authid') = '{mark}');
        if exists (select 1 from pg_auth_members m join pg_roles g on g.oid = m.roleid where g.rolname = r) then
            raise notice 'role % kept: it still has members', r;
            continue;
        end if;
        begin
            execute format('drop role %I', r);
        exception when dependent_objects_still_exist then
            raise notice 'role % kept: another database of this cluster still grants it privileges', r;
        end;
    end loop;
end
$$;
""".format(mark=MARK)


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
