-- The tenants granted to one Airflow user (access read or send).
select user_id, access
from zoho_sync.api_grants
where username = %(username)s
