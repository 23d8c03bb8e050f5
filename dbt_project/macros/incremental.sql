{#-
    The change detection of the incremental marts (customers_cache, invoices_cache): which keys an
    incremental run recomputes, which of the recomputed rows it merges, and when updated_at moves
    (DECISIONS.md "Incremental selection", "updated_at moves only when the hash changes"). A call
    block around the CTEs that compute the mart's rows:

        with
        <the model's own input CTEs>,
        {% call incremental_change_detection(unique_key=[...], hash_column='..._hash', inputs=[...]) %}
        <CTEs ending in one named new_rows: the mart's columns but updated_at, restricted, when
         is_incremental(), to the keys in changed_keys>
        {% endcall %}
        select * from final

    It writes these CTEs around the block:
    - current_rows (when the mart exists, --full-refresh included): unique_key (the merge's), the
      hash and updated_at of every row the mart holds, and on incremental runs also
      current_columns, compare and the version (a --full-refresh reads only the key, the hash and
      updated_at, so the refresh that adds a column to the mart never reads it from the old table);
    - watermark (incremental runs): the mart's last change minus var('incremental_lookback');
    - changed_keys (incremental runs; its columns named as unique_key): the keys to recompute. Per
      input (a dict: `relation`, a relation or CTE name; `key`, its columns matching unique_key;
      `landed_at`, timestamp columns; `catch_up`, `version` and `where`, optional): the rows with a
      `landed_at` after the watermark; with `catch_up`, whatever the timestamps say, the rows
      (matching the condition `where`) whose key the mart lacks or, with `version`, holds with a
      version_column distinct from it. Then the rows of every query of more_changes;
    - final: new_rows with updated_at, kept from current_rows when the hash is unchanged (even on a
      --full-refresh: the old table is still in place while the new one is built), else now(); on
      incremental runs only the rows that are new or whose hash, version or a `compare` column
      changed, so a run with nothing new merges nothing.
-#}
{% macro incremental_change_detection(unique_key, hash_column, inputs, compare=[], more_changes=[],
                                      current_columns=[], version_column='zoho_last_modified_time') -%}
{%- set current_table = load_relation(this) -%}
{%- set first_key = unique_key[0] -%}
{%- set branches = [] -%}

{%- if current_table is not none -%}
{%- if is_incremental() -%}
{%- set current_select = unique_key + current_columns + compare + [hash_column, version_column, 'updated_at'] -%}
{%- else -%}
{%- set current_select = unique_key + [hash_column, 'updated_at'] -%}
{%- endif -%}
current_rows as (

    select
        {%- for column in current_select | unique %}
        {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ this }}

),

{% endif -%}

{%- if is_incremental() -%}
watermark as (

    select
        coalesce(max(updated_at), '-infinity'::timestamptz)
            - interval '{{ var("incremental_lookback") }}' as synced_since
    from {{ this }}

),

{% for input in inputs -%}
{%- set label = input.relation.identifier if input.relation.identifier is defined else input.relation -%}
{%- set keys -%}
select
        {%- for column in input.key %}
        landed.{{ column }} as {{ unique_key[loop.index0] }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ input.relation }} as landed
{%- endset -%}
{%- if input.landed_at -%}
{%- set landed -%}
-- {{ label }}: landed since the mart last changed
    {{ keys }}
    cross join watermark
    where
        {%- for column in input.landed_at %}
        {{- " " if loop.first else "\n       or " }}landed.{{ column }} > watermark.synced_since
        {%- endfor %}
{%- endset -%}
{%- do branches.append(landed) -%}
{%- endif -%}
{%- if input.catch_up -%}
{%- set catch_up -%}
-- {{ label }}: catch-up, whatever the timestamps say: keys the mart lacks
    {{- " or holds in another version" if input.version }}
    {{ keys }}
    left join current_rows
        {%- for column in input.key %}
        {{ "on" if loop.first else "and" }} landed.{{ column }} = current_rows.{{ unique_key[loop.index0] }}
        {%- endfor %}
    where {{ "(" ~ input.where ~ ") and (" if input.where }}current_rows.{{ first_key }} is null
        {%- if input.version %}
       or current_rows.{{ version_column }} is distinct from landed.{{ input.version }}
        {%- endif %}{{ ")" if input.where }}
{%- endset -%}
{%- do branches.append(catch_up) -%}
{%- endif -%}
{%- endfor -%}
{%- for query in more_changes -%}
{%- do branches.append(query | trim) -%}
{%- endfor -%}
changed_keys as (

    {{ branches | join("\n\n    union\n\n    ") }}

),

{% endif -%}
{{ caller() | trim }},

final as (

    select
        new_rows.*,
        {% if current_table is not none -%}
        case
            when current_rows.{{ hash_column }} = new_rows.{{ hash_column }} then current_rows.updated_at
            else now()
        end as updated_at
        {%- else -%}
        now() as updated_at
        {%- endif %}
    from new_rows
    {%- if current_table is not none %}
    left join current_rows
        {%- for column in unique_key %}
        {{ "on" if loop.first else "and" }} new_rows.{{ column }} = current_rows.{{ column }}
        {%- endfor %}
    {%- endif %}
    {%- if is_incremental() %}
    where current_rows.{{ first_key }} is null
       or current_rows.{{ hash_column }} <> new_rows.{{ hash_column }}
       or current_rows.{{ version_column }} is distinct from new_rows.{{ version_column }}
       {%- for column in compare %}
       or current_rows.{{ column }} is distinct from new_rows.{{ column }}
       {%- endfor %}
    {%- endif %}

)
{%- endmacro %}
