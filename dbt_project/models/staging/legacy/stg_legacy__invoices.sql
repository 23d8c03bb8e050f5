with

source as (

    select * from {{ source('legacy', 'legacy_invoices') }}

),

renamed as (

    select
        ----------  ids
        {{ blank_to_null('source.user_id') }} as user_id,
        {{ blank_to_null('source.invoice_id') }} as invoice_id,
        {{ blank_to_null('source.customer_id') }} as customer_id,

        ----------  numerics
        source.legacy_rows,

        ----------  timestamps
        source.legacy_updated_at,
        source._synced_at

    from source

)

select * from renamed
