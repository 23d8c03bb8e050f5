"""The reminder sender's write path, the reminder event history, the ``zoho_sender`` role, API grants.

- ``analytics.payment_reminders`` gains the lease (``lease_id``, ``claimed_by``, ``claimed_at``,
  ``lease_until``) and the send record (``attempts``, ``next_attempt_at``, ``sent_at``,
  ``provider``, ``provider_message_id``, ``last_error``); a claimed row stays ``pending``.
- ``analytics.payment_reminder_events``: one row per state change (created, withheld, ready,
  updated, claimed, sent, failed, cancelled), written by a trigger on ``payment_reminders`` whoever
  writes the row (the reminder run, the sender's functions), append-only (a trigger refuses update
  and delete; only the owner may truncate). Existing reminders get one backfilled event each.
- The sender's functions (``security definer``): ``analytics.claim_reminders``,
  ``analytics.mark_reminder_sent``, ``analytics.mark_reminder_failed``; the NOLOGIN role
  ``zoho_sender`` may execute those and nothing else.
- ``zoho_sync.api_grants``: which Airflow user may read (or send for) which tenant over the API.

The statements are in ``migrations/sql/0007_reminder_sender.sql``.

Revision ID: 0007
Revises: 0006
"""
from pathlib import Path

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UPGRADE = (Path(__file__).resolve().parent.parent / "sql" / "0007_reminder_sender.sql").read_text()

DOWNGRADE = """
drop table if exists zoho_sync.api_grants;
do $$
begin
    if exists (select 1 from pg_roles where rolname = 'zoho_sender') then
        revoke all on schema analytics from zoho_sender;
        execute format('revoke all on database %I from zoho_sender', current_database());
        if exists (select 1 from pg_roles where rolname = 'zoho_sender'
                   and shobj_description(oid, 'pg_authid') like 'created by the zoho sync%')
           and not exists (select 1 from pg_auth_members m join pg_roles g on g.oid = m.roleid
                           where g.rolname = 'zoho_sender') then
            begin
                drop role zoho_sender;
            exception when dependent_objects_still_exist then
                raise notice 'role zoho_sender kept: another database of this cluster still grants it privileges';
            end;
        end if;
    end if;
end
$$;
drop function if exists analytics.mark_reminder_failed(uuid, uuid, text, boolean, text[], integer, integer);
drop function if exists analytics.mark_reminder_sent(uuid, uuid, text, text, text[]);
drop function if exists analytics.claim_reminders(text, integer, integer, text[], date);
drop function if exists analytics.reminder_mark_answer(analytics.payment_reminders, text, text);
drop function if exists analytics.reminder_mark_refusal(analytics.payment_reminders, uuid);
drop type if exists analytics.reminder_mark_result;
drop trigger if exists payment_reminder_events_write on analytics.payment_reminders;
drop function if exists analytics.payment_reminder_event();
drop table if exists analytics.payment_reminder_events;
drop function if exists analytics.payment_reminder_events_append_only();
drop index if exists analytics.payment_reminders_due_idx;
alter table analytics.payment_reminders
    drop column if exists lease_id, drop column if exists claimed_by, drop column if exists claimed_at,
    drop column if exists lease_until, drop column if exists attempts, drop column if exists next_attempt_at,
    drop column if exists sent_at, drop column if exists provider, drop column if exists provider_message_id,
    drop column if exists last_error;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
