-- Live invoices of the tenant whose customer Zoho says does not exist.
select count(*)
from zoho_raw.invoices i
join zoho_raw.missing_contacts m on m.user_id = i.user_id and m.contact_id = i.customer_id
where i.user_id = %(user_id)s and not i.is_deleted
