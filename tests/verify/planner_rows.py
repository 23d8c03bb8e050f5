"""Hand-made rows for the budget planner (``zoho_sync.budget_planner``): the budget ledger, the sweep
checkpoints and contacts with persons pending, as the sync would leave them. Shared by the planner's
tests in ``tests/verify`` and the Customer sync page's in ``tests/ui``.

``fill(conn)`` makes one tenant per case, named after it:

- ``first``: a first sweep with Zoho's page totals (contacts confirming, invoices listing), three
  contacts with persons pending, today's share already spent; on track;
- ``nototal``: a first sweep whose listing has not reported its total yet: unknown;
- ``resumed``: a sweep past a complete one, the invoices listing with a new total;
  an old organisation of the tenant and a Zoho day that has reset;
- ``never``: the nightly's fixed calls take the whole sweep share;
- ``slow``: a big organisation on a small budget: 10 nights;
- ``done``: both entities' sweeps complete;
- ``ledger``: a budget row, no sweep yet.
"""
from __future__ import annotations

import json

TENANTS = ("done", "first", "ledger", "never", "nototal", "resumed", "slow")


def add_budget(conn, user_id, *, plan=1000, budget=1000, share=850, spent=0, org=None, resets_in_hours=5.0,
               updated_hours_ago=0.0):
    conn.execute(
        "insert into zoho_sync.api_budget (org_key, user_id, plan_limit, zoho_remaining, resets_at, spent_today, "
        "effective_budget, sweep_share, updated_at) values (%s, %s, %s, %s, now() + make_interval(secs => %s), "
        "%s, %s, %s, now() - make_interval(secs => %s))",
        (org or f"www.zohoapis.com|{user_id}", user_id, plan, plan - spent, resets_in_hours * 3600, spent, budget,
         share, updated_hours_ago * 3600))


def add_sweep(conn, user_id, entity, *, generation=1, phase="listing", pages_done=0, pages_total=None,
              calls_spent=0, fixed_calls=None, last_pages=None, last_calls=None, completed_days_ago=None, runs=1):
    conn.execute(
        "insert into zoho_sync.sweeps (user_id, entity, generation, phase, next_page, pages_done, pages_total, "
        "records_seen, calls_spent, runs, fixed_calls, started_at, last_pages, last_records, last_calls, "
        "last_runs, last_completed_at) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now() - interval "
        "'2 days', %s, %s, %s, %s, case when %s::float8 is null then null "
        "else now() - make_interval(secs => %s::float8) end)",
        (user_id, entity, generation, phase, pages_done + 1, pages_done, pages_total, pages_done * 200, calls_spent,
         runs, fixed_calls, last_pages, None if last_pages is None else last_pages * 200, last_calls,
         None if last_calls is None else 1, completed_days_ago,
         None if completed_days_ago is None else completed_days_ago * 86400))


def add_contact(conn, user_id, contact_id, *, persons_pending=False, is_deleted=False):
    conn.execute(
        "insert into zoho_raw.contacts (user_id, contact_id, contact_type, last_modified_time, payload, payload_hash, "
        "is_deleted, persons_pending) values (%s, %s, 'customer', now(), %s, md5(%s), %s, %s)",
        (user_id, contact_id, json.dumps({"contact_id": contact_id}), contact_id, is_deleted, persons_pending))


def fill(conn) -> None:
    # first: contacts listed (10 of 10 pages, confirming), invoices 5 of 40; 3 persons pending (a
    # deleted contact's and a contact without pending persons do not count)
    add_budget(conn, "first", spent=900)
    add_sweep(conn, "first", "contacts", phase="confirming", pages_done=10, pages_total=10, calls_spent=11)
    add_sweep(conn, "first", "invoices", pages_done=5, pages_total=40, calls_spent=17, fixed_calls=12)
    for i in range(3):
        add_contact(conn, "first", f"p{i}", persons_pending=True)
    add_contact(conn, "first", "gone", persons_pending=True, is_deleted=True)
    add_contact(conn, "first", "read", persons_pending=False)
    # nototal: the first page of contacts has not said how many there are; invoices not started
    add_budget(conn, "nototal")
    add_sweep(conn, "nototal", "contacts", pages_done=2)
    # resumed: sweep 3; contacts complete, invoices listing 20 of a new total of 70 (last time 60)
    add_budget(conn, "resumed", org="eu|old", budget=900, share=700, updated_hours_ago=48)
    add_budget(conn, "resumed", plan=1000, budget=200, share=50, spent=180, resets_in_hours=-1)
    add_sweep(conn, "resumed", "contacts", generation=3, phase="complete", pages_done=4, pages_total=4,
              calls_spent=5, last_pages=4, last_calls=5, completed_days_ago=1)
    add_sweep(conn, "resumed", "invoices", generation=3, pages_done=20, pages_total=70, calls_spent=25,
              fixed_calls=10, last_pages=60, last_calls=64, completed_days_ago=8, runs=2)
    # never: budget 250, reserve 150, and the open-invoice check takes 120 of the 100 left
    add_budget(conn, "never", budget=250, share=100, spent=120)
    add_sweep(conn, "never", "contacts", generation=2, phase="complete", pages_done=5, pages_total=5,
              last_pages=5, last_calls=6, completed_days_ago=3)
    add_sweep(conn, "never", "invoices", generation=2, pages_done=2, fixed_calls=120, last_pages=50, last_calls=55,
              completed_days_ago=9)
    # slow: 3,000 invoice pages at 320 a night
    add_budget(conn, "slow", plan=2000, budget=500, share=350, spent=340)
    add_sweep(conn, "slow", "contacts", generation=3, phase="complete", pages_done=20, pages_total=20,
              last_pages=20, last_calls=22, completed_days_ago=2)
    add_sweep(conn, "slow", "invoices", generation=3, pages_done=100, pages_total=3000, calls_spent=320,
              fixed_calls=30, last_pages=2900, last_calls=2950, completed_days_ago=20)
    # done: both sweeps complete
    add_budget(conn, "done", share=850, spent=300)
    add_sweep(conn, "done", "contacts", generation=4, phase="complete", pages_done=3, pages_total=3,
              calls_spent=4, last_pages=3, last_calls=4, completed_days_ago=0.5)
    add_sweep(conn, "done", "invoices", generation=4, phase="complete", pages_done=9, pages_total=9,
              calls_spent=10, fixed_calls=8, last_pages=9, last_calls=10, completed_days_ago=0.4)
    # ledger: the budget is known, no sweep has started
    add_budget(conn, "ledger", spent=10)
