with

source as (

    select * from {{ source('zoho_books', 'missing_contacts') }}

),

renamed as (

    select
        ----------  ids
        {{ blank_to_null('source.user_id') }} as user_id,
        {{ blank_to_null('source.contact_id') }} as contact_id,

        ----------  timestamps
        source.checked_at

    from source

)

select * from renamed
