-- One row per customer of a tenant (user_id, contact_id): the deduplicated customer with its
-- primary phone chosen by the rule of docs/CONTRACT.md "Rules" > "Primary phone" from the E.164
-- numbers normalised at load time, the
-- phone's source label, and the customer's contact persons as a jsonb array in Zoho's order.
--
-- Candidates, first non-null valid E.164 wins:
--   1 primary_person.mobile  2 contact.mobile  3 person.mobile (other persons, Zoho's order)
--   4 primary_person.phone   5 contact.phone   6 person.phone  (other persons, Zoho's order)
--
-- phone_pending: the rule needs the contact's persons and the sync has not read them since the
-- contact changed (zoho_raw.contacts.persons_pending). The phone is still chosen from what is
-- known; the reminders hold back until the persons are read.

with

customers as (

    select * from {{ ref('int_customers__deduplicated') }}

),

persons as (

    select
        persons.user_id,
        persons.contact_id,
        persons.contact_person_id,
        persons.person_position,
        coalesce(persons.is_primary_contact, false) as is_primary_contact,
        persons.mobile_e164,
        persons.phone_e164,
        persons.payload
    from {{ ref('stg_zoho_books__contact_persons') }} as persons
    inner join customers
        on persons.user_id = customers.user_id
        and persons.contact_id = customers.contact_id
    where persons.contact_person_id is not null

),

persons_ranked as (

    -- Zoho flags one primary person per contact; should two carry the flag, the first in
    -- Zoho's order is the primary one and the other counts as an ordinary person.
    select
        *,
        is_primary_contact
            and row_number() over (
                partition by user_id, contact_id
                order by is_primary_contact desc, person_position, contact_person_id
            ) = 1 as is_primary_person
    from persons

),

candidates as (

    select user_id, contact_id, 1 as candidate_rank, 'primary_person.mobile' as phone_source,
           person_position, contact_person_id, mobile_e164 as phone
    from persons_ranked where is_primary_person

    union all

    select user_id, contact_id, 2, 'contact.mobile', null, null, mobile_e164
    from customers

    union all

    select user_id, contact_id, 3, 'person.mobile', person_position, contact_person_id, mobile_e164
    from persons_ranked where not is_primary_person

    union all

    select user_id, contact_id, 4, 'primary_person.phone', person_position, contact_person_id, phone_e164
    from persons_ranked where is_primary_person

    union all

    select user_id, contact_id, 5, 'contact.phone', null, null, phone_e164
    from customers

    union all

    select user_id, contact_id, 6, 'person.phone', person_position, contact_person_id, phone_e164
    from persons_ranked where not is_primary_person

),

valid_candidates as (

    -- The loader normalised the numbers already; anything that is not E.164 is skipped here
    -- rather than published.
    select * from candidates
    where {{ e164_or_null('phone') }} is not null

),

chosen_phone as (

    select distinct on (user_id, contact_id)
        user_id,
        contact_id,
        phone as primary_phone,
        phone_source as primary_phone_source
    from valid_candidates
    order by user_id, contact_id, candidate_rank, person_position, contact_person_id

),

contact_persons as (

    select
        user_id,
        contact_id,
        jsonb_agg(payload order by person_position, contact_person_id) as contact_persons
    from persons
    group by user_id, contact_id

),

final as (

    select
        customers.user_id,
        customers.contact_id,
        customers.contact_status,
        customers.contact_name,
        customers.company_name,
        customers.email,
        customers.phone,
        customers.mobile,
        customers.is_deleted,
        customers.last_modified_time,
        chosen_phone.primary_phone,
        chosen_phone.primary_phone_source,
        coalesce(customers.persons_pending, false) as phone_pending,
        coalesce(contact_persons.contact_persons, '[]'::jsonb) as contact_persons
    from customers
    left join chosen_phone
        on customers.user_id = chosen_phone.user_id
        and customers.contact_id = chosen_phone.contact_id
    left join contact_persons
        on customers.user_id = contact_persons.user_id
        and customers.contact_id = contact_persons.contact_id

)

select * from final
