-- Revoke one tenant (or, with user_id null, every tenant) from a user.
delete from zoho_sync.api_grants
where username = %(username)s
    and (cast(%(user_id)s as text) is null or user_id = %(user_id)s)
