-- A customer's channel order: which message channel a reminder tries first when its
-- policy step offers several (docs/portal.md). The customer chooses it on the portal,
-- an operator through PUT /v1/customers/{id}/contact-preferences; the invoice
-- workflow reads it at each such step. Opt-outs stay in opt_outs: this only orders
-- the channels the customer may still be reached on. The history of changes is the
-- audit log (portal.preferences, customer.contact_preferences).

-- +goose Up
CREATE TABLE contact_preferences (
    customer_id   TEXT        PRIMARY KEY CHECK (customer_id <> '' AND length(customer_id) <= 128),
    -- Most wanted first: ['sms', 'email'] tries SMS before email.
    channel_order TEXT[]      NOT NULL CHECK (cardinality(channel_order) BETWEEN 1 AND 2
                                          AND channel_order <@ ARRAY['email', 'sms']),
    source        TEXT        NOT NULL CHECK (source IN ('portal', 'operator')),
    -- Who: "customer:link-<id>" or "key:<api key name>".
    changed_by    TEXT        NOT NULL CHECK (changed_by <> '' AND length(changed_by) <= 200),
    changed_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE contact_preferences;
