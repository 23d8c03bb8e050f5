-- 0008: per-tenant analyst roles with row-level security. Applied once by migration 0008; never
-- edited after release (a change is a new migration).
--
-- A member of the group role zoho_tenant_analyst (through a per-tenant role listed in
-- zoho_sync.tenant_roles, made by `python -m zoho.warehouse.tenant_roles create <user_id>`) sees
-- only the rows of its tenants (column user_id) of the analytics tables that carry the policy
-- tenant_rows; every other role sees every row, as before (the owner, which runs dbt and the
-- Airflow tasks, is not subject to row-level security at all).

-- ---------------------------------------------------------------- the group role (as 0003 does)
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'zoho_tenant_analyst') then
        if (select rolsuper or rolcreaterole from pg_roles where rolname = current_user) then
            begin
                create role zoho_tenant_analyst nologin;
                comment on role zoho_tenant_analyst is 'created by the zoho sync warehouse migrations (0008)';
            exception when duplicate_object or unique_violation then
                null;  -- created meanwhile by the migration of another database of this cluster
            end;
        else
            raise warning 'role zoho_tenant_analyst does not exist and % may not create roles: ask a DBA for "create role zoho_tenant_analyst nologin", then re-run the migrations', current_user;
        end if;
    end if;
    if exists (select 1 from pg_roles where rolname = 'zoho_tenant_analyst') then
        execute format('grant connect on database %I to zoho_tenant_analyst', current_database());
        grant usage on schema analytics to zoho_tenant_analyst;
        grant select on all tables in schema analytics to zoho_tenant_analyst;
        -- the tables and views dbt (re)creates, --full-refresh included (the role running the
        -- migrations is the role running dbt, as for zoho_analyst in 0003)
        alter default privileges in schema analytics grant select on tables to zoho_tenant_analyst;
        -- to call the two functions below by name (`select zoho_sync.visible_tenants()`); no table
        -- of zoho_sync is granted
        grant usage on schema zoho_sync to zoho_tenant_analyst;
    end if;
end
$$;

-- ---------------------------------------------------------------- which tenant each role sees
create table zoho_sync.tenant_roles (
    role_name   text        primary key,   -- a NOLOGIN role, member of zoho_tenant_analyst
    user_id     text        not null,      -- the tenant its members see
    created_at  timestamptz not null default now()
);
comment on table zoho_sync.tenant_roles is
    'Per-tenant analyst roles: the members of role_name see the rows of user_id only (python -m zoho.warehouse.tenant_roles).';

-- ---------------------------------------------------------------- who is asking
-- Both functions are security definer (visible_tenants reads zoho_sync.tenant_roles, which no
-- analyst may read), and inside a security definer function current_user is the function's owner.
-- The caller is therefore the session's role: the role of `set role` when one is set, else the
-- login (session_user). The policies below call them from the querying user's statement (views
-- over the tables are security_invoker), where that is the user whose rows are filtered.
-- Superusers (and bypassrls roles) are never restricted: row-level security does not apply to them.
create function zoho_sync.tenant_restricted() returns boolean
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
    select exists (select 1 from pg_roles where rolname = 'zoho_tenant_analyst')
       and coalesce((
            select not (r.rolsuper or r.rolbypassrls)
                   and pg_has_role(r.oid, 'zoho_tenant_analyst', 'member')
            from pg_roles as r
            where r.rolname = coalesce(nullif(current_setting('role'), 'none'), session_user::text)
           ), false)
$$;
comment on function zoho_sync.tenant_restricted() is
    'Whether the session''s role (set role, else the login) is a tenant analyst (member of zoho_tenant_analyst).';

create function zoho_sync.visible_tenants() returns text[]
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(array_agg(distinct t.user_id order by t.user_id), '{}'::text[])
    from zoho_sync.tenant_roles as t
    join pg_roles as tr on tr.rolname = t.role_name
    join pg_roles as caller
      on caller.rolname = coalesce(nullif(current_setting('role'), 'none'), session_user::text)
    where pg_has_role(caller.oid, tr.oid, 'member')
$$;
comment on function zoho_sync.visible_tenants() is
    'The tenants (user_id) the session''s role sees: those of the zoho_sync.tenant_roles rows whose role it is a member of.';

grant execute on function zoho_sync.tenant_restricted() to public;
grant execute on function zoho_sync.visible_tenants() to public;

-- ---------------------------------------------------------------- the policy, per table
-- Enables row-level security on `relation` (a table with a user_id column) and (re)creates its
-- policy tenant_rows. Idempotent, and a catalogue lookup only when the policy is in place (the
-- marts' dbt post-hook calls it on every run; create policy would lock the table each time).
-- Runs as its caller, who must own the table (dbt, the migrations).
create function analytics.apply_tenant_row_security(relation regclass) returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    mark constant text := 'zoho tenant rows v1';
begin
    if not exists (select 1 from pg_attribute
                   where attrelid = relation and attname = 'user_id' and attnum > 0 and not attisdropped) then
        raise exception 'apply_tenant_row_security: % has no column user_id', relation
            using errcode = 'undefined_column';
    end if;
    if (select relrowsecurity from pg_class where oid = relation)
       and exists (select 1 from pg_policy
                   where polrelid = relation and polname = 'tenant_rows'
                     and obj_description(oid, 'pg_policy') = mark) then
        return;
    end if;
    execute format('alter table %s enable row level security', relation);
    execute format('drop policy if exists tenant_rows on %s', relation);
    execute format(
        'create policy tenant_rows on %s for all '
        'using (not (select zoho_sync.tenant_restricted()) or user_id = any((select zoho_sync.visible_tenants())::text[])) '
        'with check (not (select zoho_sync.tenant_restricted()) or user_id = any((select zoho_sync.visible_tenants())::text[]))',
        relation);
    execute format('comment on policy tenant_rows on %s is %L', relation, mark);
end
$$;
comment on function analytics.apply_tenant_row_security(regclass) is
    'Row-level security by tenant (policy tenant_rows): members of zoho_tenant_analyst see their tenants'' rows only.';

select analytics.apply_tenant_row_security('analytics.payment_reminders'::regclass);
select analytics.apply_tenant_row_security('analytics.payment_reminder_events'::regclass);

-- the marts and views, when dbt built them already (its next run applies the same)
do $$
declare
    rel text;
begin
    foreach rel in array array['analytics.customers_cache', 'analytics.invoices_cache'] loop
        continue when to_regclass(rel) is null;
        begin
            perform analytics.apply_tenant_row_security(to_regclass(rel));
        exception when insufficient_privilege then
            raise warning '% is not owned by %: its tenant rows apply from the next dbt run (or run "select analytics.apply_tenant_row_security(''%'')" as its owner)',
                rel, current_user, rel;
        end;
    end loop;
    foreach rel in array array['analytics.invoices_with_customer', 'analytics.reminders_with_customer'] loop
        continue when to_regclass(rel) is null;
        begin
            execute format('alter view %s set (security_invoker = true)', to_regclass(rel));
        exception when insufficient_privilege then
            raise warning '% is not owned by %: it reads as its owner (all tenants) until the next dbt run',
                rel, current_user;
        end;
    end loop;
end
$$;
