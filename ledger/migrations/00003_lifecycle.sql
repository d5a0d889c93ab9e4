-- The collection lifecycle beyond reminders and payments: money changes that are not
-- payments (refunds, chargebacks, adjustments, credit notes, write-offs, voids) and
-- operator or customer events (disputes, promises, plans, pauses, approvals).
--
-- Balance invariant, per invoice, at every moment:
--   balance = amount_due + sum(adjustments.amount_minor) - sum(payments.applied_minor)
--   credit  = sum(payments.credit_minor) + sum(adjustments.credit_minor)
-- so every report can recompute balances from the rows, never from a workflow.

-- +goose Up
CREATE TABLE adjustments (
    invoice_id          TEXT        NOT NULL REFERENCES invoices (invoice_id),
    -- Unique per invoice: the refund id, adjustment id, or a key the workflow derives
    -- ("write-off", "void", "dispute/<id>") so an activity retry adds no second row.
    adjustment_id       TEXT        NOT NULL CHECK (adjustment_id <> ''),
    kind                TEXT        NOT NULL CHECK (kind IN (
                            'refund', 'chargeback', 'adjustment', 'credit_note',
                            'write_off', 'void', 'late_fee', 'interest', 'discount')),
    currency            CHAR(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- Effect on the balance in minor units: positive re-opens or raises it.
    amount_minor        BIGINT      NOT NULL,
    -- Effect on the customer's credit (a refund of an over-payment lowers it).
    credit_minor        BIGINT      NOT NULL DEFAULT 0,
    balance_after_minor BIGINT      NOT NULL CHECK (balance_after_minor >= 0),
    payment_id          TEXT        NOT NULL DEFAULT '',
    reason              TEXT        NOT NULL DEFAULT '' CHECK (length(reason) <= 1000),
    actor               TEXT        NOT NULL DEFAULT '' CHECK (length(actor) <= 100),
    at                  TIMESTAMPTZ NOT NULL,
    recorded_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (invoice_id, adjustment_id)
);

CREATE INDEX adjustments_kind_at_idx ON adjustments (kind, at);

CREATE TABLE lifecycle_events (
    invoice_id  TEXT        NOT NULL REFERENCES invoices (invoice_id),
    -- Unique per invoice and derived by the workflow, so a retry adds no second row.
    event_key   TEXT        NOT NULL CHECK (event_key <> ''),
    kind        TEXT        NOT NULL CHECK (kind IN (
                    'dispute_opened', 'dispute_resolved', 'dispute_upheld',
                    'promise_made', 'promise_kept', 'promise_broken',
                    'plan_agreed', 'plan_completed', 'plan_broken',
                    'paused', 'resumed',
                    'approval_requested', 'approved', 'rejected',
                    'refunded', 'adjusted', 'reopened',
                    'cancelled', 'written_off', 'opted_out')),
    reason      TEXT        NOT NULL DEFAULT '' CHECK (length(reason) <= 1000),
    actor       TEXT        NOT NULL DEFAULT '' CHECK (length(actor) <= 100),
    -- Ids, dates and amounts only; never PII.
    details     JSONB       NOT NULL DEFAULT '{}'::JSONB CHECK (
                    jsonb_typeof(details) = 'object' AND pg_column_size(details) <= 8192),
    at          TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (invoice_id, event_key)
);

CREATE INDEX lifecycle_events_kind_at_idx ON lifecycle_events (kind, at);

-- +goose Down
DROP TABLE lifecycle_events;
DROP TABLE adjustments;
