{#- Light cleaning used by the staging models. Every cast here is safe: bad text becomes null. -#}

{#- Zoho sends "" or " " for empty fields: both (and any whitespace-only text) read as null. -#}
{% macro blank_to_null(expression) -%}
    nullif(btrim({{ expression }}, E' \t\r\n'), '')
{%- endmacro %}


{#- A decimal number, or null when the text is not one (never an error). -#}
{% macro safe_numeric(expression) -%}
    case
        when {{ blank_to_null(expression) }} ~ '^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]{1,3})?$'
            then cast({{ blank_to_null(expression) }} as numeric)
    end
{%- endmacro %}


{#-
    A `yyyy-mm-dd` date (anything after the first ten characters, e.g. a time, is ignored), or null
    when the text is not a real calendar date (2024-02-30 and 2023-02-29 are null, not an error).
    One regular expression accepts every valid month/day pair but 29 February, which is accepted in
    leap years only; the nested CASE fixes the evaluation order, so the casts only see valid text.
-#}
{% macro safe_date(expression) -%}
    {%- set text = blank_to_null(expression) -%}
    case
        when left({{ text }}, 4) = '0000' then null
        when {{ text }} ~ '^[0-9]{4}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)'
            then cast(left({{ text }}, 10) as date)
        when {{ text }} ~ '^[0-9]{4}-02-29'
            then case
                when mod(cast(left({{ text }}, 4) as integer), 4) = 0
                     and (mod(cast(left({{ text }}, 4) as integer), 100) <> 0
                          or mod(cast(left({{ text }}, 4) as integer), 400) = 0)
                    then cast(left({{ text }}, 10) as date)
            end
    end
{%- endmacro %}


{#- An E.164 number (`+` then 7 to 15 digits, no leading zero), or null. -#}
{% macro e164_or_null(expression) -%}
    case when {{ expression }} ~ '^[+][1-9][0-9]{6,14}$' then {{ expression }} end
{%- endmacro %}


{#-
    The named top-level fields of a Zoho record, all as text, in one pass over the jsonb
    (`jsonb_to_record`): use as `cross join lateral {{ payload_fields('payload', [...]) }}`, then
    read them as `fields.<name>`.
    Numbers come back as their text, nested objects as JSON text, absent fields as null; a payload
    that is not an object reads as all-null fields instead of an error.
-#}
{% macro payload_fields(payload, fields, alias='fields') -%}
    jsonb_to_record(
        case when jsonb_typeof({{ payload }}) = 'object' then {{ payload }} else '{}'::jsonb end
    ) as {{ alias }}(
        {%- for field in fields %}
        {{ adapter.quote(field) }} text{{ "," if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}
