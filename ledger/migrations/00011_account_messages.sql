-- Consolidated reminders: ONE message per customer, channel and contact window,
-- listing each of the customer's invoices whose reminder fell due in that window. The
-- customer's account workflow (customer-<id>) sends it through
-- activities.SendAccountMessage, exactly once per message key, with the same claim /
-- reconcile / complete machinery as single notices.
--
-- Each invoice step a message covered gets its own row in notices (key
-- <invoice>/<step>/<channel>, status 'sent', the message's provider id) naming the
-- message in message_key: "reminded at step X by message M". Reports that count
-- notices (step effectiveness) so count each invoice's step once.

-- +goose Up
CREATE TABLE account_messages (
    -- <customer>/<channel>/<customer-local day>/<n>: the n-th message of that window.
    message_key  TEXT        PRIMARY KEY CHECK (message_key <> '' AND length(message_key) <= 400),
    customer_id  TEXT        NOT NULL CHECK (customer_id <> ''),
    channel      TEXT        NOT NULL CHECK (channel IN ('email', 'sms')),
    -- The contact window: the customer's local day ("2026-12-07").
    window_day   DATE        NOT NULL,
    status       TEXT        NOT NULL CHECK (status IN ('sending', 'sent', 'failed')),
    provider_id  TEXT        NOT NULL DEFAULT '',
    error        TEXT        NOT NULL DEFAULT '',
    -- The invoice steps the message lists, fixed by the first claim so every retry
    -- renders the same text: [{"invoice_id": "...", "step": "..."}].
    covered      JSONB       NOT NULL DEFAULT '[]',
    -- The invoice steps the first claim left out and why (paid, disputed, promised,
    -- paused, handed off...): [{"invoice_id": "...", "step": "...", "reason": "..."}].
    left_out     JSONB       NOT NULL DEFAULT '[]',
    attempts     INTEGER     NOT NULL CHECK (attempts >= 1),
    claimed_at   TIMESTAMPTZ NOT NULL,
    sent_at      TIMESTAMPTZ,
    updated_at   TIMESTAMPTZ NOT NULL,
    CHECK (status <> 'sent' OR sent_at IS NOT NULL)
);

CREATE INDEX account_messages_customer_idx ON account_messages (customer_id, claimed_at);

ALTER TABLE notices ADD COLUMN message_key TEXT REFERENCES account_messages (message_key);
CREATE INDEX notices_message_idx ON notices (message_key) WHERE message_key IS NOT NULL;

-- +goose Down
DROP INDEX notices_message_idx;
ALTER TABLE notices DROP COLUMN message_key;
DROP TABLE account_messages;
