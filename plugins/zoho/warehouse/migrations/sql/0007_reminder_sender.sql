-- 0007: the reminder sender's write path (leases, marks, back-off), the reminder event history,
-- the zoho_sender role and the API's tenant grants. Applied once by migration 0007; never edited
-- after release (a change is a new migration).

-- ---------------------------------------------------------------- the reminder row: lease and send
alter table analytics.payment_reminders
    add column lease_id            uuid,         -- the claim (batch) that holds or last held the row
    add column claimed_by          text,         -- who made that claim (sender name / API user)
    add column claimed_at          timestamptz,
    add column lease_until         timestamptz,  -- null: not held (never claimed, or released by a failure)
    add column attempts            integer not null default 0,  -- failed send attempts
    add column next_attempt_at     timestamptz,  -- after a retryable failure: not claimable before
    add column sent_at             timestamptz,
    add column provider            text,
    add column provider_message_id text,
    add column last_error          text;

-- the claim's scan: due pending rows in scheduled order
create index payment_reminders_due_idx on analytics.payment_reminders (scheduled_for, id)
    where status = 'pending';

-- ---------------------------------------------------------------- the event history (append-only)
create table analytics.payment_reminder_events (
    id              bigserial   primary key,
    reminder_id     uuid        not null,   -- payment_reminders.id (no foreign key: the trigger is the writer,
                                            -- and the key check would cost every change a lookup)
    user_id         text        not null,
    invoice_id      uuid        not null,
    event           text        not null check (event in
        ('created', 'withheld', 'ready', 'updated', 'claimed', 'sent', 'failed', 'cancelled')),
    status          text        not null,   -- the reminder's status after the event
    reason          text,                   -- withheld / cancelled / failed: why
    actor           text        not null,   -- the sender (claimed, sent, failed) or the database role
    detail          jsonb       not null default '{}'::jsonb,
    occurred_at     timestamptz not null default clock_timestamp()
);
create index payment_reminder_events_reminder_idx on analytics.payment_reminder_events (reminder_id, id);
create index payment_reminder_events_tenant_idx on analytics.payment_reminder_events (user_id, occurred_at);

comment on table analytics.payment_reminder_events is
    'One row per state change of a payment reminder (written by a trigger on payment_reminders; append-only).';

create function analytics.payment_reminder_event() returns trigger
language plpgsql as $$
declare
    kind    text;
    detail  jsonb := '{}'::jsonb;
    actor   text := coalesce(nullif(current_setting('zoho.actor', true), ''), session_user::text);
