-- Payment webhooks, stored before they are answered: one row per accepted provider
-- event, unique per (source, event_id), so a redelivery is recognised and stored once.
-- The forwarder claims due rows (FOR UPDATE SKIP LOCKED, with a lease in
-- locked_until so a crashed forwarder's rows come back) and applies them to the
-- invoice workflows. Rows hold the normalized event (ids, amounts, dates): never the
-- provider's raw body, which carries customer data.
--
-- status: pending (to apply, or retrying after a transient failure), held (waiting
-- for its invoice, payment or dispute: waiting_for says which), applied, parked (an
-- operator must look: unknown invoice after the wait, currency mismatch, rejected).

-- +goose Up
CREATE TABLE webhook_events (
    id              BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source          TEXT        NOT NULL CHECK (source IN ('stripe', 'payments')),
    event_id        TEXT        NOT NULL CHECK (event_id <> '' AND length(event_id) <= 255),
    event_type      TEXT        NOT NULL CHECK (event_type <> '' AND length(event_type) <= 100),
    kind            TEXT        NOT NULL CHECK (kind IN ('payment', 'refund', 'chargeback_opened', 'chargeback_closed')),
    -- '' until known: a Stripe refund or dispute names only its payment.
    invoice_id      TEXT        NOT NULL DEFAULT '' CHECK (length(invoice_id) <= 100),
    payment_id      TEXT        NOT NULL DEFAULT '' CHECK (length(payment_id) <= 100),
    dispute_id      TEXT        NOT NULL DEFAULT '' CHECK (length(dispute_id) <= 100),
    currency        CHAR(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount_minor    BIGINT      NOT NULL DEFAULT 0 CHECK (amount_minor >= 0),
    -- The normalized event (webhooks.Event) the forwarder applies.
    event           JSONB       NOT NULL CHECK (jsonb_typeof(event) = 'object' AND pg_column_size(event) <= 16384),
    -- SHA-256 of the raw body: the same event id with another body is a conflict.
    body_sha256     BYTEA       NOT NULL CHECK (octet_length(body_sha256) = 32),
    status          TEXT        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'held', 'applied', 'parked')),
    waiting_for     TEXT        NOT NULL DEFAULT '' CHECK (waiting_for IN ('', 'invoice', 'workflow', 'payment', 'dispute')),
    attempts        INTEGER     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      TEXT        NOT NULL DEFAULT '' CHECK (length(last_error) <= 1000),
    -- What the workflow answered (balances, duplicate flags), once applied.
    result          JSONB,
    received_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    locked_until    TIMESTAMPTZ,
    applied_at      TIMESTAMPTZ,
    -- When an operator last sent a parked event back to the forwarder; the wait
    -- before parking starts again from here.
    requeued_at     TIMESTAMPTZ,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (source, event_id),
    CHECK (status <> 'applied' OR applied_at IS NOT NULL)
);

CREATE INDEX webhook_events_due_idx ON webhook_events (next_attempt_at) WHERE status IN ('pending', 'held');
CREATE INDEX webhook_events_waiting_invoice_idx ON webhook_events (invoice_id) WHERE status = 'held';
CREATE INDEX webhook_events_payment_idx ON webhook_events (source, payment_id) WHERE payment_id <> '';
CREATE INDEX webhook_events_dispute_idx ON webhook_events (source, dispute_id) WHERE dispute_id <> '';
CREATE INDEX webhook_events_parked_idx ON webhook_events (received_at) WHERE status = 'parked';

-- +goose Down
DROP TABLE webhook_events;
