-- The customer's portal: the links that open it, the payment plans customers ask for
-- there beyond what their policy accepts at once, and 'portal' as the source of an
-- opt-out or opt-in a customer chose on the page.

-- +goose Up
-- A portal link opens one customer's page. Only the SHA-256 of its random token is
-- kept; the token itself exists only in the URL handed out.
CREATE TABLE portal_links (
    id           BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_sha256 BYTEA       NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    customer_id  TEXT        NOT NULL CHECK (customer_id <> '' AND length(customer_id) <= 128),
    -- Who made it: "key:<api key name>" or "system".
    created_by   TEXT        NOT NULL DEFAULT '' CHECK (length(created_by) <= 200),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    CHECK (expires_at > created_at)
);

CREATE INDEX portal_links_customer_idx ON portal_links (customer_id, expires_at) WHERE revoked_at IS NULL;

-- A payment plan a customer asked for on the portal that is outside the policy's
-- self-service limits: it waits for an operator to approve (the plan update is sent
-- then) or reject it. One pending request per invoice.
CREATE TABLE portal_plan_requests (
    id           BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    invoice_id   TEXT        NOT NULL REFERENCES invoices (invoice_id),
    customer_id  TEXT        NOT NULL CHECK (customer_id <> ''),
    link_id      BIGINT      NOT NULL REFERENCES portal_links (id),
    currency     TEXT        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- [{"due_date": "YYYY-MM-DD", "amount_minor": 1000}, ...]
    installments JSONB       NOT NULL CHECK (jsonb_typeof(installments) = 'array'),
    -- Why the policy did not accept it at once.
    why_pending  TEXT        NOT NULL DEFAULT '' CHECK (length(why_pending) <= 500),
    status       TEXT        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    requested_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    decided_at   TIMESTAMPTZ,
    decided_by   TEXT        NOT NULL DEFAULT '' CHECK (length(decided_by) <= 200),
    reason       TEXT        NOT NULL DEFAULT '' CHECK (length(reason) <= 1000),
    CHECK ((status = 'pending') = (decided_at IS NULL))
);

CREATE UNIQUE INDEX portal_plan_requests_pending_idx ON portal_plan_requests (invoice_id) WHERE status = 'pending';
CREATE INDEX portal_plan_requests_status_idx ON portal_plan_requests (status, requested_at);

ALTER TABLE opt_outs DROP CONSTRAINT opt_outs_source_check;
ALTER TABLE opt_outs ADD CONSTRAINT opt_outs_source_check CHECK (source IN (
    'stop', 'unsubscribe', 'spamreport', 'bounce', 'dropped', 'invalid',
    'start', 'resubscribe', 'operator', 'portal'));
ALTER TABLE opt_out_events DROP CONSTRAINT opt_out_events_source_check;
ALTER TABLE opt_out_events ADD CONSTRAINT opt_out_events_source_check CHECK (source IN (
    'stop', 'unsubscribe', 'spamreport', 'bounce', 'dropped', 'invalid',
    'start', 'resubscribe', 'operator', 'portal'));

-- +goose Down
-- Fails while 'portal' opt-outs exist, rather than deleting what customers chose.
ALTER TABLE opt_out_events DROP CONSTRAINT opt_out_events_source_check;
ALTER TABLE opt_out_events ADD CONSTRAINT opt_out_events_source_check CHECK (source IN (
    'stop', 'unsubscribe', 'spamreport', 'bounce', 'dropped', 'invalid',
    'start', 'resubscribe', 'operator'));
ALTER TABLE opt_outs DROP CONSTRAINT opt_outs_source_check;
ALTER TABLE opt_outs ADD CONSTRAINT opt_outs_source_check CHECK (source IN (
    'stop', 'unsubscribe', 'spamreport', 'bounce', 'dropped', 'invalid',
    'start', 'resubscribe', 'operator'));
DROP TABLE portal_plan_requests;
DROP TABLE portal_links;
