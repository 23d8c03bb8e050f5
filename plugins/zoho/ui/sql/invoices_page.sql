-- A page of invoices, chosen by the merged index scans of queries._merged_ids, joined to their
-- customer (columns: invoice_columns.sql).
select {cols} from ({ids}) p
join analytics.invoices_cache i on i.id = p.id
left join analytics.customers_cache c on c.id = i.customer_id
order by p.due_date {dir}, p.id {dir}
