-- The expectations of one quality gate run, failed first.
select expectation, table_name, column_name, success, unexpected_count, checked_at
from zoho_sync.quality_results where run_id = %s order by success, id
