-- What a statement and its email say about the customer: the name and locale of the
-- customer's most recently issued invoice. The invoice carries them (PII travels to
-- Temporal only encrypted); the ledger keeps them beside the addresses it already
-- keeps, so a scheduled statement names the customer and speaks their language.

-- +goose Up
CREATE TABLE customer_profiles (
    customer_id TEXT        PRIMARY KEY CHECK (customer_id <> '' AND length(customer_id) <= 128),
    name        TEXT        NOT NULL CHECK (length(name) <= 200),
    locale      TEXT        NOT NULL DEFAULT '' CHECK (length(locale) <= 35),
    -- issued_at of the invoice that set them: an older invoice issued late never
    -- overwrites a newer one's.
    issued_at   TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A statement shows each invoice's reference-rate interest split by half-year with
-- its rate: the details of the invoice's latest interest_charged event.
CREATE INDEX lifecycle_events_interest_idx ON lifecycle_events (invoice_id, at) WHERE kind = 'interest_charged';

-- +goose Down
DROP INDEX lifecycle_events_interest_idx;
DROP TABLE customer_profiles;
