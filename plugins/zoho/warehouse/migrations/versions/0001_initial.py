"""Raw landing tables, sync state, quarantine, quality results and payment reminders.

Revision ID: 0001
Revises:
"""
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE = """
create schema if not exists zoho_raw;
create schema if not exists zoho_sync;
create schema if not exists analytics;

-- One current row per (tenant, Zoho contact). payload = the record as Zoho sent it.
-- mobile_e164 / phone_e164: the contact-level numbers normalised at load time with the tenant's
-- default country (null when absent or invalid); dbt chooses the primary phone from them.
create table zoho_raw.contacts (
    user_id             text        not null,
    contact_id          text        not null,
    contact_type        text,
    last_modified_time  timestamptz,
    mobile_e164         text,
    phone_e164          text,
    payload             jsonb       not null,
    payload_hash        text        not null,
    is_deleted          boolean     not null default false,
    deleted_at          timestamptz,
    persons_synced_at   timestamptz,
    _synced_at          timestamptz not null default now(),
    primary key (user_id, contact_id)
);
create index contacts_modified_idx on zoho_raw.contacts (user_id, last_modified_time);

-- Contact persons of a contact, refreshed as a set per contact (position = Zoho's order).
create table zoho_raw.contact_persons (
    user_id             text        not null,
    contact_id          text        not null,
    contact_person_id   text        not null,
    position            integer     not null,
    is_primary_contact  boolean     not null default false,
    mobile_e164         text,
    phone_e164          text,
    payload             jsonb       not null,
    payload_hash        text        not null,
    _synced_at          timestamptz not null default now(),
    primary key (user_id, contact_person_id)
);
create index contact_persons_contact_idx on zoho_raw.contact_persons (user_id, contact_id);

create table zoho_raw.invoices (
    user_id             text        not null,
    invoice_id          text        not null,
    customer_id         text,
    last_modified_time  timestamptz,
    payload             jsonb       not null,
    payload_hash        text        not null,
    is_deleted          boolean     not null default false,
    deleted_at          timestamptz,
    _synced_at          timestamptz not null default now(),
    primary key (user_id, invoice_id)
);
create index invoices_modified_idx on zoho_raw.invoices (user_id, last_modified_time);
create index invoices_customer_idx on zoho_raw.invoices (user_id, customer_id);

-- Customers an invoice referenced that Zoho says do not exist (Missing customer rule).
create table zoho_raw.missing_contacts (
    user_id             text        not null,
    contact_id          text        not null,
    checked_at          timestamptz not null default now(),
    primary key (user_id, contact_id)
);

create table zoho_sync.sync_metadata (
    user_id             text        not null,
    entity              text        not null check (entity in ('contacts', 'invoices')),
    watermark           timestamptz,
    last_mode           text        check (last_mode in ('incremental', 'full')),
    last_run_id         text,
    started_at          timestamptz,
    finished_at         timestamptz,
    status              text        check (status in ('running', 'success', 'failed')),
    records_fetched     integer     not null default 0,
    records_upserted    integer     not null default 0,
    records_deleted     integer     not null default 0,
    records_rejected    integer     not null default 0,
    api_calls           integer     not null default 0,
    person_calls        integer     not null default 0,
    missing_customers   integer     not null default 0,
    last_error          text,
    last_full_sync_at   timestamptz,
    primary key (user_id, entity)
);

-- Quarantine: records Zoho returned that could not be read. Unique per payload so a retry
-- does not duplicate them.
create table zoho_sync.rejected_records (
    id                  bigserial   primary key,
    user_id             text        not null,
    entity              text        not null,
    zoho_id             text,
    reason              text        not null,
    payload             jsonb       not null,
    payload_hash        text        not null,
    run_id              text,
    rejected_at         timestamptz not null default now(),
    unique (user_id, entity, payload_hash, reason)
);

create table zoho_sync.quality_results (
    id                  bigserial   primary key,
    run_id              text        not null,
    checked_at          timestamptz not null default now(),
    success             boolean     not null,
    expectation         text        not null,
    table_name          text        not null,
    column_name         text,
    unexpected_count    bigint,
    details             jsonb
);
create index quality_results_run_idx on zoho_sync.quality_results (run_id);

-- Reminders are state (the sender marks them sent), so they are owned here, not rebuilt by dbt.
create table analytics.payment_reminders (
    id                  uuid        primary key,
    user_id             text        not null,
    invoice_id          uuid        not null,
    customer_id         uuid,
    phone               text,
    offset_days         integer     not null,
    scheduled_for       date        not null,
    status              text        not null
        check (status in ('pending', 'skipped', 'cancelled', 'sent', 'failed')),
    reason              text,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    unique (invoice_id, offset_days)
);
create index payment_reminders_queue_idx on analytics.payment_reminders (user_id, status, scheduled_for);
"""

DOWNGRADE = """
drop table if exists analytics.payment_reminders;
drop table if exists zoho_sync.quality_results;
drop table if exists zoho_sync.rejected_records;
drop table if exists zoho_sync.sync_metadata;
drop table if exists zoho_raw.missing_contacts;
drop table if exists zoho_raw.invoices;
drop table if exists zoho_raw.contact_persons;
drop table if exists zoho_raw.contacts;
drop schema if exists zoho_raw;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
