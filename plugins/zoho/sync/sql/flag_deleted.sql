-- After a COMPLETE full listing: rows of the tenant that Zoho no longer lists are flagged deleted.
-- {table} and {id_column} are fixed identifiers chosen by the code (never input).
update zoho_raw.{table} t
set is_deleted = true, deleted_at = now(), _synced_at = now()
where t.user_id = %(user_id)s
  and not t.is_deleted
  and not exists (select 1 from seen_ids s where s.entity = %(entity)s and s.zoho_id = t.{id_column})