begin
    if tg_op = 'INSERT' then
        kind := case new.status when 'pending' then 'created' when 'skipped' then 'withheld'
                                when 'cancelled' then 'cancelled' else null end;
        detail := jsonb_build_object('scheduled_for', new.scheduled_for, 'offset_days', new.offset_days,
                                     'phone', new.phone);
    elsif new.status is distinct from old.status or new.reason is distinct from old.reason then
        kind := case
            when new.status = 'pending' then 'ready'
            when new.status = 'skipped' then 'withheld'
            else new.status   -- cancelled, sent, failed
        end;
        if new.status = 'sent' then
            actor := coalesce(new.claimed_by, actor);
            detail := jsonb_build_object('provider', new.provider, 'provider_message_id', new.provider_message_id,
                                         'lease_id', new.lease_id, 'attempts', new.attempts);
        elsif new.status = 'failed' then
            actor := coalesce(new.claimed_by, actor);
            detail := jsonb_build_object('error', new.last_error, 'retryable', false, 'lease_id', new.lease_id,
                                         'attempts', new.attempts);
        elsif new.status = 'pending' then
            detail := jsonb_build_object('phone', new.phone);
        elsif new.status = 'cancelled' and old.lease_until > now() then
            detail := jsonb_build_object('claimed_by', old.claimed_by, 'lease_id', old.lease_id);
        end if;
    elsif new.lease_id is distinct from old.lease_id and new.lease_id is not null then
        kind := 'claimed';
        actor := coalesce(new.claimed_by, actor);
        detail := jsonb_build_object('lease_id', new.lease_id, 'lease_until', new.lease_until);
    elsif new.attempts > old.attempts then  -- a retryable failure: back in the pool after a back-off
        kind := 'failed';
        actor := coalesce(new.claimed_by, actor);
        detail := jsonb_build_object('error', new.last_error, 'retryable', true, 'lease_id', new.lease_id,
                                     'attempts', new.attempts, 'next_attempt_at', new.next_attempt_at);
    elsif (new.phone, new.scheduled_for, new.customer_id)
          is distinct from (old.phone, old.scheduled_for, old.customer_id) then
        kind := 'updated';
        if new.phone is distinct from old.phone then
            detail := detail || jsonb_build_object('phone', new.phone);
        end if;
        if new.scheduled_for is distinct from old.scheduled_for then
            detail := detail || jsonb_build_object('scheduled_for', new.scheduled_for);
        end if;
        if new.customer_id is distinct from old.customer_id then
            detail := detail || jsonb_build_object('customer_id', new.customer_id);
        end if;
    end if;
    if kind is not null then
        insert into analytics.payment_reminder_events
            (reminder_id, user_id, invoice_id, event, status, reason, actor, detail)
        values (new.id, new.user_id, new.invoice_id, kind, new.status,
                case when kind = 'failed' then coalesce(new.reason, 'send_failed_retryable') else new.reason end,
                actor, detail);
    end if;
    return null;
end
$$;

create trigger payment_reminder_events_write
    after insert or update on analytics.payment_reminders
    for each row execute function analytics.payment_reminder_event();

create function analytics.payment_reminder_events_append_only() returns trigger
language plpgsql as $$
begin
    raise exception 'analytics.payment_reminder_events is append-only (% refused)', tg_op
        using errcode = 'insufficient_privilege';
end
$$;

create trigger payment_reminder_events_append_only
    before update or delete on analytics.payment_reminder_events
    for each statement execute function analytics.payment_reminder_events_append_only();
-- truncate (which statement triggers cannot refuse for the owner) is the owner's alone
do $$
begin
    if exists (select 1 from pg_roles where rolname = 'zoho_pipeline') then
        revoke truncate on analytics.payment_reminder_events from zoho_pipeline;
    end if;
end
$$;

-- the reminders that existed before the history: one 'created'/'withheld'/... event each, as of now
insert into analytics.payment_reminder_events (reminder_id, user_id, invoice_id, event, status, reason, actor, detail)
select id, user_id, invoice_id,
       case status when 'pending' then 'created' when 'skipped' then 'withheld' else status end,
       status, reason, 'migration 0007', jsonb_build_object('backfilled', true, 'scheduled_for', scheduled_for)
from analytics.payment_reminders;

-- ---------------------------------------------------------------- the sender's functions
-- claim: up to batch_size due pending reminders (scheduled_for <= today, not held by a live lease,
-- past their back-off, whose invoice is still owed in the marts), oldest first, under one new lease. Concurrent claims skip each other's rows
-- (for update skip locked), so no reminder is returned to two claimers while a lease lives.
create function analytics.claim_reminders(
    sender          text,
    batch_size      integer default 50,
    lease_seconds   integer default 300,
    tenants         text[]  default null,   -- null: every tenant
    today           date    default current_date
) returns table (
    reminder_id     uuid,
    user_id         text,
    lease_id        uuid,
    lease_until     timestamptz,
    invoice_id      uuid,
    invoice_number  text,
    amount_due      numeric,
    currency_code   text,
    due_date        date,
    customer_id     uuid,
    customer_name   text,
    phone           text,
    scheduled_for   date,
    offset_days     integer,
    attempts        integer
)
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    lease uuid := gen_random_uuid();
    lease_end timestamptz := now() + make_interval(secs => lease_seconds);
