-- One current row per (tenant, contact); rewritten only when the payload changed (or it was
-- flagged deleted and is listed again). Returns the ids written and whether persons are stale.
insert into zoho_raw.contacts as c
    (user_id, contact_id, contact_type, last_modified_time, mobile_e164, phone_e164,
     payload, payload_hash, is_deleted, deleted_at, _synced_at)
select distinct on (contact_id)
    %(user_id)s, contact_id, contact_type, last_modified_time, mobile_e164, phone_e164,
    payload, payload_hash, false, null, now()
from stage_contacts
order by contact_id, last_modified_time desc nulls last
on conflict (user_id, contact_id) do update set
    contact_type       = excluded.contact_type,
    last_modified_time = excluded.last_modified_time,
    mobile_e164        = excluded.mobile_e164,
    phone_e164         = excluded.phone_e164,
    payload            = excluded.payload,
    payload_hash       = excluded.payload_hash,
    is_deleted         = false,
    deleted_at         = null,
    _synced_at         = now()
where c.payload_hash is distinct from excluded.payload_hash or c.is_deleted
returning contact_id
