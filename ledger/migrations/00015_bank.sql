-- Cash application: bank statements (camt.053/054, OFX) imported, each bank
-- transaction stored once, booked credits matched to invoices and applied through the
-- payment webhooks' outbox (webhook_events, source 'bank') so that the forwarder
-- applies them exactly once and retries until it has.

-- +goose Up
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_source_check;
ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_source_check CHECK (source IN ('stripe', 'payments', 'bank'));

-- One row per imported file: what it was and what came of it.
CREATE TABLE bank_imports (
    id            BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    format        TEXT        NOT NULL CHECK (format IN ('camt.053', 'camt.054', 'ofx')),
    message_id    TEXT        NOT NULL DEFAULT '' CHECK (length(message_id) <= 140),
    file_sha256   BYTEA       NOT NULL CHECK (octet_length(file_sha256) = 32),
    file_bytes    BIGINT      NOT NULL CHECK (file_bytes >= 0),
    transactions  INTEGER     NOT NULL CHECK (transactions >= 0),
    new           INTEGER     NOT NULL CHECK (new >= 0),
    applied       INTEGER     NOT NULL CHECK (applied >= 0),
    unmatched     INTEGER     NOT NULL CHECK (unmatched >= 0),
    imported_by   TEXT        NOT NULL DEFAULT '' CHECK (length(imported_by) <= 200),
    imported_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per bank transaction, unique by the bank's own reference on the account,
-- so a file imported twice or two overlapping files store it once.
--
-- status: recorded (not money received: a debit, a reversal, not booked yet), matched
-- (allocations handed to the forwarder as webhook_events), unmatched (waiting for an
-- operator, with why and suggestions), ignored (an operator said why).
CREATE TABLE bank_transactions (
    id             BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account        TEXT        NOT NULL CHECK (account <> '' AND length(account) <= 140),
    bank_ref       TEXT        NOT NULL CHECK (bank_ref <> '' AND length(bank_ref) <= 300),
    import_id      BIGINT      NOT NULL REFERENCES bank_imports (id),
    format         TEXT        NOT NULL,
    entry          TEXT        NOT NULL DEFAULT '' CHECK (length(entry) <= 400),
    credit         BOOLEAN     NOT NULL,
    booking        TEXT        NOT NULL CHECK (booking IN ('booked', 'pending', 'info')),
    reversal       BOOLEAN     NOT NULL DEFAULT false,
    currency       CHAR(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount_minor   BIGINT      NOT NULL CHECK (amount_minor > 0),
    booked_at      TIMESTAMPTZ,
    -- The parsed transaction (bank.Transaction): payer, references, remittance text.
    details        JSONB       NOT NULL CHECK (jsonb_typeof(details) = 'object' AND pg_column_size(details) <= 16384),
    status         TEXT        NOT NULL CHECK (status IN ('recorded', 'matched', 'unmatched', 'ignored')),
    method         TEXT        NOT NULL DEFAULT '' CHECK (method IN ('', 'reference', 'document', 'invoice_number', 'payer', 'operator')),
    confidence     INTEGER     NOT NULL DEFAULT 0 CHECK (confidence BETWEEN 0 AND 100),
    why            TEXT        NOT NULL DEFAULT '' CHECK (length(why) <= 2000),
    suggestions    JSONB       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(suggestions) = 'array'),
    allocations    JSONB       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(allocations) = 'array'),
    customer_id    TEXT        NOT NULL DEFAULT '' CHECK (length(customer_id) <= 100),
    matched_at     TIMESTAMPTZ,
    matched_by     TEXT        NOT NULL DEFAULT '' CHECK (length(matched_by) <= 200),
    ignore_reason  TEXT        NOT NULL DEFAULT '' CHECK (length(ignore_reason) <= 500),
    imported_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (account, bank_ref),
    CHECK (status <> 'matched' OR (matched_at IS NOT NULL AND jsonb_array_length(allocations) > 0)),
    CHECK (status <> 'ignored' OR ignore_reason <> '')
);

CREATE INDEX bank_transactions_status_idx ON bank_transactions (status, imported_at, id);

-- Payers remembered per customer from earlier matches (bank.PayerKeys: the account,
-- else the name), so their next transfer of a known amount matches by itself.
CREATE TABLE bank_payers (
    payer_key   TEXT        PRIMARY KEY CHECK (payer_key <> '' AND length(payer_key) <= 200),
    customer_id TEXT        NOT NULL CHECK (customer_id <> ''),
    learned_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    learned_by  TEXT        NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE bank_payers;
DROP TABLE bank_transactions;
DROP TABLE bank_imports;
DELETE FROM webhook_events WHERE source = 'bank';
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_source_check;
ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_source_check CHECK (source IN ('stripe', 'payments'));
