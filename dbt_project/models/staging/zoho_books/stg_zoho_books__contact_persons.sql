with

source as (

    select * from {{ source('zoho_books', 'contact_persons') }}

),

renamed as (

    select
        ----------  ids
        {{ blank_to_null('source.user_id') }} as user_id,
        {{ blank_to_null('source.contact_id') }} as contact_id,
        {{ blank_to_null('source.contact_person_id') }} as contact_person_id,

        ----------  strings
        {{ blank_to_null('fields.first_name') }} as first_name,
        {{ blank_to_null('fields.last_name') }} as last_name,
        {{ blank_to_null('fields.email') }} as email,
        {{ blank_to_null('fields.phone') }} as phone,
        {{ blank_to_null('fields.mobile') }} as mobile,
        {{ blank_to_null('source.mobile_e164') }} as mobile_e164,
        {{ blank_to_null('source.phone_e164') }} as phone_e164,

        ----------  numerics
        source.position as person_position,

        ----------  booleans
        source.is_primary_contact,

        ----------  semi-structured
        source.payload,

        ----------  timestamps
        source._synced_at

    from source
    cross join lateral {{ payload_fields('source.payload', [
        'first_name', 'last_name', 'email', 'phone', 'mobile',
    ]) }}

)

select * from renamed
