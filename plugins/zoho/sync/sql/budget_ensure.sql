-- The organisation's ledger row (created on its first run; a later tenant label wins).
insert into zoho_sync.api_budget (org_key, user_id)
values (%(org_key)s, %(user_id)s)
on conflict (org_key) do update set user_id = excluded.user_id
