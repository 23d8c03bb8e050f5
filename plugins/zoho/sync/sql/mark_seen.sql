-- Rows the sweep (or a run during it) saw alive. Never touches _synced_at: not a data change.
update zoho_raw.{table} t
set seen_generation = %(generation)s
where t.user_id = %(user_id)s
  and t.{id_column} = any(%(ids)s::text[])
  and t.seen_generation is distinct from %(generation)s
