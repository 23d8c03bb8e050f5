"""Resumable sweeps: the nightly pass over an organisation's listings spans as many runs as its API
budget needs, and flags a deletion only after a complete sweep confirmed it by id.

- ``zoho_sync.sweeps``: one row per (tenant, entity): the sweep generation in progress (or the last
  one), its phase (``listing`` → ``confirming`` → ``complete``), the checkpoint (``next_page``,
  committed with the batch it follows), its progress and cost so far, and what the last complete
  sweep cost (the planner's estimate of the next one).
- ``zoho_raw.contacts.seen_generation`` / ``zoho_raw.invoices.seen_generation``: the last sweep
  generation (or incremental run during it) that saw the record alive. What a complete sweep did not
  see is confirmed by id before it is flagged deleted.
- ``zoho_sync.api_budget.effective_budget`` / ``sweep_share``: the organisation's daily budget as the
  last run applied it (the connection's ``daily_budget`` capped to the plan) and the part of it a
  sweep may spend (budget - reserve), for the budget planner.
- ``zoho_raw.contacts.persons_pending``: the contact's phone needs its contact persons and they have
  not been read since it changed (its reminders are held back as ``phone_pending``).

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UPGRADE = """
create table zoho_sync.sweeps (
    user_id             text        not null,
    entity              text        not null check (entity in ('contacts', 'invoices')),
    generation          integer     not null default 0 check (generation >= 0),
    phase               text        not null default 'complete'
                                    check (phase in ('listing', 'confirming', 'complete')),
    next_page           integer     not null default 1 check (next_page >= 1),
    pages_done          integer     not null default 0,
    pages_total         integer,
    records_seen        integer     not null default 0,
    confirmed_live      integer     not null default 0,
    flagged_deleted     integer     not null default 0,
    calls_spent         integer     not null default 0,
    runs                integer     not null default 0,
    fixed_calls         integer,
    max_modified        timestamptz,
    started_at          timestamptz,
    zoho_started_at     timestamptz,
    completed_at        timestamptz,
    last_run_id         text,
    last_pages          integer,
    last_records        integer,
    last_calls          integer,
    last_runs           integer,
    last_completed_at   timestamptz,
    updated_at          timestamptz not null default now(),
    primary key (user_id, entity)
);
comment on table zoho_sync.sweeps is
    'Per tenant and entity: the nightly sweep in progress (generation, phase, checkpoint page, progress, calls) and what the last complete sweep cost.';

alter table zoho_sync.api_budget
    add column effective_budget integer,
    add column sweep_share integer;

alter table zoho_raw.contacts
    add column seen_generation integer,
    add column persons_pending boolean not null default false;
alter table zoho_raw.invoices add column seen_generation integer;
comment on column zoho_raw.contacts.seen_generation is
    'The last sweep generation that saw the contact alive (listing, incremental run during it, or a by-id confirmation).';
comment on column zoho_raw.contacts.persons_pending is
    'The phone rule needs this contact''s persons and they were not read since it changed.';
comment on column zoho_raw.invoices.seen_generation is
    'The last sweep generation that saw the invoice alive (listing, incremental run during it, or a by-id confirmation).';
"""

DOWNGRADE = """
alter table zoho_raw.invoices drop column seen_generation;
alter table zoho_raw.contacts drop column persons_pending, drop column seen_generation;
alter table zoho_sync.api_budget drop column sweep_share, drop column effective_budget;
drop table zoho_sync.sweeps;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
