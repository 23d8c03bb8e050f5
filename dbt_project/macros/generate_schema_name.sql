{#-
    Custom schema names are used verbatim (`zoho_staging`, `analytics`), not prefixed with the
    target schema: the analyst contract names the `analytics` schema, whatever the target.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