begin
    if sender is null or btrim(sender) = '' then
        raise exception 'claim_reminders: sender is required' using errcode = 'invalid_parameter_value';
    end if;
    if batch_size is null or batch_size < 1 or batch_size > 500 then
        raise exception 'claim_reminders: batch_size must be 1..500 (got %)', batch_size
            using errcode = 'invalid_parameter_value';
    end if;
    if lease_seconds is null or lease_seconds < 1 or lease_seconds > 3600 then
        raise exception 'claim_reminders: lease_seconds must be 1..3600 (got %)', lease_seconds
            using errcode = 'invalid_parameter_value';
    end if;
    perform set_config('zoho.actor', sender, true);
    return query
    with due as (
        select r.id
        from analytics.payment_reminders as r
        where r.status = 'pending'
            and r.scheduled_for <= claim_reminders.today
            and (r.lease_until is null or r.lease_until < now())
            and (r.next_attempt_at is null or r.next_attempt_at <= now())
            and (claim_reminders.tenants is null or r.user_id = any(claim_reminders.tenants))
            -- never hand out a reminder whose invoice the marts already show paid, void or deleted
            -- (the next reminder run cancels it; until then it stays in the queue, unclaimed)
            and exists (
                select 1 from analytics.invoices_cache as i
                where i.id = r.invoice_id and not i.is_deleted and i.status not in ('paid', 'void')
                    and i.balance > 0)
        order by r.scheduled_for, r.id
        limit batch_size
        for update skip locked
    ),
    claimed as (
        update analytics.payment_reminders as r
        set lease_id = lease, claimed_by = sender, claimed_at = now(), lease_until = lease_end, updated_at = now()
        from due
        where r.id = due.id
        returning r.*
    )
    select c.id, c.user_id, c.lease_id, c.lease_until, c.invoice_id,
           i.invoice_number, i.balance, i.currency_code, i.due_date,
           c.customer_id, cu.customer_name, c.phone, c.scheduled_for, c.offset_days, c.attempts
    from claimed as c
    left join analytics.invoices_cache as i on i.id = c.invoice_id
    left join analytics.customers_cache as cu on cu.id = c.customer_id
    order by c.scheduled_for, c.id;
end
$$;

-- The marks answer with an outcome: 'ok' (changed now), 'unchanged' (the same mark again: same
-- answer, no new event), 'not_found' (no such reminder among `tenants`), 'conflict' (refused; message
-- says why). The row as it is after the call comes with it.
create type analytics.reminder_mark_result as (
    outcome         text,
    message         text,
    reminder_id     uuid,
    user_id         text,
    status          text,
    reason          text,
    lease_id        uuid,
    claimed_by      text,
    lease_until     timestamptz,
    attempts        integer,
    next_attempt_at timestamptz,
    sent_at         timestamptz,
    provider        text,
    provider_message_id text,
    last_error      text
);

-- why a mark by `lease` on row `r` is refused (null: it may proceed)
create function analytics.reminder_mark_refusal(r analytics.payment_reminders, lease uuid)
returns text language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select case
        when r.status = 'cancelled' then
            format('reminder %s was cancelled (%s) after it was claimed: do not send it', r.id, r.reason)
        when r.status = 'skipped' then format('reminder %s is withheld (%s)', r.id, r.reason)
        when r.lease_id is null then format('reminder %s was never claimed: claim it first', r.id)
        when r.lease_id <> lease and r.lease_until > now() then
            format('lease %s expired: reminder %s is now held by %s (lease %s) until %s',
                   lease, r.id, r.claimed_by, r.lease_id, r.lease_until)
        when r.lease_id <> lease then
            format('lease %s expired and reminder %s was claimed again since (lease %s)', lease, r.id, r.lease_id)
        when r.status = 'sent' then
            format('reminder %s was already marked sent (%s, %s)', r.id, r.provider, r.provider_message_id)
        when r.status = 'failed' then format('reminder %s was already marked failed (%s)', r.id, r.reason)
        when r.lease_until is null then
            format('lease %s already reported a failure for reminder %s; claim it again', lease, r.id)
    end
