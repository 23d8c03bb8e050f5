-- The integrity report: the source table (legacy_source_rows) against the landing tables, Zoho's
-- raw tables and the marts, one row. Counts describe the end state, so a re-run reports the same.
with

readable as (

    select * from legacy_source_rows where reject_reason is null

),

rejected as (

    select * from legacy_source_rows where reject_reason is not null

),

source_customers as (

    select user_id, customer_id, count(*) as legacy_rows
    from readable
    group by user_id, customer_id

),

source_invoices as (

    -- the customer of the invoice's latest row
    select distinct on (user_id, invoice_id) user_id, invoice_id, customer_id
    from readable
    order by user_id, invoice_id, recency

),

zoho_contacts as (

    select user_id, contact_id, lower(btrim(contact_type)) = 'customer' as is_customer
    from zoho_raw.contacts

),

customers_classified as (

    select
        source.user_id,
        source.customer_id,
        source.legacy_rows,
        landed.customer_id is not null as is_landed,
        landed.legacy_rows as landed_rows,
        landed.phone,
        landed.phone_e164,
        mart.id is not null as in_mart,
        mart.id = cast(md5(source.user_id || '|' || source.customer_id) as uuid) as has_stable_id,
        coalesce(zoho.is_customer, false) as known_to_zoho,
        mart.is_deleted,
        mart.primary_phone,
        mart.primary_phone_source
    from source_customers as source
    left join zoho_raw.legacy_customers as landed
        on landed.user_id = source.user_id
        and landed.customer_id = source.customer_id
    left join analytics.customers_cache as mart
        on mart.user_id = source.user_id
        and mart.zoho_customer_id = source.customer_id
    left join zoho_contacts as zoho
        on zoho.user_id = source.user_id
        and zoho.contact_id = source.customer_id

),

invoices_resolved as (

    select
        source.user_id,
        source.invoice_id,
        source.customer_id as legacy_customer_id,
        landed.customer_id as landed_customer_id,
        zoho_invoice.invoice_id is not null as known_to_zoho,
        case
            when zoho_invoice.invoice_id is not null
                then nullif(btrim(zoho_invoice.customer_id, E' \t\r\n'), '')
            else source.customer_id
        end as expected_customer_id,
        mart.id is not null as in_mart,
        mart.customer_id
    from source_invoices as source
    left join zoho_raw.legacy_invoices as landed
        on landed.user_id = source.user_id
        and landed.invoice_id = source.invoice_id
    left join zoho_raw.invoices as zoho_invoice
        on zoho_invoice.user_id = source.user_id
        and zoho_invoice.invoice_id = source.invoice_id
    left join analytics.invoices_cache as mart
        on mart.user_id = source.user_id
        and mart.zoho_invoice_id = source.invoice_id

),

invoices_classified as (

    select
        invoices.*,
        invoices.customer_id is not null
            and invoices.customer_id is distinct from
                cast(md5(invoices.user_id || '|' || invoices.expected_customer_id) as uuid)
            as is_linked_to_other_customer,
        case
            when not invoices.in_mart then 'not_in_invoices_cache'
            when invoices.customer_id is not null then null
            -- Zoho has the invoice (Zoho wins) and its customer is not in customers_cache
            when invoices.known_to_zoho and invoices.expected_customer_id is null
                then 'zoho_invoice_has_no_customer'
            when invoices.known_to_zoho and missing.contact_id is not null
                then 'zoho_customer_does_not_exist'
            when invoices.known_to_zoho and zoho.is_customer is false
                then 'zoho_contact_is_not_a_customer'
            else 'unexplained'
        end as unlinked_reason
    from invoices_resolved as invoices
    left join zoho_raw.missing_contacts as missing
        on missing.user_id = invoices.user_id
        and missing.contact_id = invoices.expected_customer_id
    left join zoho_contacts as zoho
        on zoho.user_id = invoices.user_id
        and zoho.contact_id = invoices.expected_customer_id

),

rejected_only_invoices as (

    -- invoices the source names only in rows without a customer id: reported, never linked
    select distinct rejected.user_id, rejected.invoice_id
    from rejected
    where rejected.reject_reason = 'missing_customer_id'
      and not exists (
          select 1 from source_invoices
          where source_invoices.user_id = rejected.user_id
            and source_invoices.invoice_id = rejected.invoice_id)

),

