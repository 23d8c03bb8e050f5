with

source as (

    select * from {{ source('zoho_books', 'contacts') }}

),

renamed as (

    select
        ----------  ids
        {{ blank_to_null('source.user_id') }} as user_id,
        {{ blank_to_null('source.contact_id') }} as contact_id,

        ----------  strings
        lower({{ blank_to_null('source.contact_type') }}) as contact_type,
        lower({{ blank_to_null('fields.status') }}) as contact_status,
        {{ blank_to_null('fields.contact_name') }} as contact_name,
        {{ blank_to_null('fields.company_name') }} as company_name,
        {{ blank_to_null('fields.email') }} as email,
        {{ blank_to_null('fields.phone') }} as phone,
        {{ blank_to_null('fields.mobile') }} as mobile,
        {{ blank_to_null('source.mobile_e164') }} as mobile_e164,
        {{ blank_to_null('source.phone_e164') }} as phone_e164,

        ----------  booleans
        source.is_deleted,
        source.persons_pending,

        ----------  timestamps
        source.last_modified_time,
        source.deleted_at,
        source.persons_synced_at,
        source._synced_at

    from source
    -- the payload's fields, read in one pass (a large jsonb is decompressed once per row, not
    -- once per field); every field as text, so no record can make this fail
    cross join lateral {{ payload_fields('source.payload', [
        'contact_name', 'company_name', 'status', 'email', 'phone', 'mobile',
    ]) }}

)

select * from renamed
