-- GET /customers/{id}: one customer, if the caller may read its tenant.
select c.id, c.user_id as tenant, c.zoho_customer_id, c.customer_name as name, c.company_name as company,
       c.email, c.phone, c.mobile, c.primary_phone, c.primary_phone_source, c.phone_pending, c.status,
       c.is_deleted, c.updated_at
from analytics.customers_cache c
where c.id = %(id)s
    and (cast(%(tenants)s as text[]) is null or c.user_id = any(%(tenants)s))