unlinked_reasons as (

    select unlinked_reason, count(*) as invoices
    from invoices_classified
    where unlinked_reason is not null
    group by unlinked_reason

    union all

    select 'legacy_row_has_no_customer_id', count(*)
    from rejected_only_invoices
    having count(*) > 0

)

select
    ----------  rows
    (select count(*) from legacy_source_rows) as rows_read,
    (select count(*) from rejected) as rows_rejected,
    (select coalesce(jsonb_object_agg(reject_reason, n), '{}'::jsonb)
     from (select reject_reason, count(*) as n from rejected group by reject_reason) as reasons)
        as rejected_by_reason,
    (select count(*) from rejected
     where exists (
         select 1 from zoho_sync.rejected_records as quarantine
         where quarantine.entity = 'legacy_invoices'
           and quarantine.user_id = coalesce(rejected.user_id, '')
           and quarantine.payload_hash = md5(cast(rejected.payload as text))
           and quarantine.reason = rejected.reject_reason)) as rows_rejected_recorded,
    (select count(*) from readable) as rows_accepted,

    ----------  customers
    (select count(*) from customers_classified) as customers_found,
    (select count(*) from readable) - (select count(*) from customers_classified) as duplicates_collapsed,
    (select coalesce(sum(landed_rows), 0) from customers_classified where is_landed) as landed_customer_rows,
    (select count(*) from customers_classified where is_landed) as customers_landed,
    (select count(*) from customers_classified where in_mart) as customers_in_mart,
    (select count(*) from customers_classified where in_mart and not has_stable_id) as customers_with_unstable_id,
    (select count(*) from customers_classified where in_mart and known_to_zoho) as customers_known_to_zoho,
    (select count(*) from customers_classified where in_mart and not known_to_zoho) as customers_created,
    (select count(*) from customers_classified where in_mart and not known_to_zoho and is_deleted)
        as customers_created_flagged_deleted,

    ----------  invoices
    (select count(*) from invoices_classified) as invoices_found,
    (select count(*) from invoices_classified where landed_customer_id is not distinct from legacy_customer_id)
        as invoices_landed,
    (select count(*) from invoices_classified where known_to_zoho) as invoices_known_to_zoho,
    (select count(*) from invoices_classified
     where known_to_zoho and expected_customer_id is distinct from legacy_customer_id)
        as invoices_customer_differs_in_zoho,
    (select count(*) from rejected_only_invoices) as invoices_only_in_rejected_rows,
    (select count(*) from invoices_classified where customer_id is not null) as invoices_linked,
    (select count(*) from invoices_classified where unlinked_reason is not null)
        + (select count(*) from rejected_only_invoices) as invoices_unlinked,
    (select count(*) from invoices_classified where unlinked_reason in ('not_in_invoices_cache', 'unexplained'))
        as invoices_unlinked_without_reason,
    (select count(*) from invoices_classified where is_linked_to_other_customer) as invoices_linked_to_other_customer,
    (select coalesce(jsonb_object_agg(unlinked_reason, invoices), '{}'::jsonb) from unlinked_reasons)
        as unlinked_by_reason,
    (select coalesce(jsonb_agg(jsonb_build_array(user_id, invoice_id, unlinked_reason)), '[]'::jsonb)
     from (select user_id, invoice_id, unlinked_reason from invoices_classified
           where unlinked_reason in ('not_in_invoices_cache', 'unexplained') or is_linked_to_other_customer
           order by user_id, invoice_id limit 5) as examples) as problem_examples,

    ----------  phones
    (select count(*) from customers_classified where phone_e164 is not null) as phones_valid,
    (select count(*) from customers_classified where phone is not null and phone_e164 is null) as phones_invalid,
    (select count(*) from customers_classified where phone is null) as phones_missing,
    (select count(*) from customers_classified where primary_phone_source = 'legacy.customer_phone')
        as phones_recovered,
    (select count(*) from customers_classified
     where primary_phone_source = 'legacy.customer_phone' and known_to_zoho) as phones_recovered_for_zoho_customers,
    (select count(*) from customers_classified
     where in_mart
       and ((primary_phone_source = 'legacy.customer_phone' and primary_phone is distinct from phone_e164)
            or (phone_e164 is not null and primary_phone is null)))
        as phone_mismatches
