-- What the source table holds, counted from legacy_source_rows (after the landing statements).
with

readable as (

    select * from legacy_source_rows where reject_reason is null

),

customer_phones as (

    select customers.phone, customers.phone_e164
    from zoho_raw.legacy_customers as customers
    where exists (
        select 1 from readable
        where readable.user_id = customers.user_id
          and readable.customer_id = customers.customer_id
    )

),

conflicting_invoices as (

    select user_id, invoice_id
    from readable
    group by user_id, invoice_id
    having count(distinct customer_id) > 1

)

select
    (select count(*) from legacy_source_rows) as rows_read,
    (select count(*) from legacy_source_rows where reject_reason is not null) as rows_rejected,
    (select coalesce(jsonb_object_agg(reject_reason, n), '{}'::jsonb)
     from (select reject_reason, count(*) as n from legacy_source_rows
           where reject_reason is not null group by reject_reason) as reasons) as rejected_by_reason,
    (select count(*) from readable) as rows_accepted,
    (select count(*) from (select distinct user_id, customer_id from readable) as c) as customers_found,
    (select count(*) from (select distinct user_id, invoice_id from readable) as i) as invoices_found,
    (select count(*) from conflicting_invoices) as invoices_with_conflicting_customers,
    (select count(*) from (select distinct user_id from readable) as t) as tenants,
    (select count(*) from customer_phones where phone_e164 is not null) as phones_valid,
    (select count(*) from customer_phones where phone is not null and phone_e164 is null) as phones_invalid,
    (select count(*) from customer_phones where phone is null) as phones_missing
