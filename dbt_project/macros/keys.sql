{#-
    Stable surrogate key: md5(user_id || '|' || zoho_id) read as a uuid. The same natural key gives
    the same id on every run and after any --full-refresh (DECISIONS.md).
-#}
{% macro natural_key_uuid(user_id, zoho_id) -%}
    cast(md5({{ user_id }} || '|' || {{ zoho_id }}) as uuid)
{%- endmacro %}


{#-
    md5 of a list of business fields. jsonb_build_array keeps nulls and field boundaries apart
    (no separator collisions) and renders every type canonically.
-#}
{% macro hash_fields(expressions) -%}
    md5(cast(jsonb_build_array(
        {%- for expression in expressions %}
        {{ expression }}{{ "," if not loop.last }}
        {%- endfor %}
    ) as text))
{%- endmacro %}
