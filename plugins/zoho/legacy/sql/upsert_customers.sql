-- One customer per (tenant, Zoho customer id) of the readable rows. The latest row wins field by
-- field (a blank in a newer row does not erase an older value); the phone is the latest one that
-- normalises to E.164 (else the latest raw value, with phone_e164 null). Rows are written only when
-- their content changed, so a re-run leaves _synced_at (and the dbt marts) untouched.
with

readable as (

    select rows.*, phones.e164 as phone_e164
    from legacy_source_rows as rows
    left join legacy_phones as phones
        on phones.user_id = rows.user_id
        and phones.raw = rows.customer_phone
    where rows.reject_reason is null

),

customers as (

    select
        user_id,
        customer_id,
        (array_agg(customer_name order by recency) filter (where customer_name is not null))[1] as customer_name,
        (array_agg(customer_email order by recency) filter (where customer_email is not null))[1] as email,
        coalesce(
            (array_agg(customer_phone order by recency) filter (where phone_e164 is not null))[1],
            (array_agg(customer_phone order by recency) filter (where customer_phone is not null))[1]
        ) as phone,
        (array_agg(phone_e164 order by recency) filter (where phone_e164 is not null))[1] as phone_e164,
        count(*) as legacy_rows,
        max(updated_at) as legacy_updated_at
    from readable
    group by user_id, customer_id

)

insert into zoho_raw.legacy_customers as target (
    user_id, customer_id, customer_name, email, phone, phone_e164, legacy_rows, legacy_updated_at,
    source_table, row_hash
)
select
    user_id, customer_id, customer_name, email, phone, phone_e164, legacy_rows, legacy_updated_at,
    %(source_table)s,
    md5(cast(jsonb_build_array(customer_name, email, phone, phone_e164, legacy_rows, legacy_updated_at) as text))
from customers
on conflict (user_id, customer_id) do update set
    customer_name = excluded.customer_name,
    email = excluded.email,
    phone = excluded.phone,
    phone_e164 = excluded.phone_e164,
    legacy_rows = excluded.legacy_rows,
    legacy_updated_at = excluded.legacy_updated_at,
    source_table = excluded.source_table,
    row_hash = excluded.row_hash,
    _synced_at = now()
where target.row_hash is distinct from excluded.row_hash