$$;

create function analytics.reminder_mark_answer(r analytics.payment_reminders, outcome text, message text)
returns analytics.reminder_mark_result language sql immutable
set search_path = pg_catalog, pg_temp
as $$
    select row(outcome, message, r.id, r.user_id, r.status, r.reason, r.lease_id, r.claimed_by, r.lease_until,
               r.attempts, r.next_attempt_at, r.sent_at, r.provider, r.provider_message_id,
               r.last_error)::analytics.reminder_mark_result
$$;

create function analytics.mark_reminder_sent(
    reminder_id         uuid,
    lease_id            uuid,
    provider            text,
    provider_message_id text,
    tenants             text[] default null
) returns analytics.reminder_mark_result
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    r analytics.payment_reminders;
    refusal text;
begin
    if provider is null or btrim(provider) = '' or provider_message_id is null or btrim(provider_message_id) = '' then
        raise exception 'mark_reminder_sent: provider and provider_message_id are required'
            using errcode = 'invalid_parameter_value';
    end if;
    -- the common case in one statement: the lease holder marks its pending reminder (lease_until is
    -- null once the lease reported a failure; an expired lease nobody took is still the holder's)
    update analytics.payment_reminders as p
    set status = 'sent', reason = null, sent_at = now(), provider = mark_reminder_sent.provider,
        provider_message_id = mark_reminder_sent.provider_message_id, lease_until = null,
        next_attempt_at = null, updated_at = now()
    where p.id = mark_reminder_sent.reminder_id
        and p.lease_id = mark_reminder_sent.lease_id
        and p.status = 'pending'
        and p.lease_until is not null
        and (mark_reminder_sent.tenants is null or p.user_id = any(mark_reminder_sent.tenants))
    returning * into r;
    if found then
        return analytics.reminder_mark_answer(r, 'ok', 'marked sent');
    end if;
    -- otherwise: why not (or the same mark again)
    select * into r from analytics.payment_reminders as p
    where p.id = mark_reminder_sent.reminder_id
        and (mark_reminder_sent.tenants is null or p.user_id = any(mark_reminder_sent.tenants))
    for update;
    if not found then  -- r is all nulls
        return analytics.reminder_mark_answer(r, 'not_found', format('no reminder %s', mark_reminder_sent.reminder_id));
    end if;
    if r.status = 'sent' and r.lease_id = mark_reminder_sent.lease_id
            and r.provider = mark_reminder_sent.provider
            and r.provider_message_id = mark_reminder_sent.provider_message_id then
        return analytics.reminder_mark_answer(r, 'unchanged', 'already marked sent with this message');
    end if;
    refusal := analytics.reminder_mark_refusal(r, mark_reminder_sent.lease_id);
    return analytics.reminder_mark_answer(r, 'conflict',
        coalesce(refusal, format('reminder %s changed while it was being marked: try again', r.id)));
end
$$;

-- retryable: back in the pool after a back-off of backoff_seconds (default 5 minutes) x 2^(attempts - 1),
-- at most 6 hours;
-- the max_attempts-th failure (or a permanent one) makes it `failed` (reason send_failed /
-- send_attempts_exhausted), which no run resets.
create function analytics.mark_reminder_failed(
    reminder_id     uuid,
    lease_id        uuid,
    error           text,
    retryable       boolean,
    tenants         text[]  default null,
    max_attempts    integer default 5,
    backoff_seconds integer default 300
) returns analytics.reminder_mark_result
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    r analytics.payment_reminders;
    refusal text;
    final boolean;
begin
    if error is null or btrim(error) = '' or retryable is null then
        raise exception 'mark_reminder_failed: error and retryable are required'
            using errcode = 'invalid_parameter_value';
    end if;
    if max_attempts is null or max_attempts < 1 or backoff_seconds is null or backoff_seconds < 1 then
        raise exception 'mark_reminder_failed: max_attempts and backoff_seconds must be positive'
            using errcode = 'invalid_parameter_value';
    end if;
    select * into r from analytics.payment_reminders as p
    where p.id = mark_reminder_failed.reminder_id
        and (mark_reminder_failed.tenants is null or p.user_id = any(mark_reminder_failed.tenants))
    for update;
    if not found then  -- r is all nulls
        return analytics.reminder_mark_answer(r, 'not_found', format('no reminder %s', mark_reminder_failed.reminder_id));
    end if;
    if r.lease_id = mark_reminder_failed.lease_id and r.last_error = left(mark_reminder_failed.error, 2000)
            and (r.status = 'failed' or (r.status = 'pending' and r.lease_until is null)) then
        return analytics.reminder_mark_answer(r, 'unchanged', 'this failure was already recorded');
    end if;
    refusal := analytics.reminder_mark_refusal(r, mark_reminder_failed.lease_id);
    if refusal is not null then
        return analytics.reminder_mark_answer(r, 'conflict', refusal);
    end if;
    final := not mark_reminder_failed.retryable or r.attempts + 1 >= max_attempts;
    perform set_config('zoho.actor', r.claimed_by, true);
    update analytics.payment_reminders as p
    set attempts = p.attempts + 1,
        last_error = left(mark_reminder_failed.error, 2000),
        lease_until = null,
        status = case when final then 'failed' else 'pending' end,
        reason = case when not final then null
                      when mark_reminder_failed.retryable then 'send_attempts_exhausted'
                      else 'send_failed' end,
        next_attempt_at = case when final then null
            else now() + least(make_interval(secs => backoff_seconds) * power(2, p.attempts), interval '6 hours') end,
        updated_at = now()
    where p.id = r.id
    returning * into r;
    return analytics.reminder_mark_answer(r, 'ok',
        case when r.status = 'failed' then format('marked failed (%s)', r.reason)
             else format('failure recorded; back in the queue from %s', r.next_attempt_at) end);
end
$$;

revoke execute on function analytics.claim_reminders(text, integer, integer, text[], date) from public;
revoke execute on function analytics.mark_reminder_sent(uuid, uuid, text, text, text[]) from public;
revoke execute on function analytics.mark_reminder_failed(uuid, uuid, text, boolean, text[], integer, integer) from public;

-- ---------------------------------------------------------------- the zoho_sender role
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'zoho_sender') then
        if (select rolsuper or rolcreaterole from pg_roles where rolname = current_user) then
            begin
                create role zoho_sender nologin;
                comment on role zoho_sender is 'created by the zoho sync warehouse migrations (0007)';
            exception when duplicate_object or unique_violation then
                null;
            end;
        else
            raise warning 'role zoho_sender does not exist and % may not create roles: ask a DBA for "create role zoho_sender nologin", then re-run the migrations', current_user;
        end if;
    end if;
    if exists (select 1 from pg_roles where rolname = 'zoho_sender') then
        execute format('grant connect on database %I to zoho_sender', current_database());
        grant usage on schema analytics to zoho_sender;
        grant execute on function analytics.claim_reminders(text, integer, integer, text[], date) to zoho_sender;
        grant execute on function analytics.mark_reminder_sent(uuid, uuid, text, text, text[]) to zoho_sender;
        grant execute on function analytics.mark_reminder_failed(uuid, uuid, text, boolean, text[], integer, integer) to zoho_sender;
        grant usage on type analytics.reminder_mark_result to zoho_sender;
        -- analytics' default privileges give zoho_analyst select on new tables; the sender reads none
    end if;
end
$$;

-- ---------------------------------------------------------------- API grants (Airflow user -> tenant)
create table zoho_sync.api_grants (
    username    text        not null,   -- the Airflow user name (auth manager's user id)
    user_id     text        not null,   -- the tenant
    access      text        not null check (access in ('read', 'send')),  -- send includes read
    granted_at  timestamptz not null default now(),
    granted_by  text        not null default session_user,
    primary key (username, user_id)
);
