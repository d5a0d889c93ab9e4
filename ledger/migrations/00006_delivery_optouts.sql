-- Sending that operators can trust: where each customer is contacted, who opted out of
-- which channel address (and who opted back in), and what the providers said became of
-- each notice after they accepted it.
--
-- Addresses are stored normalised: email addresses trimmed and lower-cased, phone
-- numbers in E.164. They are personal data; they stay in PostgreSQL (never in Temporal
-- search attributes, never in logs).

-- +goose Up
-- The addresses notices went to, per customer. An inbound STOP names only a phone
-- number; this table maps it back to the customers, and so to their open invoices.
CREATE TABLE contact_addresses (
    channel       TEXT        NOT NULL CHECK (channel IN ('email', 'sms')),
    address       TEXT        NOT NULL CHECK (address <> '' AND length(address) <= 320),
    customer_id   TEXT        NOT NULL CHECK (customer_id <> ''),
    first_used_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, address, customer_id)
);

CREATE INDEX contact_addresses_customer_idx ON contact_addresses (customer_id);

-- The current opt-out state of one channel address, per customer known to use it
-- (customer_id '' when the address belongs to no known customer). An address is opted
-- out when any of its rows is. START (or a resubscribe) opts every row back in.
CREATE TABLE opt_outs (
    channel     TEXT        NOT NULL CHECK (channel IN ('email', 'sms')),
    address     TEXT        NOT NULL CHECK (address <> '' AND length(address) <= 320),
    customer_id TEXT        NOT NULL DEFAULT '',
    opted_out   BOOLEAN     NOT NULL,
    -- What caused the last change: a STOP keyword, an unsubscribe, a spam report, a
    -- hard bounce, a drop by the provider, an opt back in, or an operator.
    source      TEXT        NOT NULL CHECK (source IN (
                    'stop', 'unsubscribe', 'spamreport', 'bounce', 'dropped', 'invalid',
                    'start', 'resubscribe', 'operator')),
    -- When the provider saw the change (business time): an older event never
    -- overrides a newer one.
    changed_at  TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, address, customer_id)
);

CREATE INDEX opt_outs_customer_idx ON opt_outs (customer_id) WHERE customer_id <> '';

-- Every opt-out and opt-in as received, once per provider event: the history behind
-- opt_outs, and the de-duplication of webhook retries.
CREATE TABLE opt_out_events (
    id          BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- "<provider>:<provider event id>", e.g. "twilio:SM..." or "sendgrid:<sg_event_id>".
    event_id    TEXT        NOT NULL UNIQUE CHECK (event_id <> '' AND length(event_id) <= 300),
    channel     TEXT        NOT NULL CHECK (channel IN ('email', 'sms')),
    address     TEXT        NOT NULL CHECK (address <> '' AND length(address) <= 320),
    customer_ids TEXT[]     NOT NULL DEFAULT '{}',
    opted_out   BOOLEAN     NOT NULL,
    source      TEXT        NOT NULL CHECK (source IN (
                    'stop', 'unsubscribe', 'spamreport', 'bounce', 'dropped', 'invalid',
                    'start', 'resubscribe', 'operator')),
    at          TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX opt_out_events_address_idx ON opt_out_events (channel, address, at);

-- What the provider said became of a sent notice. A final status (delivered or a
-- permanent failure) is never replaced; a non-final one moves forward in time.
CREATE TABLE notice_deliveries (
    notice_key  TEXT        PRIMARY KEY REFERENCES notices (notice_key),
    status      TEXT        NOT NULL CHECK (status IN (
                    'queued', 'sent', 'delivered', 'bounced', 'dropped', 'undelivered', 'failed')),
    final       BOOLEAN     NOT NULL,
    error       TEXT        NOT NULL DEFAULT '' CHECK (length(error) <= 1000),
    provider_id TEXT        NOT NULL DEFAULT '',
    -- When the provider saw this status.
    at          TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (final = (status IN ('delivered', 'bounced', 'dropped', 'undelivered', 'failed')))
);

-- Delivery reports that carry only the provider's message id find their notice.
CREATE INDEX notices_provider_id_idx ON notices (channel, provider_id) WHERE provider_id <> '';

-- +goose Down
DROP INDEX notices_provider_id_idx;
DROP TABLE notice_deliveries;
DROP TABLE opt_out_events;
DROP TABLE opt_outs;
DROP TABLE contact_addresses;
