{#-
    Views are replaced in place (`create or replace view`), not swapped. dbt's default view
    materialisation builds a new view, renames the old one away and drops it with `cascade`, which
    drops every view built on it until the run rebuilds them: a mart build of another run (the
    nightly and the incremental run overlap) reading those views in that window fails with
    "relation does not exist". Replacing in place keeps the dependent views, and their grants.

    When Postgres refuses the replacement (a column dropped, renamed or retyped: SQLSTATE 42P16),
    the view is dropped (with the views on it, which this run rebuilds after it) and created anew,
    as dbt would. Contracts are checked as dbt checks them (`get_create_view_as_sql`).

    Every view is `security_invoker` (Postgres 15+), in the same statement: privileges and
    row-level security of the relations it reads are checked as the user who queries the view, not
    as its owner. The analytics views thus show a tenant analyst (migration 0008) only its tenants'
    rows; for everyone else nothing changes (zoho_analyst reads the marts and the reminders anyway,
    and only the owner reads dbt's staging views).
-#}
{%- materialization view, adapter='postgres' -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set grant_config = config.get('grants') -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {%- if existing_relation is not none and not existing_relation.is_view %}
        {{ drop_relation_if_exists(existing_relation) }}
    {%- endif %}
    -- `BEGIN` happens here:
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- set create_sql = get_create_view_as_sql(target_relation, sql) %}
    {% call statement('main') -%}
        {{ replace_view_in_place(target_relation, create_sql) }}
    {%- endcall %}

    {% do apply_grants(target_relation, grant_config, should_revoke=True) %}
    {% do persist_docs(target_relation, model) %}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [target_relation]}) }}
{%- endmaterialization -%}


{% macro replace_view_in_place(relation, create_sql) -%}
    {%- set replace_sql = create_sql | replace('create view', 'create or replace view', 1) -%}
    {%- if '$zoho_view_sql$' in create_sql -%}
        {{ exceptions.raise_compiler_error("the view's SQL contains the quoting tag $zoho_view_sql$") }}
    {%- endif -%}
do $zoho_view$
begin
    begin
        execute $zoho_view_sql${{ replace_sql }}$zoho_view_sql$;
    exception when invalid_table_definition then
        raise notice 'view % changes its columns: dropped (with the views on it) and created anew', {{ dbt.string_literal(relation.render()) }};
        execute $zoho_view_sql$drop view if exists {{ relation.render() }} cascade$zoho_view_sql$;
        execute $zoho_view_sql${{ create_sql }}$zoho_view_sql$;
    end;
    -- the view of either path; no extra lock (create or replace view holds it already)
    execute $zoho_view_sql$alter view {{ relation.render() }} set (security_invoker = true)$zoho_view_sql$;
end
$zoho_view$
{%- endmacro %}
