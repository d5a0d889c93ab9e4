-- A Stripe invoice.paid from API version 2025-03-31 names no payment (the invoice's
-- payments are left out of event payloads), so it is stored as kind payment_total: a
-- statement of what the Stripe payments of the invoice add up to. It moves no money.
-- It waits (waiting_for payments) until the payments applied through events that name
-- them cover it, and is parked for an operator if they never do.

-- +goose Up
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_kind_check;
ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_kind_check
    CHECK (kind IN ('payment', 'payment_total', 'refund', 'refund_total', 'chargeback_opened', 'chargeback_closed'));
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_waiting_for_check;
ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_waiting_for_check
    CHECK (waiting_for IN ('', 'invoice', 'workflow', 'payment', 'payments', 'dispute', 'refunds'));

-- +goose Down
-- Fails while payment_total rows exist, rather than deleting stored events.
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_waiting_for_check;
ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_waiting_for_check
    CHECK (waiting_for IN ('', 'invoice', 'workflow', 'payment', 'dispute', 'refunds'));
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_kind_check;
ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_kind_check
    CHECK (kind IN ('payment', 'refund', 'refund_total', 'chargeback_opened', 'chargeback_closed'));
