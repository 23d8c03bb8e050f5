"""The budget planner: per tenant, what the API budget allows and when the nightly sweep completes.

- ``zoho_sync.budget_planner`` (view): one row per tenant that has a ``zoho_sync.sweeps`` or a
  ``zoho_sync.api_budget`` row. It reads the organisation's budget as the last run applied it
  (``effective_budget``, ``sweep_share``), the calls spent in the current Zoho day, the sweep's
  progress per entity and the contact persons still to read, and forecasts the calls and nights the
  sweep still needs with a verdict (``complete``, ``on_track``, ``slow``, ``never``, ``unknown``) and
  advice naming the numbers to change. Read by ``make verify`` and the Customer sync page.
- ``zoho_raw.contacts_persons_pending``: a partial index, so the planner counts the contacts whose
  persons are still to read without reading the table.

How the figures are computed (an entity without a ``sweeps`` row, or of generation 0, has never
been swept: its first listing is still to come):

- expected pages of an entity: ``pages_total`` (Zoho's count for the listing in progress), else
  ``last_pages`` (the last complete sweep's), else unknown;
- pages left: for an entity still listing, expected - ``pages_done`` (at least 1); 0 once its
  listing is done;
- ``calls_left``: the pages left + ``persons_pending`` (0 once the sweep is complete);
- ``calls_needed_for_sweep``: per entity ``last_calls`` when a complete sweep exists, else
  ``pages_total``; + ``persons_pending``;
- ``daily_sweep_calls``: ``sweep_share`` - the nightly's fixed calls (``fixed_calls``, summed);
- ``days_to_complete``: ceil(``calls_left`` / ``daily_sweep_calls``).

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SLOW_AFTER_DAYS = 7

UPGRADE = """
create index contacts_persons_pending on zoho_raw.contacts (user_id) where persons_pending and not is_deleted;

