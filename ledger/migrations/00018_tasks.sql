-- Tasks for people (docs/collectors.md): a call a policy step asks a collector to make,
-- a customer's reply to read, a letter to print. A task belongs to a customer and,
-- usually, to invoices; a call task to the one invoice whose workflow waits for its
-- outcome.
--
-- Exactly once: task_key is the business key of what made the task ("call:<invoice>/
-- <step>", "reply:<inbound message id>"); a second creation under it returns the first.
-- A task's note may hold personal data: it stays here, never in the audit log's
-- details.

-- +goose Up
CREATE TABLE tasks (
    task_id        BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_key       TEXT        NOT NULL UNIQUE CHECK (task_key <> '' AND length(task_key) <= 300),
    kind           TEXT        NOT NULL CHECK (kind IN ('call', 'reply', 'letter')),
    customer_id    TEXT        NOT NULL CHECK (customer_id <> '' AND length(customer_id) <= 128),
    -- The invoice whose workflow waits for the outcome (call tasks); NULL for a task
    -- about the customer or several invoices.
    invoice_id     TEXT        REFERENCES invoices (invoice_id),
    -- Every invoice the task concerns, invoice_id among them when set.
    invoice_ids    TEXT[]      NOT NULL DEFAULT '{}',
    status         TEXT        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'snoozed', 'done', 'closed')),
    -- The collector it is for ('' unassigned).
    assignee       TEXT        NOT NULL DEFAULT '' CHECK (length(assignee) <= 100),
    title          TEXT        NOT NULL DEFAULT '' CHECK (length(title) <= 300),
    -- The policy step that made a call task.
    step           TEXT        NOT NULL DEFAULT '' CHECK (length(step) <= 100),
    -- What the collector needs of this kind of task (a call: the phone number, the
    -- voicemail script).
    details        JSONB       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    -- When the invoice stops waiting for the outcome (a call step's timeout).
    due_at         TIMESTAMPTZ,
    snoozed_until  TIMESTAMPTZ,
    outcome        TEXT        NOT NULL DEFAULT '' CHECK (length(outcome) <= 40),
    note           TEXT        NOT NULL DEFAULT '' CHECK (length(note) <= 4000),
    promise_date   DATE,
    promise_amount_minor BIGINT CHECK (promise_amount_minor > 0),
    -- Who completed it ("key:<name>").
    completed_by   TEXT        NOT NULL DEFAULT '' CHECK (length(completed_by) <= 200),
    completed_at   TIMESTAMPTZ,
    -- A call task's outcome reached its invoice's workflow (NULL: not yet).
    delivered_at   TIMESTAMPTZ,
    closed_reason  TEXT        NOT NULL DEFAULT '' CHECK (length(closed_reason) <= 500),
    closed_at      TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((status = 'done') = (completed_at IS NOT NULL AND outcome <> '')),
    CHECK ((status = 'snoozed') = (snoozed_until IS NOT NULL)),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL AND closed_reason <> ''))
);

CREATE INDEX tasks_status_idx ON tasks (status, assignee);
CREATE INDEX tasks_customer_idx ON tasks (customer_id, created_at);
CREATE INDEX tasks_invoice_idx ON tasks (invoice_id) WHERE invoice_id IS NOT NULL;
CREATE INDEX tasks_invoices_idx ON tasks USING GIN (invoice_ids);

-- A customer may opt out of calls (channel 'call', the address is the phone), and a
-- collector's "wrong number" marks a phone bad for SMS and calls.
ALTER TABLE opt_outs DROP CONSTRAINT opt_outs_channel_check;
ALTER TABLE opt_outs ADD CONSTRAINT opt_outs_channel_check CHECK (channel IN ('email', 'sms', 'call'));
ALTER TABLE opt_out_events DROP CONSTRAINT opt_out_events_channel_check;
ALTER TABLE opt_out_events ADD CONSTRAINT opt_out_events_channel_check CHECK (channel IN ('email', 'sms', 'call'));
ALTER TABLE opt_outs DROP CONSTRAINT opt_outs_source_check;
ALTER TABLE opt_outs ADD CONSTRAINT opt_outs_source_check CHECK (source IN (
    'stop', 'unsubscribe', 'spamreport', 'bounce', 'dropped', 'invalid',
    'start', 'resubscribe', 'operator', 'portal', 'wrong_number'));
ALTER TABLE opt_out_events DROP CONSTRAINT opt_out_events_source_check;
ALTER TABLE opt_out_events ADD CONSTRAINT opt_out_events_source_check CHECK (source IN (
    'stop', 'unsubscribe', 'spamreport', 'bounce', 'dropped', 'invalid',
    'start', 'resubscribe', 'operator', 'portal', 'wrong_number'));

-- +goose Down
-- Fails while 'call' or 'wrong_number' rows exist, rather than deleting them.
ALTER TABLE opt_out_events DROP CONSTRAINT opt_out_events_source_check;
ALTER TABLE opt_out_events ADD CONSTRAINT opt_out_events_source_check CHECK (source IN (
    'stop', 'unsubscribe', 'spamreport', 'bounce', 'dropped', 'invalid',
    'start', 'resubscribe', 'operator', 'portal'));
ALTER TABLE opt_outs DROP CONSTRAINT opt_outs_source_check;
ALTER TABLE opt_outs ADD CONSTRAINT opt_outs_source_check CHECK (source IN (
    'stop', 'unsubscribe', 'spamreport', 'bounce', 'dropped', 'invalid',
    'start', 'resubscribe', 'operator', 'portal'));
ALTER TABLE opt_out_events DROP CONSTRAINT opt_out_events_channel_check;
ALTER TABLE opt_out_events ADD CONSTRAINT opt_out_events_channel_check CHECK (channel IN ('email', 'sms'));
ALTER TABLE opt_outs DROP CONSTRAINT opt_outs_channel_check;
ALTER TABLE opt_outs ADD CONSTRAINT opt_outs_channel_check CHECK (channel IN ('email', 'sms'));
DROP TABLE tasks;
