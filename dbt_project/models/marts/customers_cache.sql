{{
    config(
        unique_key=['user_id', 'zoho_customer_id'],
        merge_exclude_columns=['id'],
        indexes=[{'columns': ['user_id', 'primary_phone']}],
        post_hook=[after_commit("{{ ensure_invoices_customer_fk() }}")]
    )
}}

{#-
    Incremental: only customers whose raw rows landed since the mart last changed (minus a
    lookback for late commits), plus any whose landed version the mart does not hold yet, are
    recomputed; of those, only new or changed rows are merged. updated_at moves only when
    customer_hash changes; it is kept from the current table even on --full-refresh (the old
    table is still in place while the new one is built). Customers come from Zoho and, below it,
    from the legacy invoice table (int_customers__legacy_merged, zoho_legacy_backfill).
-#}
{%- set current_table = load_relation(this) -%}
-- depends_on: {{ ref('stg_zoho_books__contacts') }}
-- depends_on: {{ ref('stg_zoho_books__contact_persons') }}
-- depends_on: {{ ref('stg_zoho_books__missing_contacts') }}
-- depends_on: {{ ref('stg_legacy__customers') }}

with

customers as (

    select * from {{ ref('int_customers__legacy_merged') }}

),

{% if current_table is not none %}
current_rows as (

    select
        user_id,
        zoho_customer_id,
        customer_hash,
        zoho_last_modified_time,
        updated_at
    from {{ this }}

),
{% endif %}

{% if is_incremental() %}
watermark as (

    select
        coalesce(max(updated_at), '-infinity'::timestamptz)
            - interval '{{ var("incremental_lookback") }}' as synced_since
    from {{ this }}

),

changed_customers as (

    select contacts.user_id, contacts.contact_id
    from {{ ref('stg_zoho_books__contacts') }} as contacts
    cross join watermark
    where contacts._synced_at > watermark.synced_since
       or contacts.persons_synced_at > watermark.synced_since

    union

    select persons.user_id, persons.contact_id
    from {{ ref('stg_zoho_books__contact_persons') }} as persons
    cross join watermark
    where persons._synced_at > watermark.synced_since

    union

    -- catch-up, whatever the timestamps say: customers the mart lacks or holds in another version
    select contacts.user_id, contacts.contact_id
    from {{ ref('stg_zoho_books__contacts') }} as contacts
    left join current_rows
        on contacts.user_id = current_rows.user_id
        and contacts.contact_id = current_rows.zoho_customer_id
    where contacts.contact_type = 'customer'
      and (current_rows.user_id is null
           or current_rows.zoho_last_modified_time is distinct from contacts.last_modified_time)

    union

    -- legacy customers landed since (zoho_legacy_backfill)
    select legacy.user_id, legacy.customer_id
    from {{ ref('stg_legacy__customers') }} as legacy
    cross join watermark
    where legacy._synced_at > watermark.synced_since

    union

    -- contacts Zoho says do not exist since (a legacy-only customer becomes flagged deleted)
    select missing.user_id, missing.contact_id
    from {{ ref('stg_zoho_books__missing_contacts') }} as missing
    cross join watermark
    where missing.checked_at > watermark.synced_since

    union

    -- catch-up, whatever the timestamps say: legacy customers the mart lacks
    select legacy.user_id, legacy.customer_id
    from {{ ref('stg_legacy__customers') }} as legacy
    left join current_rows
        on legacy.user_id = current_rows.user_id
        and legacy.customer_id = current_rows.zoho_customer_id
    where current_rows.user_id is null

),
{% endif %}

joined as (

    select
        {{ natural_key_uuid('customers.user_id', 'customers.contact_id') }} as id,
        customers.user_id,
        customers.contact_id as zoho_customer_id,
        customers.contact_name as customer_name,
        customers.company_name,
        customers.email,
        customers.phone,
        customers.mobile,
        customers.primary_phone,
        customers.primary_phone_source,
        customers.contact_persons,
        case when customers.contact_status = 'inactive' then 'inactive' else 'active' end as status,
        customers.is_deleted,
        customers.last_modified_time as zoho_last_modified_time
    from customers
    {% if is_incremental() %}
    where (customers.user_id, customers.contact_id) in (select user_id, contact_id from changed_customers)
    {% endif %}

),

hashed as (

    select
        *,
        {{ hash_fields([
            'customer_name', 'company_name', 'email', 'phone', 'mobile',
            'primary_phone', 'primary_phone_source', 'contact_persons', 'status', 'is_deleted',
        ]) }} as customer_hash
    from joined

),

final as (

    select
        hashed.id,
        cast(hashed.user_id as text) as user_id,
        cast(hashed.zoho_customer_id as text) as zoho_customer_id,
        cast(hashed.customer_name as text) as customer_name,
        cast(hashed.company_name as text) as company_name,
        cast(hashed.email as text) as email,
        cast(hashed.phone as text) as phone,
        cast(hashed.mobile as text) as mobile,
        cast(hashed.primary_phone as text) as primary_phone,
        cast(hashed.primary_phone_source as text) as primary_phone_source,
        hashed.contact_persons,
        cast(hashed.status as text) as status,
        hashed.is_deleted,
        hashed.customer_hash,
        hashed.zoho_last_modified_time,
        {% if current_table is not none -%}
        case
            when current_rows.customer_hash = hashed.customer_hash then current_rows.updated_at
            else now()
        end as updated_at
        {%- else -%}
        now() as updated_at
        {%- endif %}
    from hashed
    {% if current_table is not none -%}
    left join current_rows
        on hashed.user_id = current_rows.user_id
        and hashed.zoho_customer_id = current_rows.zoho_customer_id
    {%- endif %}
    {% if is_incremental() %}
    where current_rows.user_id is null
       or current_rows.customer_hash <> hashed.customer_hash
       or current_rows.zoho_last_modified_time is distinct from hashed.zoho_last_modified_time
    {% endif %}

)

select * from final