create view zoho_sync.budget_planner as
with tenants as (
    select user_id from zoho_sync.sweeps
    union
    select user_id from zoho_sync.api_budget where user_id is not null
),
budget as (
    -- the organisation the tenant synced last (a tenant has one; an old org_key may linger)
    select distinct on (user_id)
        user_id, org_key, plan_limit, effective_budget, sweep_share, resets_at,
        case when resets_at <= now() then 0 else spent_today end as spent_today
    from zoho_sync.api_budget
    where user_id is not null
    order by user_id, updated_at desc, org_key
),
persons as (
    select user_id, count(*)::integer as persons_pending
    from zoho_raw.contacts
    where persons_pending and not is_deleted
    group by user_id
),
entity as (
    select
        t.user_id,
        coalesce(s.generation, 0) as generation,
        case when s.user_id is null or (s.generation = 0 and s.phase = 'complete') then 'listing'
             else s.phase end as phase,
        coalesce(s.pages_done, 0) as pages_done,
        coalesce(s.pages_total, s.last_pages) as expected_pages,
        coalesce(s.calls_spent, 0) as calls_spent,
        s.fixed_calls,
        case when s.last_completed_at is not null then s.last_calls else s.pages_total end as sweep_calls,
        s.last_completed_at
    from tenants t
    cross join (values ('contacts'), ('invoices')) as e (entity)
    left join zoho_sync.sweeps s on s.user_id = t.user_id and s.entity = e.entity
),
entity_left as (
    select
        e.*,
        case when e.phase <> 'listing' then 0
             when e.expected_pages is null then null
             else greatest(e.expected_pages - e.pages_done, 1) end as pages_left
    from entity e
),
sweep as (
    select
        user_id,
        max(generation) as generation,
        case when bool_or(phase = 'listing') then 'listing'
             when bool_or(phase = 'confirming') then 'confirming'
             else 'complete' end as phase,
        sum(pages_done)::integer as pages_done,
        case when bool_and(pages_left is not null) then sum(pages_done + pages_left)::integer end as pages_expected,
        case when bool_and(pages_left is not null) then sum(pages_left)::integer end as pages_left,
        sum(calls_spent)::integer as calls_spent,
        sum(fixed_calls)::integer as fixed_calls,
        case when bool_and(sweep_calls is not null) then sum(sweep_calls)::integer end as sweep_calls,
        case when bool_and(last_completed_at is not null) then min(last_completed_at) end as last_completed_at
    from entity_left
    group by user_id
),
plan as (
    select
        s.user_id,
        b.org_key,
        b.plan_limit,
        b.effective_budget,
        b.effective_budget - b.sweep_share as budget_reserve,
        b.sweep_share,
        b.spent_today,
        greatest(b.sweep_share - b.spent_today, 0) as left_today,
        b.resets_at,
        s.generation as sweep_generation,
        s.phase as sweep_phase,
        s.pages_done,
        s.pages_expected,
        case when s.phase = 'complete' then 100.0
             else round(100.0 * s.pages_done / nullif(s.pages_expected, 0), 1) end as progress_pct,
        coalesce(p.persons_pending, 0) as persons_pending,
        s.fixed_calls,
        b.sweep_share - coalesce(s.fixed_calls, 0) as daily_sweep_calls,
        s.calls_spent,
        s.sweep_calls + coalesce(p.persons_pending, 0) as calls_needed_for_sweep,
        case when s.phase = 'complete' then 0 else s.pages_left + coalesce(p.persons_pending, 0) end as calls_left,
        s.last_completed_at
    from sweep s
    left join budget b on b.user_id = s.user_id
    left join persons p on p.user_id = s.user_id
),
forecast as (
    select
        p.*,
        case when p.calls_left = 0 then 0
             when p.calls_left is not null and p.daily_sweep_calls > 0 then greatest(ceil(p.calls_left::numeric / p.daily_sweep_calls), 1)::integer
        end as days_to_complete,
        -- the calls the advice plans for: what is left of this sweep, else (complete) the next one
        case when p.sweep_phase = 'complete' then p.calls_needed_for_sweep else p.calls_left end as work
    from plan p
),
judged as (
    select
        f.*,
        case when f.daily_sweep_calls <= 0 then 'never'
             when f.sweep_phase = 'complete' then 'complete'
             when f.days_to_complete is null then 'unknown'
             when f.days_to_complete > {slow} then 'slow'
             else 'on_track' end as verdict,
        -- the sweep share that completes the work within {slow} nights, and how far the share is from it
        coalesce(f.fixed_calls, 0) + coalesce(ceil(f.work::numeric / {slow})::integer, 1) as share_needed
    from forecast f
),
advised as (
    select
        j.*,
        j.share_needed - j.sweep_share as share_gap
    from judged j
)
select
    a.user_id,
    a.org_key,
    a.plan_limit,
    a.effective_budget,
    a.budget_reserve,
    a.sweep_share,
    a.spent_today,
    a.left_today,
    a.resets_at,
    a.sweep_generation,
    a.sweep_phase,
    a.pages_done,
    a.pages_expected,
    a.progress_pct::numeric(5, 1) as progress_pct,
    a.persons_pending,
    a.fixed_calls,
    greatest(a.daily_sweep_calls, 0) as daily_sweep_calls,
    a.calls_spent,
    a.calls_needed_for_sweep,
    a.calls_left,
    a.days_to_complete,
    a.verdict,
    case a.verdict
        when 'slow' then format(
            'The sweep needs ~%s more calls; at %s a day (sweep share %s less %s fixed nightly calls) that is '
            '%s days. To complete within {slow} days it needs ~%s a day, a sweep share of %s: %s.',
            a.calls_left, a.daily_sweep_calls, a.sweep_share, coalesce(a.fixed_calls, 0), a.days_to_complete,
            a.share_needed - coalesce(a.fixed_calls, 0), a.share_needed, o.options)
        when 'never' then format(
            'The nightly can spend nothing on the sweep: its share of %s calls a day (daily_budget %s less '
            'budget_reserve %s) %s, so %s will not progress%s. %s: %s.',
            a.sweep_share, a.effective_budget, a.budget_reserve,
            case when coalesce(a.fixed_calls, 0) > 0
                 then format('goes to %s fixed nightly calls (the open-invoice check)', a.fixed_calls)
                 else 'leaves nothing' end,
            case when a.sweep_phase = 'complete' then 'the next sweep' else 'the sweep' end,
            case when a.work is not null then format(' (it needs ~%s calls)', a.work) else '' end,
            case when a.work is not null
                 then format('A sweep share of %s completes it within {slow} days', a.share_needed)
                 else format('It needs a sweep share above %s', a.share_needed - 1) end,
            o.options)
    end as advice,
    a.last_completed_at
