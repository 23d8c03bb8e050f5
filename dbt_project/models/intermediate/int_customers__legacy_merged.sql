-- One row per customer of a tenant (user_id, contact_id): Zoho's customers, and the customers only
-- the legacy invoice table knows (landed by zoho_legacy_backfill). Zoho wins:
--   * a customer Zoho has keeps every field as Zoho has it; the legacy phone is one more candidate
--     after the six of the phone rule, so it fills in only where Zoho has no valid number
--     (primary_phone_source 'legacy.customer_phone');
--   * a legacy customer Zoho does not have as a customer is built from the legacy row; if Zoho has
--     that contact as something else (a vendor) or says it does not exist, it is kept (its legacy
--     invoices still reference it) but flagged deleted.
--   * phone_pending is Zoho's (the contact's persons are not read yet; the legacy phone may fill
--     primary_phone meanwhile, the reminders still wait); false for a legacy-only customer.
-- A later Zoho sync of a legacy-only customer replaces the legacy-derived fields by Zoho's.

with

zoho_customers as (

    select * from {{ ref('int_customers__phone_resolved') }}

),

legacy_customers as (

    select
        user_id,
        customer_id,
        customer_name,
        email,
        phone,
        -- normalised at landing; anything that is not E.164 is skipped rather than published
        {{ e164_or_null('phone_e164') }} as phone_e164
    from {{ ref('stg_legacy__customers') }}
    where user_id is not null
      and customer_id is not null

),

zoho_contacts as (

    -- every contact Zoho has, whatever its type
    select distinct user_id, contact_id
    from {{ ref('stg_zoho_books__contacts') }}
    where user_id is not null
      and contact_id is not null

),

missing_contacts as (

    select distinct user_id, contact_id
    from {{ ref('stg_zoho_books__missing_contacts') }}
    where user_id is not null
      and contact_id is not null

),

zoho_with_legacy_phone as (

    select
        zoho_customers.user_id,
        zoho_customers.contact_id,
        zoho_customers.contact_status,
        zoho_customers.contact_name,
        zoho_customers.company_name,
        zoho_customers.email,
        zoho_customers.phone,
        zoho_customers.mobile,
        zoho_customers.is_deleted,
        zoho_customers.last_modified_time,
        coalesce(zoho_customers.primary_phone, legacy_customers.phone_e164) as primary_phone,
        case
            when zoho_customers.primary_phone is not null then zoho_customers.primary_phone_source
            when legacy_customers.phone_e164 is not null then 'legacy.customer_phone'
        end as primary_phone_source,
        zoho_customers.phone_pending,
        zoho_customers.contact_persons,
        'zoho' as record_source
    from zoho_customers
    left join legacy_customers
        on zoho_customers.user_id = legacy_customers.user_id
        and zoho_customers.contact_id = legacy_customers.customer_id

),

legacy_only as (

    select
        legacy_customers.user_id,
        legacy_customers.customer_id as contact_id,
        'active' as contact_status,
        legacy_customers.customer_name as contact_name,
        cast(null as text) as company_name,
        legacy_customers.email,
        legacy_customers.phone,
        cast(null as text) as mobile,
        (zoho_contacts.contact_id is not null or missing_contacts.contact_id is not null) as is_deleted,
        cast(null as timestamptz) as last_modified_time,
        legacy_customers.phone_e164 as primary_phone,
        case when legacy_customers.phone_e164 is not null then 'legacy.customer_phone' end as primary_phone_source,
        false as phone_pending,
        cast('[]' as jsonb) as contact_persons,
        'legacy' as record_source
    from legacy_customers
    left join zoho_customers
        on legacy_customers.user_id = zoho_customers.user_id
        and legacy_customers.customer_id = zoho_customers.contact_id
    left join zoho_contacts
        on legacy_customers.user_id = zoho_contacts.user_id
        and legacy_customers.customer_id = zoho_contacts.contact_id
    left join missing_contacts
        on legacy_customers.user_id = missing_contacts.user_id
        and legacy_customers.customer_id = missing_contacts.contact_id
    where zoho_customers.contact_id is null

),

final as (

    select * from zoho_with_legacy_phone
    union all
    select * from legacy_only

)

select * from final
