insert into zoho_sync.sync_metadata as m (user_id, entity, last_mode, last_run_id, started_at, finished_at, status, last_error)
values (%(user_id)s, %(entity)s, %(mode)s, %(run_id)s, now(), null, 'running', null)
on conflict (user_id, entity) do update set
    last_mode = excluded.last_mode, last_run_id = excluded.last_run_id, started_at = now(),
    finished_at = null, status = 'running', last_error = null, stop_reason = null
