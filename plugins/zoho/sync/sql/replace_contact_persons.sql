-- A contact's persons are replaced as a set: rows of the fetched contacts that Zoho no longer
-- lists are removed, the others upserted (rewritten only when changed).
with fetched as (
    select distinct contact_id from stage_contact_persons
    union
    select unnest(%(contact_ids)s::text[])
), removed as (
    delete from zoho_raw.contact_persons p
    using fetched f
    where p.user_id = %(user_id)s and p.contact_id = f.contact_id
      and not exists (select 1 from stage_contact_persons s
                      where s.contact_person_id = p.contact_person_id and s.contact_id = p.contact_id)
    returning p.contact_id
), marked as (
    update zoho_raw.contacts c set persons_synced_at = now(), persons_pending = false
    from fetched f
    where c.user_id = %(user_id)s and c.contact_id = f.contact_id
    returning c.contact_id
)
insert into zoho_raw.contact_persons as p
    (user_id, contact_id, contact_person_id, position, is_primary_contact, mobile_e164, phone_e164,
     payload, payload_hash, _synced_at)
select distinct on (contact_person_id)
    %(user_id)s, contact_id, contact_person_id, position, is_primary_contact, mobile_e164, phone_e164,
    payload, payload_hash, now()
from stage_contact_persons
order by contact_person_id
on conflict (user_id, contact_person_id) do update set
    contact_id         = excluded.contact_id,
    position           = excluded.position,
    is_primary_contact = excluded.is_primary_contact,
    mobile_e164        = excluded.mobile_e164,
    phone_e164         = excluded.phone_e164,
    payload            = excluded.payload,
    payload_hash       = excluded.payload_hash,
    _synced_at         = now()
where p.payload_hash is distinct from excluded.payload_hash
   or p.position is distinct from excluded.position
   or p.contact_id is distinct from excluded.contact_id
