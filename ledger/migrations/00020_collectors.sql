-- Collectors' portfolios and customers' replies (docs/collectors.md).
--
-- A customer is assigned to a collector (an API key's name) by hand (PUT/DELETE
-- /v1/customers/{id}/assignee) or by the rule of its segment in segments.yaml. A hand
-- assignment wins over every rule; a hand "nobody" (collector NULL) too.
--
-- A reply is an email a customer sent to the reply-to address, as SendGrid's Inbound
-- Parse posted it: stored once per Message-ID, matched to a customer (or not) and to
-- the invoices it names. Its text is personal data: it stays here, never in the audit
-- log, Temporal or logs.

-- +goose Up
CREATE TABLE customer_assignees (
    customer_id TEXT        PRIMARY KEY CHECK (customer_id <> '' AND length(customer_id) <= 100),
    -- The collector's API key name; NULL: nobody (an operator unassigned by hand).
    collector   TEXT        CHECK (collector ~ '^[A-Za-z][A-Za-z0-9._-]{0,63}$'),
    -- 'hand': an operator chose it; 'rule': segments.yaml's rule named in rule.
    source      TEXT        NOT NULL CHECK (source IN ('hand', 'rule')),
    rule        TEXT        NOT NULL DEFAULT '' CHECK (length(rule) <= 200),
    -- Who assigned: "key:<name>", or "dunwell" for a rule.
    assigned_by TEXT        NOT NULL CHECK (assigned_by <> '' AND length(assigned_by) <= 100),
    assigned_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (source = 'hand' OR collector IS NOT NULL)
);

CREATE INDEX customer_assignees_collector_idx ON customer_assignees (collector) WHERE collector IS NOT NULL;

CREATE TABLE inbound_replies (
    reply_id     BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The Message-ID header: a redelivery of the same mail is the same reply.
    message_id   TEXT        NOT NULL UNIQUE CHECK (message_id <> '' AND length(message_id) <= 998),
    -- NULL: no customer matched; the reply waits for the team.
    customer_id  TEXT        CHECK (customer_id <> ''),
    -- How the customer was found: the reply-to tag of a message sent to them, the
    -- sender's address among the addresses they were contacted at, or nothing.
    matched_by   TEXT        NOT NULL CHECK (matched_by IN ('reply_tag', 'sender', 'none')),
    -- The customer's invoices the subject or text names.
    invoice_ids  TEXT[]      NOT NULL DEFAULT '{}',
    from_address TEXT        NOT NULL CHECK (length(from_address) <= 320),
    subject      TEXT        NOT NULL CHECK (length(subject) <= 2000),
    body         TEXT        NOT NULL CHECK (length(body) <= 20000),
    -- What the reply rules say it claims ('paid', 'disputed'), for a person to confirm.
    says         TEXT[]      NOT NULL DEFAULT '{}',
    received_at  TIMESTAMPTZ NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((customer_id IS NULL) = (matched_by = 'none'))
);

CREATE INDEX inbound_replies_customer_idx ON inbound_replies (customer_id, received_at) WHERE customer_id IS NOT NULL;

-- The reply-to tag of an email is the first 20 hex digits of the MD5 of its notice or
-- message key (notify.ReplyTag): a reply to it finds the key, and so the customer.
CREATE INDEX notices_reply_tag_idx ON notices ((left(md5(notice_key), 20)));
CREATE INDEX account_messages_reply_tag_idx ON account_messages ((left(md5(message_key), 20)));

-- +goose Down
DROP INDEX account_messages_reply_tag_idx;
DROP INDEX notices_reply_tag_idx;
DROP TABLE inbound_replies;
DROP TABLE customer_assignees;
