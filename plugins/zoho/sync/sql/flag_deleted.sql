-- Rows Zoho answered "does not exist" for by id (code 1002 / 404), after a complete listing did not
-- return them. {table} and {id_column} are fixed identifiers chosen by the code (never input).
update zoho_raw.{table} t
set is_deleted = true, deleted_at = now(), _synced_at = now()
where t.user_id = %(user_id)s
  and not t.is_deleted
  and t.{id_column} = any(%(ids)s::text[])
