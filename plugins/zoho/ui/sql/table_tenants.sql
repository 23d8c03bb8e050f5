-- The distinct user_ids of a table whose indexes lead with user_id: a loose index scan (one index
-- probe per tenant) instead of reading the table. The table is one of a fixed list chosen by the code.
with recursive t as (
    (select user_id from {table} order by user_id limit 1)
    union all
    select (select x.user_id from {table} x where x.user_id > t.user_id order by x.user_id limit 1)
    from t where t.user_id is not null
)
select user_id from t where user_id is not null
