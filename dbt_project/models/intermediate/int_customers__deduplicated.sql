-- One row per customer of a tenant (user_id, contact_id): the latest landed version of each
-- contact wins, then only contacts of type customer are kept (a contact whose latest version is a
-- vendor is not a customer, whatever older versions said).

with

contacts as (

    select * from {{ ref('stg_zoho_books__contacts') }}
    where user_id is not null
      and contact_id is not null

),

ranked as (

    select
        *,
        row_number() over (
            partition by user_id, contact_id
            order by
                last_modified_time desc nulls last,
                _synced_at desc,
                is_deleted asc,
                contact_name asc nulls last
        ) as version_rank
    from contacts

),

final as (

    select
        user_id,
        contact_id,
        contact_type,
        contact_status,
        contact_name,
        company_name,
        email,
        phone,
        mobile,
        mobile_e164,
        phone_e164,
        is_deleted,
        persons_pending,
        last_modified_time,
        persons_synced_at,
        _synced_at
    from ranked
    where version_rank = 1
      and contact_type = 'customer'

)

select * from final
