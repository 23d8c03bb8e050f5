i.id, i.user_id, i.zoho_invoice_id, i.invoice_number, i.status, i.invoice_date, i.due_date,
i.currency_code, i.total, i.balance, i.is_deleted, i.customer_id, i.zoho_customer_id,
c.customer_name, c.primary_phone, c.primary_phone_source
