{#-
    Views are replaced in place (`create or replace view`), not swapped. dbt's default view
    materialisation builds a new view, renames the old one away and drops it with `cascade`, which
    drops every view built on it until the run rebuilds them: a mart build of another run (the
    nightly and the incremental run overlap) reading those views in that window fails with
    "relation does not exist". Replacing in place keeps the dependent views, and their grants.

    When Postgres refuses the replacement (a column dropped, renamed or retyped: SQLSTATE 42P16),
    the view is dropped (with the views on it, which this run rebuilds after it) and created anew,
    as dbt would. Contracts are checked as dbt checks them (`get_create_view_as_sql`).
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
    execute $zoho_view_sql${{ replace_sql }}$zoho_view_sql$;
exception when invalid_table_definition then
    raise notice 'view % changes its columns: dropped (with the views on it) and created anew', {{ dbt.string_literal(relation.render()) }};
    execute $zoho_view_sql$drop view if exists {{ relation.render() }} cascade$zoho_view_sql$;
    execute $zoho_view_sql${{ create_sql }}$zoho_view_sql$;
end
$zoho_view$
{%- endmacro %}
