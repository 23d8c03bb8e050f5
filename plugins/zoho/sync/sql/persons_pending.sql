-- Whose persons the phone rule still needs (true), or no longer needs (false).
update zoho_raw.contacts
set persons_pending = %(pending)s
where user_id = %(user_id)s and contact_id = any(%(ids)s::text[]) and persons_pending <> %(pending)s
