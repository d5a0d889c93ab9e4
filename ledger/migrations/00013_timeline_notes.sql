-- The customer's timeline (GET /v1/customers/{id}/timeline, ledger/timeline.go) and the
-- notes operators add to it.
--
-- A note belongs to a customer and, optionally, to one of that customer's invoices: the
-- composite foreign key refuses an invoice of another customer. Its text is what an
-- operator wrote (it may hold personal data, so it stays here, never in the audit
-- log's details).
--
-- An adjustment names the lifecycle event that made it (event_key), so the timeline
-- shows one entry for the event with its money, not two.

-- +goose Up
CREATE UNIQUE INDEX invoices_invoice_customer_idx ON invoices (invoice_id, customer_id);

CREATE TABLE customer_notes (
    note_id     BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id TEXT        NOT NULL CHECK (customer_id <> ''),
    invoice_id  TEXT,
    text        TEXT        NOT NULL CHECK (btrim(text) <> '' AND char_length(text) <= 4000),
    -- Who wrote it ("key:<name>").
    author      TEXT        NOT NULL CHECK (author <> '' AND length(author) <= 100),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (invoice_id, customer_id) REFERENCES invoices (invoice_id, customer_id)
);

CREATE INDEX customer_notes_customer_idx ON customer_notes (customer_id, created_at);

ALTER TABLE adjustments ADD COLUMN event_key TEXT CHECK (event_key <> '');
CREATE UNIQUE INDEX adjustments_event_idx ON adjustments (invoice_id, event_key) WHERE event_key IS NOT NULL;

-- Audit entries about a customer rather than one invoice (a note, a portal visit)
-- carry details.customer_id.
CREATE INDEX audit_log_customer_idx ON audit_log ((details->>'customer_id'), at)
    WHERE details ? 'customer_id';

-- A customer's opt-outs and opt-ins, as received.
CREATE INDEX opt_out_events_customers_idx ON opt_out_events USING GIN (customer_ids);

-- +goose Down
DROP INDEX opt_out_events_customers_idx;
DROP INDEX audit_log_customer_idx;
DROP INDEX adjustments_event_idx;
ALTER TABLE adjustments DROP COLUMN event_key;
DROP TABLE customer_notes;
DROP INDEX invoices_invoice_customer_idx;
