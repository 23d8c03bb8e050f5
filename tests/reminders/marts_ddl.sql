-- Stand-in for the dbt marts (docs/CONTRACT.md "Tables"): exactly the contract's columns, with the keys dbt
-- enforces. Tests of reminders and of the quality gate build these two tables from this file; it
-- can be swapped for the real dbt build (`dbt build --select customers_cache invoices_cache`).
create schema if not exists analytics;

create table analytics.customers_cache (
    id                      uuid        not null primary key,
    user_id                 text        not null,
    zoho_customer_id        text        not null,
    customer_name           text,
    company_name            text,
    email                   text,
    phone                   text,
    mobile                  text,
    primary_phone           text,
    primary_phone_source    text,
    contact_persons         jsonb,
    status                  text,
    is_deleted              boolean     not null default false,
    customer_hash           text,
    zoho_last_modified_time timestamptz,
    updated_at              timestamptz not null default now(),
    constraint customers_cache_natural_key unique (user_id, zoho_customer_id)
);
create index customers_cache_phone_idx on analytics.customers_cache (user_id, primary_phone);

create table analytics.invoices_cache (
    id                      uuid        not null primary key,
    user_id                 text        not null,
    zoho_invoice_id         text        not null,
    customer_id             uuid        constraint invoices_cache_customer_id_fkey
                                        references analytics.customers_cache (id),
    zoho_customer_id        text,
    invoice_number          text,
    status                  text,
    invoice_date            date,
    due_date                date,
    currency_code           text,
    total                   numeric,
    balance                 numeric,
    is_deleted              boolean     not null default false,
    invoice_hash            text,
    zoho_last_modified_time timestamptz,
    updated_at              timestamptz not null default now(),
    constraint invoices_cache_natural_key unique (user_id, zoho_invoice_id)
);
create index invoices_cache_customer_idx on analytics.invoices_cache (customer_id);
create index invoices_cache_due_idx on analytics.invoices_cache (user_id, status, due_date);
