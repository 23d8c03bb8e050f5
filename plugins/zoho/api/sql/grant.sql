-- Grant (or change) one user's access to one tenant.
insert into zoho_sync.api_grants (username, user_id, access)
values (%(username)s, %(user_id)s, %(access)s)
on conflict (username, user_id) do update
    set access = excluded.access, granted_at = now(), granted_by = session_user
