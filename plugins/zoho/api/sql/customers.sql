-- GET /customers (and GET /customers/{id}: %(id)s): one keyset page (order by id, id > cursor) of the customers the caller may read.
-- %(like)s: the search text as an escaped ILIKE pattern (text within) on name, company, email and the
-- phones; %(digits)s: for a phone-like search, its digits as a LIKE pattern on the primary phone.
select c.id, c.user_id as tenant, c.zoho_customer_id, c.customer_name as name, c.company_name as company,
       c.email, c.phone, c.mobile, c.primary_phone, c.primary_phone_source, c.phone_pending, c.status,
       c.is_deleted, c.updated_at
from analytics.customers_cache c
where (cast(%(tenants)s as text[]) is null or c.user_id = any(%(tenants)s))
    and (cast(%(tenant)s as text) is null or c.user_id = %(tenant)s)
    and (cast(%(cursor)s as uuid) is null or c.id > %(cursor)s)
    and (cast(%(id)s as uuid) is null or c.id = %(id)s)
    and (cast(%(include_deleted)s as boolean) or not c.is_deleted)
    and (cast(%(like)s as text) is null
         or c.customer_name ilike %(like)s or c.company_name ilike %(like)s or c.email ilike %(like)s
         or c.phone ilike %(like)s or c.mobile ilike %(like)s or c.primary_phone ilike %(like)s
         or (cast(%(digits)s as text) is not null and c.primary_phone like %(digits)s))
    and (cast(%(changed_since)s as timestamptz) is null or c.updated_at >= %(changed_since)s)
order by c.id
limit %(limit)s
