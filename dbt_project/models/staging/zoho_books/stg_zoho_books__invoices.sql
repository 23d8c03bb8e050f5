with

source as (

    select * from {{ source('zoho_books', 'invoices') }}

),

renamed as (

    select
        ----------  ids
        {{ blank_to_null('user_id') }} as user_id,
        {{ blank_to_null('invoice_id') }} as invoice_id,
        {{ blank_to_null('customer_id') }} as customer_id,

        ----------  strings
        {{ blank_to_null("payload->>'invoice_number'") }} as invoice_number,
        lower({{ blank_to_null("payload->>'status'") }}) as invoice_status,
        upper({{ blank_to_null("payload->>'currency_code'") }}) as currency_code,

        ----------  numerics
        {{ safe_numeric("payload->>'total'") }} as total,
        {{ safe_numeric("payload->>'balance'") }} as balance,

        ----------  booleans
        is_deleted,

        ----------  dates
        {{ safe_date("payload->>'date'") }} as invoice_date,
        {{ safe_date("payload->>'due_date'") }} as due_date,

        ----------  timestamps
        last_modified_time,
        deleted_at,
        _synced_at

    from source

)

select * from renamed
