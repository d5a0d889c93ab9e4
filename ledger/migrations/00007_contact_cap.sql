-- The per-customer daily contact cap: one row per reminder that was allowed to reach
-- a customer, on the customer's local day. ReserveContact counts a customer's rows
-- for a day and adds one under a per-customer lock, so two invoices of the same
-- customer deciding at the same moment cannot both take the last slot.

-- +goose Up
CREATE TABLE contact_reservations (
    -- <invoice>/<step>: one reminder is one contact, whichever channel carries it, so
    -- a retried or fallen-back send re-uses its reservation.
    contact_key TEXT        PRIMARY KEY CHECK (contact_key <> ''),
    customer_id TEXT        NOT NULL CHECK (customer_id <> ''),
    invoice_id  TEXT        NOT NULL REFERENCES invoices (invoice_id),
    -- The calendar day in the customer's timezone.
    local_day   DATE        NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    reserved_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The count per customer and day is an index-only range scan.
CREATE INDEX contact_reservations_customer_day_idx ON contact_reservations (customer_id, local_day);

-- +goose Down
DROP TABLE contact_reservations;
