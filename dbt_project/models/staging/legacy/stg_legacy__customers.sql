with

source as (

    select * from {{ source('legacy', 'legacy_customers') }}

),

renamed as (

    select
        ----------  ids
        {{ blank_to_null('source.user_id') }} as user_id,
        {{ blank_to_null('source.customer_id') }} as customer_id,

        ----------  strings
        {{ blank_to_null('source.customer_name') }} as customer_name,
        {{ blank_to_null('source.email') }} as email,
        {{ blank_to_null('source.phone') }} as phone,
        {{ blank_to_null('source.phone_e164') }} as phone_e164,

        ----------  numerics
        source.legacy_rows,

        ----------  timestamps
        source.legacy_updated_at,
        source._synced_at

    from source

)

select * from renamed
