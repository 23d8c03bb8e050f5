"""The API budget of each Zoho organisation, shared by every run and worker: a ledger in the warehouse.

- ``zoho_sync.api_budget``: one row per organisation (``org_key`` = API host | organisation id): what
  Zoho last reported for its day (plan limit, remaining, when the day resets), the calls this product
  made in the current Zoho day, and why the last run stopped, if it stopped for the budget.
- ``zoho_sync.api_calls``: the start time of each call admitted in the last minutes, per organisation
  (the rolling-minute window every process draws from; older rows are pruned as calls are admitted).
- ``zoho_sync.sync_metadata``: ``status`` may be ``stopped`` (the budget ran out; not a failure), with
  ``stop_reason``.

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UPGRADE = """
create table zoho_sync.api_budget (
    org_key             text        primary key,
    user_id             text,
    zoho_day            integer     not null default 0,
    plan_limit          integer,
    zoho_remaining      integer,
    resets_at           timestamptz,
    spent_today         integer     not null default 0,
    day_started_at      timestamptz not null default now(),
    stop_reason         text,
    stopped_at          timestamptz,
    updated_at          timestamptz not null default now()
);
comment on table zoho_sync.api_budget is
    'Per Zoho organisation: the daily API budget as Zoho last reported it and the calls this product made in the current Zoho day.';

create table zoho_sync.api_calls (
    org_key             text        not null,
    called_at           timestamptz not null,
    purpose             text        not null check (purpose in ('sweep', 'incremental', 'other'))
);
create index api_calls_org_time on zoho_sync.api_calls (org_key, called_at);

alter table zoho_sync.sync_metadata drop constraint sync_metadata_status_check;
alter table zoho_sync.sync_metadata
    add constraint sync_metadata_status_check check (status in ('running', 'success', 'failed', 'stopped')),
    add column stop_reason text;
"""

DOWNGRADE = """
update zoho_sync.sync_metadata set status = 'failed' where status = 'stopped';
alter table zoho_sync.sync_metadata drop column stop_reason;
alter table zoho_sync.sync_metadata drop constraint sync_metadata_status_check;
alter table zoho_sync.sync_metadata
    add constraint sync_metadata_status_check check (status in ('running', 'success', 'failed'));
drop table zoho_sync.api_calls;
drop table zoho_sync.api_budget;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
