"""Legacy migration: landing tables for the old invoice table's customers and invoices, and the
integrity report of each ``zoho_legacy_backfill`` run.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = """
-- One row per (tenant, Zoho contact id) found in the legacy invoice table: the deduplicated
-- customer (latest legacy row wins field by field; blanks do not overwrite). phone_e164 is the
-- legacy phone normalised with the tenant's default country (zoho.rules.phones.normalize_phone), null
-- when absent or invalid. dbt unions these into customers_cache below Zoho's own records.
create table zoho_raw.legacy_customers (
    user_id             text        not null,
    customer_id         text        not null,
    customer_name       text,
    email               text,
    phone               text,
    phone_e164          text,
    legacy_rows         integer     not null,
    legacy_updated_at   timestamptz,
    source_table        text        not null,
    row_hash            text        not null,
    _synced_at          timestamptz not null default now(),
    primary key (user_id, customer_id)
);

-- One row per (tenant, Zoho invoice id) of the legacy table, with the customer it referenced
-- (latest legacy row wins). dbt lands the ones Zoho has not synced into invoices_cache.
create table zoho_raw.legacy_invoices (
    user_id             text        not null,
    invoice_id          text        not null,
    customer_id         text        not null,
    legacy_rows         integer     not null,
    legacy_updated_at   timestamptz,
    source_table        text        not null,
    row_hash            text        not null,
    _synced_at          timestamptz not null default now(),
    primary key (user_id, invoice_id)
);
create index legacy_invoices_customer_idx on zoho_raw.legacy_invoices (user_id, customer_id);

-- The integrity report: one row per zoho_legacy_backfill run (a cleared task rewrites its run's row).
create table zoho_sync.legacy_backfill_runs (
    run_id                  text        primary key,
    source_table            text        not null,
    status                  text        not null check (status in ('landed', 'success', 'failed')),
    started_at              timestamptz not null default now(),
    finished_at             timestamptz,
    rows_read               integer,
    rows_rejected           integer,
    customers_found         integer,
    duplicates_collapsed    integer,
    customers_created       integer,
    customers_known_to_zoho integer,
    invoices_found          integer,
    invoices_linked         integer,
    invoices_unlinked       integer,
    phones_valid            integer,
    phones_invalid          integer,
    phones_recovered        integer,
    landing                 jsonb,
    report                  jsonb,
    failed_checks           jsonb
);
"""

DOWNGRADE = """
drop table if exists zoho_sync.legacy_backfill_runs;
drop table if exists zoho_raw.legacy_invoices;
drop table if exists zoho_raw.legacy_customers;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