from advised a
cross join lateral (
    select concat_ws('; or ',
        case when a.effective_budget < a.plan_limit then
            format('raise daily_budget from %s to %s%s', a.effective_budget,
                   least(a.effective_budget + a.share_gap, a.plan_limit),
                   case when a.effective_budget + a.share_gap > a.plan_limit
                        then ' (the plan''s limit; not enough alone)' else '' end) end,
        case when a.budget_reserve > 0 then
            format('lower budget_reserve from %s to %s%s', a.budget_reserve,
                   greatest(a.budget_reserve - a.share_gap, 0),
                   case when a.budget_reserve < a.share_gap then ' (not enough alone)' else '' end) end,
        format('upgrade the Zoho plan%s',
               case when a.plan_limit is not null then format(' (now %s calls a day)', a.plan_limit) else '' end)
    ) as options
) o;

comment on view zoho_sync.budget_planner is
    'Per tenant: the daily API budget as the last run applied it, the calls spent and left today, the nightly sweep''s progress, and the forecast of the calls and nights it still needs, with a verdict and advice.';
comment on column zoho_sync.budget_planner.user_id is 'The tenant.';
comment on column zoho_sync.budget_planner.org_key is 'The Zoho organisation the tenant last synced (API host | organisation id).';
comment on column zoho_sync.budget_planner.plan_limit is 'The plan''s calls per day, as Zoho last reported it.';
comment on column zoho_sync.budget_planner.effective_budget is 'The daily budget the last run applied: the connection''s daily_budget capped to the plan limit.';
comment on column zoho_sync.budget_planner.budget_reserve is 'The calls of the budget kept for the day''s incremental runs (effective_budget - sweep_share).';
comment on column zoho_sync.budget_planner.sweep_share is 'What a nightly sweep may spend per Zoho day (effective_budget - budget_reserve).';
comment on column zoho_sync.budget_planner.spent_today is 'Calls this product made in the current Zoho day (0 once Zoho''s reset moment has passed).';
comment on column zoho_sync.budget_planner.left_today is 'What is left of the sweep share today: sweep_share - spent_today, not below 0.';
comment on column zoho_sync.budget_planner.resets_at is 'When Zoho''s day resets.';
comment on column zoho_sync.budget_planner.sweep_generation is 'The sweep in progress, or the last one (the higher of the two entities; 0 = never swept).';
comment on column zoho_sync.budget_planner.sweep_phase is 'listing if an entity is still listing (or was never swept), else confirming if one is confirming deletions by id, else complete.';
comment on column zoho_sync.budget_planner.pages_done is 'Listing pages the current sweep has read (both entities).';
comment on column zoho_sync.budget_planner.pages_expected is 'Listing pages the current sweep will read: per entity pages_total, else the last complete sweep''s; null when unknown.';
comment on column zoho_sync.budget_planner.progress_pct is 'pages_done / pages_expected in percent; 100 when the sweep is complete; null when unknown.';
comment on column zoho_sync.budget_planner.persons_pending is 'Live contacts whose contact persons must still be read (one call each).';
comment on column zoho_sync.budget_planner.fixed_calls is 'Calls the last nightly spent on work it repeats every night (the open-invoice check) before continuing the sweep; null when not recorded.';
comment on column zoho_sync.budget_planner.daily_sweep_calls is 'Calls a night can spend on the sweep itself: sweep_share - fixed_calls, not below 0.';
comment on column zoho_sync.budget_planner.calls_spent is 'Calls the current sweep has spent so far.';
comment on column zoho_sync.budget_planner.calls_needed_for_sweep is 'Calls a complete sweep needs: per entity the last complete sweep''s calls, else the listing''s pages_total, plus persons_pending; null when unknown.';
comment on column zoho_sync.budget_planner.calls_left is 'Calls the current sweep still needs: the pages left of the entities still listing plus persons_pending; 0 when complete; null when unknown.';
comment on column zoho_sync.budget_planner.days_to_complete is 'Nightly runs until the sweep completes: ceil(calls_left / daily_sweep_calls); null when unknown or never.';
comment on column zoho_sync.budget_planner.verdict is 'complete, on_track, slow (more than {slow} days), never (the nightly can spend nothing on the sweep) or unknown (no page count yet).';
comment on column zoho_sync.budget_planner.advice is 'With slow or never: what to change (daily_budget, budget_reserve, the plan), with the numbers.';
comment on column zoho_sync.budget_planner.last_completed_at is 'When the older of the two entities'' last complete sweeps finished; null until both completed one.';
""".replace("{slow}", str(SLOW_AFTER_DAYS))

DOWNGRADE = """
drop view zoho_sync.budget_planner;
drop index zoho_raw.contacts_persons_pending;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
