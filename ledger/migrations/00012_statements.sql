-- Account statements emailed to customers. One row per customer and period (the
-- statement date): the claim taken before the provider is called, so a statement
-- goes out at most once per period whatever crashes or retries, and the record of
-- the last statement sent, whose date starts the next statement's activity.

-- +goose Up
CREATE TABLE statements (
    -- statement/<customer>/<as_of>: also the custom arg the email carries, so an
    -- interrupted send is found at the provider before sending again.
    statement_key TEXT        PRIMARY KEY CHECK (statement_key <> ''),
    customer_id   TEXT        NOT NULL CHECK (customer_id <> ''),
    -- The statement date: everything up to its end is on the statement.
    as_of         DATE        NOT NULL,
    -- The first day of the activity shown; NULL: from the beginning of the account.
    since         DATE,
    channel       TEXT        NOT NULL CHECK (channel IN ('email')),
    address       TEXT        NOT NULL CHECK (address <> '' AND length(address) <= 320),
    status        TEXT        NOT NULL CHECK (status IN ('sending', 'sent', 'failed')),
    provider_id   TEXT        NOT NULL DEFAULT '',
    error         TEXT        NOT NULL DEFAULT '' CHECK (length(error) <= 1000),
    attempts      INTEGER     NOT NULL CHECK (attempts >= 1),
    claimed_at    TIMESTAMPTZ NOT NULL,
    sent_at       TIMESTAMPTZ,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (customer_id, as_of),
    CHECK (status <> 'sent' OR sent_at IS NOT NULL)
);

-- The last statement sent to a customer before a date.
CREATE INDEX statements_sent_idx ON statements (customer_id, as_of) WHERE status = 'sent';

-- +goose Down
DROP TABLE statements;
