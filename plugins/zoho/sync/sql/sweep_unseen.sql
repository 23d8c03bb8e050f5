-- Live rows of the tenant the sweep's listing did not return: confirmed by id before any is
-- flagged deleted. {table} and {id_column} are fixed identifiers chosen by the code.
select t.{id_column}
from zoho_raw.{table} t
where t.user_id = %(user_id)s
  and not t.is_deleted
  and t.seen_generation is distinct from %(generation)s
order by t.{id_column}
limit %(limit)s
