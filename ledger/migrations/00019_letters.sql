-- Letters: the dunning letters of policy steps on the channel 'letter'. One row per
-- invoice and step (letter_key <invoice>/<step>/letter), claimed before the
-- print-and-mail provider is called, like a notice. Without a provider the letter
-- waits here for an operator ('to_print'), who prints and mails it and says so
-- ('mailed'). The PDF carries the customer's postal address: personal data, kept in
-- PostgreSQL only.

-- +goose Up
CREATE TABLE letters (
    id          BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    letter_key  TEXT        NOT NULL UNIQUE CHECK (letter_key <> '' AND length(letter_key) <= 400),
    invoice_id  TEXT        NOT NULL REFERENCES invoices (invoice_id),
    customer_id TEXT        NOT NULL CHECK (customer_id <> ''),
    step        TEXT        NOT NULL CHECK (step <> ''),
    template    TEXT        NOT NULL CHECK (template <> ''),
    -- sending: claimed, the provider may have it; sent: the provider took it;
    -- to_print: in the outbox for an operator; mailed: an operator mailed it;
    -- failed: refused by the provider or withheld (error says why).
    status      TEXT        NOT NULL CHECK (status IN ('sending', 'sent', 'to_print', 'mailed', 'failed')),
    provider_id TEXT        NOT NULL DEFAULT '',
    error       TEXT        NOT NULL DEFAULT '',
    pdf         BYTEA       NOT NULL CHECK (length(pdf) > 0),
    attempts    INTEGER     NOT NULL CHECK (attempts >= 1),
    claimed_at  TIMESTAMPTZ NOT NULL,
    sent_at     TIMESTAMPTZ,
    mailed_at   TIMESTAMPTZ,
    mailed_by   TEXT        NOT NULL DEFAULT '' CHECK (length(mailed_by) <= 200),
    updated_at  TIMESTAMPTZ NOT NULL,
    CHECK (status NOT IN ('sent', 'mailed') OR sent_at IS NOT NULL),
    CHECK ((status = 'mailed') = (mailed_at IS NOT NULL))
);

CREATE INDEX letters_invoice_idx ON letters (invoice_id);
CREATE INDEX letters_status_idx ON letters (status, claimed_at);

-- +goose Down
DROP TABLE letters;
