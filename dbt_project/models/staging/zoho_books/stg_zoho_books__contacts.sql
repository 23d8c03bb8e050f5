with

source as (

    select * from {{ source('zoho_books', 'contacts') }}

),

renamed as (

    select
        ----------  ids
        {{ blank_to_null('user_id') }} as user_id,
        {{ blank_to_null('contact_id') }} as contact_id,

        ----------  strings
        lower({{ blank_to_null('contact_type') }}) as contact_type,
        lower({{ blank_to_null("payload->>'status'") }}) as contact_status,
        {{ blank_to_null("payload->>'contact_name'") }} as contact_name,
        {{ blank_to_null("payload->>'company_name'") }} as company_name,
        {{ blank_to_null("payload->>'email'") }} as email,
        {{ blank_to_null("payload->>'phone'") }} as phone,
        {{ blank_to_null("payload->>'mobile'") }} as mobile,
        {{ blank_to_null('mobile_e164') }} as mobile_e164,
        {{ blank_to_null('phone_e164') }} as phone_e164,

        ----------  booleans
        is_deleted,

        ----------  timestamps
        last_modified_time,
        deleted_at,
        persons_synced_at,
        _synced_at

    from source

)

select * from renamed
