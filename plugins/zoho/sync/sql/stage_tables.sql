-- Session-local staging tables the loader COPYs each batch into (then one upsert per table).
create temp table if not exists stage_contacts (
    contact_id text, contact_type text, last_modified_time timestamptz,
    mobile_e164 text, phone_e164 text, payload jsonb, payload_hash text);
create temp table if not exists stage_contact_persons (
    contact_id text, contact_person_id text, position integer, is_primary_contact boolean,
    mobile_e164 text, phone_e164 text, payload jsonb, payload_hash text);
create temp table if not exists stage_invoices (
    invoice_id text, customer_id text, last_modified_time timestamptz, payload jsonb, payload_hash text);
