-- Dunwell ledger: invoices, the notices sent for them, payments applied to them,
-- hand-offs to collection agencies or legal, and an audit trail of status changes.
-- Money is BIGINT minor units plus an ISO 4217 currency code; never floating point.

-- +goose Up
CREATE TABLE invoices (
    invoice_id       TEXT        PRIMARY KEY CHECK (invoice_id <> ''),
    customer_id      TEXT        NOT NULL CHECK (customer_id <> ''),
    currency         CHAR(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount_due_minor BIGINT      NOT NULL CHECK (amount_due_minor >= 0),
    issued_at        TIMESTAMPTZ NOT NULL,
    due_date         DATE        NOT NULL,
    policy_id        TEXT        NOT NULL CHECK (policy_id <> ''),
    policy_version   INTEGER     NOT NULL CHECK (policy_version >= 0),
    segment          TEXT        NOT NULL DEFAULT '',
    -- SHA-256 of the canonical issue request: a repeat with the same hash is the
    -- same invoice, a different hash under the same id is a conflict.
    body_sha256      BYTEA       NOT NULL CHECK (octet_length(body_sha256) = 32),
    status           TEXT        NOT NULL DEFAULT 'open' CHECK (status IN (
                         'open', 'overdue', 'paused', 'disputed', 'promised', 'on_plan',
                         'awaiting_approval', 'escalated', 'paid', 'cancelled', 'written_off')),
    balance_minor    BIGINT      NOT NULL CHECK (balance_minor >= 0),
    -- When the current status took effect (business time); guards against an older
    -- status change overwriting a newer one.
    status_at        TIMESTAMPTZ NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    closed_at        TIMESTAMPTZ
);

CREATE INDEX invoices_customer_idx ON invoices (customer_id);
CREATE INDEX invoices_open_due_idx ON invoices (due_date) WHERE closed_at IS NULL;

CREATE TABLE invoice_events (
    event_id      BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    invoice_id    TEXT        NOT NULL REFERENCES invoices (invoice_id),
    status        TEXT        NOT NULL CHECK (status IN (
                      'open', 'overdue', 'paused', 'disputed', 'promised', 'on_plan',
                      'awaiting_approval', 'escalated', 'paid', 'cancelled', 'written_off')),
    balance_minor BIGINT      NOT NULL CHECK (balance_minor >= 0),
    at            TIMESTAMPTZ NOT NULL,
    recorded_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Re-applying the same change (an activity retry) adds no second event.
    UNIQUE (invoice_id, status, at)
);

CREATE TABLE notices (
    -- <invoice>/<step>/<channel>
    notice_key  TEXT        PRIMARY KEY CHECK (notice_key <> ''),
    invoice_id  TEXT        NOT NULL REFERENCES invoices (invoice_id),
    step        TEXT        NOT NULL CHECK (step <> ''),
    channel     TEXT        NOT NULL CHECK (channel IN ('email', 'sms')),
    status      TEXT        NOT NULL CHECK (status IN ('sending', 'sent', 'failed', 'undeliverable')),
    provider_id TEXT        NOT NULL DEFAULT '',
    error       TEXT        NOT NULL DEFAULT '',
    -- How many times the notice was claimed; > 1 while 'sending' means an earlier
    -- attempt ended without recording its outcome.
    attempts    INTEGER     NOT NULL CHECK (attempts >= 1),
    claimed_at  TIMESTAMPTZ NOT NULL,
    sent_at     TIMESTAMPTZ,
    updated_at  TIMESTAMPTZ NOT NULL,
    CHECK (status <> 'sent' OR sent_at IS NOT NULL)
);

CREATE INDEX notices_invoice_idx ON notices (invoice_id);

CREATE TABLE payments (
    invoice_id          TEXT        NOT NULL REFERENCES invoices (invoice_id),
    payment_id          TEXT        NOT NULL CHECK (payment_id <> ''),
    currency            CHAR(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount_minor        BIGINT      NOT NULL CHECK (amount_minor > 0),
    applied_minor       BIGINT      NOT NULL CHECK (applied_minor >= 0),
    credit_minor        BIGINT      NOT NULL CHECK (credit_minor >= 0),
    balance_after_minor BIGINT      NOT NULL CHECK (balance_after_minor >= 0),
    paid_at             TIMESTAMPTZ NOT NULL,
    applied_at          TIMESTAMPTZ NOT NULL,
    recorded_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (invoice_id, payment_id),
    CHECK (applied_minor + credit_minor = amount_minor)
);

-- The hand-off queue an agency or legal integration reads: one row per invoice.
CREATE TABLE escalations (
    invoice_id    TEXT        PRIMARY KEY REFERENCES invoices (invoice_id),
    customer_id   TEXT        NOT NULL CHECK (customer_id <> ''),
    target        TEXT        NOT NULL CHECK (target IN ('agency', 'legal')),
    currency      CHAR(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    balance_minor BIGINT      NOT NULL CHECK (balance_minor >= 0),
    due_date      DATE        NOT NULL,
    escalated_at  TIMESTAMPTZ NOT NULL,
    status        TEXT        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'handed_off')),
    recorded_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX escalations_pending_idx ON escalations (escalated_at) WHERE status = 'pending';

-- +goose Down
DROP TABLE escalations;
DROP TABLE payments;
DROP TABLE notices;
DROP TABLE invoice_events;
DROP TABLE invoices;
