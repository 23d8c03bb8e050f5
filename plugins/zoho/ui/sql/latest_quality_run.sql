-- The run of the latest quality gate: the rows of a run are replaced as a set, so the highest id.
select run_id from zoho_sync.quality_results order by id desc limit 1
