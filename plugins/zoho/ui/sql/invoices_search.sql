-- A page of the invoices a search matched, few: filtered and sorted directly, then joined to their
-- customer (columns: invoice_columns.sql; the direction is asc or desc).
select {cols} from (select i.id from analytics.invoices_cache i {where}
                    order by i.due_date {dir}, i.id {dir} limit %s offset %s) p
join analytics.invoices_cache i on i.id = p.id
left join analytics.customers_cache c on c.id = i.customer_id
order by i.due_date {dir}, i.id {dir}
