{#-
    Per-tenant analyst roles (migration 0008, docs/ANALYST_GUIDE.md "Per-tenant analyst roles"):
    a member of zoho_tenant_analyst sees only its tenants' rows (user_id) of the marts. A post-hook
    of customers_cache and invoices_cache (_marts__models.yml), inside the model's transaction, so a
    table that --full-refresh builds anew is never visible without its policy: enables row-level
    security on the table and (re)creates its policy tenant_rows, through the migration's function
    analytics.apply_tenant_row_security (a catalogue lookup only when the policy is in place, i.e.
    on every incremental run). Warehouses migrated before 0008 have no function: the hook fails
    with "function analytics.apply_tenant_row_security(regclass) does not exist" until
    `python -m zoho.warehouse.schema upgrade` is run.
    The views (macros/materializations/view.sql) are security_invoker, so the policies apply
    through them to whoever queries them.
-#}
{% macro tenant_row_security() -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
select analytics.apply_tenant_row_security({{ dbt.string_literal(this.include(database=false).render()) }}::regclass)
{%- endmacro %}
