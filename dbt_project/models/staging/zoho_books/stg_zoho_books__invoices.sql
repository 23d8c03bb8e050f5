with

source as (

    select * from {{ source('zoho_books', 'invoices') }}

),

renamed as (

    select
        ----------  ids
        {{ blank_to_null('source.user_id') }} as user_id,
        {{ blank_to_null('source.invoice_id') }} as invoice_id,
        {{ blank_to_null('source.customer_id') }} as customer_id,

        ----------  strings
        {{ blank_to_null('fields.invoice_number') }} as invoice_number,
        lower({{ blank_to_null('fields.status') }}) as invoice_status,
        upper({{ blank_to_null('fields.currency_code') }}) as currency_code,

        ----------  numerics
        {{ safe_numeric('fields.total') }} as total,
        {{ safe_numeric('fields.balance') }} as balance,

        ----------  booleans
        source.is_deleted,

        ----------  dates
        {{ safe_date('fields.date') }} as invoice_date,
        {{ safe_date('fields.due_date') }} as due_date,

        ----------  timestamps
        source.last_modified_time,
        source.deleted_at,
        source._synced_at

    from source
    -- the payload's fields, read in one pass (a large jsonb is decompressed once per row, not
    -- once per field); every field as text, so no record can make this fail
    cross join lateral {{ payload_fields('source.payload', [
        'invoice_number', 'status', 'currency_code', 'total', 'balance', 'date', 'due_date',
    ]) }}

)

select * from renamed
