-- Synthetic warehouse at the scale the page must stay fast on: one tenant with 250,000 invoices
-- over 25,000 customers (plus a small second tenant), and the reminders of a few months of runs.
-- Table shapes come from the dbt marts' contract (tests/reminders/marts.py: columns and indexes) and the
-- Alembic migrations (payment_reminders, zoho_sync.*).
insert into analytics.customers_cache (id, user_id, zoho_customer_id, customer_name, company_name, email, phone,
                                       mobile, primary_phone, primary_phone_source, phone_pending, contact_persons,
                                       status, is_deleted, customer_hash, zoho_last_modified_time, updated_at)
select md5(t.user_id || '|' || g)::uuid, t.user_id, 'C' || g,
       (array['Acme', 'Brown', 'Coastal', 'Golden', 'Urban', 'Prime', 'Riverside', 'Evergreen'])[1 + g % 8]
           || ' ' || (array['Dental', 'Roofing', 'Motors', 'Printing', 'Studios', 'Catering'])[1 + g % 6]
           || ' ' || g,
       null, 'c' || g || '@example.com', null, '+1415' || lpad((g % 10000000)::text, 7, '0'),
       case when g % 10 = 0 then null else '+1415' || lpad((g % 10000000)::text, 7, '0') end,
       case when g % 10 = 0 then null else 'contact.mobile' end,
       false, '[]'::jsonb, case when g % 17 = 0 then 'inactive' else 'active' end, g % 101 = 0, md5(g::text),
       now() - (g % 400) * interval '1 day', now()
from (values ('big-tenant', 25000), ('small-tenant', 500)) as t(user_id, n), generate_series(1, t.n) as g;

insert into analytics.invoices_cache (id, user_id, zoho_invoice_id, customer_id, zoho_customer_id, invoice_number,
                                      status, invoice_date, due_date, currency_code, total, balance, is_deleted,
                                      invoice_hash, zoho_last_modified_time, updated_at)
select md5(t.user_id || '|I' || g)::uuid, t.user_id, 'I' || g,
       case when g % 997 = 0 then null else md5(t.user_id || '|' || (1 + g % t.customers))::uuid end,
       'C' || (1 + g % t.customers), 'INV-' || lpad(g::text, 7, '0'),
       s.status, current_date - (g % 700), current_date - (g % 700) + 30, 'USD',
       100 + g % 900, case when s.status in ('paid', 'void', 'draft') then 0 else 100 + g % 900 end,
       g % 211 = 0, md5(g::text), now(), now()
from (values ('big-tenant', 250000, 25000), ('small-tenant', 5000, 500)) as t(user_id, n, customers),
     generate_series(1, t.n) as g,
     lateral (select (array['paid', 'paid', 'paid', 'sent', 'overdue', 'partially_paid', 'void', 'draft',
                            'viewed', 'unpaid'])[1 + g % 10] as status) s;

insert into analytics.payment_reminders (id, user_id, invoice_id, customer_id, phone, offset_days, scheduled_for,
                                         status, reason)
select md5(i.id::text || '|' || o.step)::uuid, i.user_id, i.id, i.customer_id, c.primary_phone, o.step,
       i.due_date + o.step,
       case when i.due_date + o.step < current_date - 2 then 'sent'
            when c.primary_phone is null then 'skipped' else 'pending' end,
       case when c.primary_phone is null and i.due_date + o.step >= current_date - 2 then 'no_phone' end
from analytics.invoices_cache i
left join analytics.customers_cache c on c.id = i.customer_id
cross join (values (-3), (0), (3), (7), (14)) as o(step)
where i.status in ('sent', 'overdue', 'partially_paid', 'viewed', 'unpaid') and i.due_date + o.step >= current_date - 120;

insert into zoho_sync.sync_metadata (user_id, entity, last_mode, last_run_id, started_at, finished_at, status,
                                     records_fetched, records_upserted, api_calls)
select t, e, 'full', 'scheduled__scale', now(), now(), 'success', 1000, 1000, 10
from unnest(array['big-tenant', 'small-tenant']) t, unnest(array['contacts', 'invoices']) e;

insert into zoho_sync.quality_results (run_id, success, expectation, table_name)
select 'run-' || r, true, 'expectation-' || e, 'analytics.invoices_cache'
from generate_series(1, 2000) r, generate_series(1, 14) e;

