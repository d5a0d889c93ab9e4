-- API keys and the audit trail of state-changing API calls.
--
-- A key is a random 256-bit token that is shown once when it is created; only its
-- SHA-256 is stored. Keys are never deleted, only revoked, so the audit trail keeps
-- pointing at them. The audit trail records who (key), what (action, outcome), when,
-- which invoice and why; its details hold ids and amounts, never secrets or PII.

-- +goose Up
CREATE TABLE api_keys (
    id           BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- A name starts with a letter, so "starter keys revoke X" can tell ids from names.
    name         TEXT        NOT NULL CHECK (name ~ '^[A-Za-z][A-Za-z0-9._-]{0,63}$'),
    token_sha256 BYTEA       NOT NULL UNIQUE CHECK (octet_length(token_sha256) = 32),
    scopes       TEXT[]      NOT NULL CHECK (
                     cardinality(scopes) > 0
                     AND array_position(scopes, NULL) IS NULL
                     AND scopes <@ ARRAY['invoices:write', 'payments:write', 'operator', 'read']::TEXT[]),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Updated at most about once a minute per key, not on every request.
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);

-- One active key per name; a revoked key's name may be reused.
CREATE UNIQUE INDEX api_keys_active_name_idx ON api_keys (name) WHERE revoked_at IS NULL;

CREATE TABLE audit_log (
    id         BIGSERIAL   PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The key that made the call; key_name is a copy so the entry reads on its own.
    key_id     BIGINT      REFERENCES api_keys (id) ON DELETE SET NULL,
    key_name   TEXT        NOT NULL DEFAULT '',
    action     TEXT        NOT NULL CHECK (action ~ '^[a-z][a-z0-9_.:-]{0,63}$'),
    outcome    TEXT        NOT NULL DEFAULT '' CHECK (length(outcome) <= 64),
    -- Not a foreign key: a rejected call may name an invoice the ledger does not hold.
    invoice_id TEXT        CHECK (invoice_id <> ''),
    reason     TEXT        NOT NULL DEFAULT '' CHECK (length(reason) <= 1000),
    -- Small request details (method, path, status, payment id, amount): no secrets, no PII.
    details    JSONB       NOT NULL DEFAULT '{}'::JSONB CHECK (
                   jsonb_typeof(details) = 'object' AND pg_column_size(details) <= 4096)
);

CREATE INDEX audit_log_invoice_idx ON audit_log (invoice_id, at) WHERE invoice_id IS NOT NULL;
CREATE INDEX audit_log_key_idx ON audit_log (key_id, at);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE api_keys;
