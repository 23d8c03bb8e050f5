with

source as (

    select * from {{ source('zoho_books', 'contact_persons') }}

),

renamed as (

    select
        ----------  ids
        {{ blank_to_null('user_id') }} as user_id,
        {{ blank_to_null('contact_id') }} as contact_id,
        {{ blank_to_null('contact_person_id') }} as contact_person_id,

        ----------  strings
        {{ blank_to_null("payload->>'first_name'") }} as first_name,
        {{ blank_to_null("payload->>'last_name'") }} as last_name,
        {{ blank_to_null("payload->>'email'") }} as email,
        {{ blank_to_null("payload->>'phone'") }} as phone,
        {{ blank_to_null("payload->>'mobile'") }} as mobile,
        {{ blank_to_null('mobile_e164') }} as mobile_e164,
        {{ blank_to_null('phone_e164') }} as phone_e164,

        ----------  numerics
        position as person_position,

        ----------  booleans
        is_primary_contact,

        ----------  semi-structured
        payload,

        ----------  timestamps
        _synced_at

    from source

)

select * from renamed
