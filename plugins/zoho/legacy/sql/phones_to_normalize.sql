-- The distinct (tenant, raw phone) pairs of the readable rows: normalised in Python
-- (zoho.rules.phones.normalize_phone, the tenant's default country), then copied into legacy_phones.
select distinct user_id, customer_phone
from legacy_source_rows
where reject_reason is null
  and customer_phone is not null
order by user_id, customer_phone
