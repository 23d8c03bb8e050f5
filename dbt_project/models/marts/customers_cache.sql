{{
    config(
        unique_key=['user_id', 'zoho_customer_id'],
        merge_exclude_columns=['id'],
        post_hook=[after_commit("{{ ensure_invoices_customer_fk() }}")]
    )
}}

{#-
    Incremental (macros/incremental.sql, incremental_change_detection): only customers whose raw
    rows landed since the mart last changed (minus a lookback for late commits), plus any whose
    landed version the mart does not hold yet, are recomputed; of those, only new or changed rows
    are merged. updated_at moves only when customer_hash changes; it is kept from the current table
    even on --full-refresh. Customers come from Zoho and, below it, from the legacy invoice table
    (int_customers__legacy_merged, zoho_legacy_backfill).
    phone_pending (the raw contact's persons_pending: its phone needs persons the sync has not read
    yet) can flip with no timestamp of the contact moving, so customers whose phone_pending differs
    from their raw contact's flag are recomputed too.
-#}
-- depends_on: {{ ref('stg_zoho_books__contacts') }}
-- depends_on: {{ ref('stg_zoho_books__contact_persons') }}
-- depends_on: {{ ref('stg_zoho_books__missing_contacts') }}
-- depends_on: {{ ref('stg_legacy__customers') }}

with

customers as (

    select * from {{ ref('int_customers__legacy_merged') }}

),

{% if is_incremental() -%}
contact_flags as (

    -- persons_pending of the customer contacts, straight from the raw table (the staging view would
    -- parse every payload only to read a flag), keys cleaned as the staging view cleans them
    select
        {{ blank_to_null('user_id') }} as user_id,
        {{ blank_to_null('contact_id') }} as contact_id,
        persons_pending
    from {{ source('zoho_books', 'contacts') }}
    where lower({{ blank_to_null('contact_type') }}) = 'customer'

),

{% endif -%}

{#
    Customers recomputed on an incremental run: contacts landed (or whose persons were replaced)
    since the mart last changed, and, whatever the timestamps say, customers the mart lacks or holds
    in another version; legacy customers landed since (zoho_legacy_backfill), and the ones the mart
    lacks; contacts Zoho says do not exist since (a legacy-only customer becomes flagged deleted);
    customers whose persons_pending flipped, whatever the timestamps say.
-#}
{%- set phone_pending_changed -%}
    -- customers whose phone_pending the mart holds otherwise than the raw contact's persons_pending
    select contact_flags.user_id, contact_flags.contact_id
    from contact_flags
    inner join current_rows
        on contact_flags.user_id = current_rows.user_id
        and contact_flags.contact_id = current_rows.zoho_customer_id
    where contact_flags.persons_pending is distinct from current_rows.phone_pending
{%- endset -%}
{% call incremental_change_detection(
    unique_key=['user_id', 'zoho_customer_id'],
    hash_column='customer_hash',
    inputs=[
        {'relation': ref('stg_zoho_books__contacts'), 'key': ['user_id', 'contact_id'],
         'landed_at': ['_synced_at', 'persons_synced_at'],
         'catch_up': true, 'version': 'last_modified_time', 'where': "contact_type = 'customer'"},
        {'relation': ref('stg_zoho_books__contact_persons'), 'key': ['user_id', 'contact_id'],
         'landed_at': ['_synced_at']},
        {'relation': ref('stg_legacy__customers'), 'key': ['user_id', 'customer_id'],
         'landed_at': ['_synced_at'], 'catch_up': true},
        {'relation': ref('stg_zoho_books__missing_contacts'), 'key': ['user_id', 'contact_id'],
         'landed_at': ['checked_at']},
    ],
    more_changes=[phone_pending_changed],
    current_columns=['phone_pending'],
) %}

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
        customers.phone_pending,
        customers.contact_persons,
        case when customers.contact_status = 'inactive' then 'inactive' else 'active' end as status,
        customers.is_deleted,
        customers.last_modified_time as zoho_last_modified_time
    from customers
    {% if is_incremental() %}
    where (customers.user_id, customers.contact_id) in (select user_id, zoho_customer_id from changed_keys)
    {% endif %}

),

{%- set business_fields = [
    'customer_name', 'company_name', 'email', 'phone', 'mobile',
    'primary_phone', 'primary_phone_source', 'contact_persons', 'status', 'is_deleted',
] %}

hashed as (

    -- phone_pending enters the hash only when true: every other customer keeps the hash it had
    -- before the column existed (the full refresh that adds the column keeps their updated_at)
    select
        *,
        case
            when phone_pending then {{ hash_fields(business_fields + ['phone_pending']) }}
            else {{ hash_fields(business_fields) }}
        end as customer_hash
    from joined

),

new_rows as (

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
        hashed.phone_pending,
        hashed.contact_persons,
        cast(hashed.status as text) as status,
        hashed.is_deleted,
        hashed.customer_hash,
        hashed.zoho_last_modified_time
    from hashed

)

{% endcall %}

select * from final
