-- A Stripe charge.refunded without its refunds list (API versions since 2022-11-15)
-- is stored as kind refund_total: a statement of what the refunds of its payment add
-- up to so far. It moves no money. It waits (waiting_for refunds) until the refunds
-- applied to the payment cover it, and is parked for an operator if they never do.

-- +goose Up
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_kind_check;
ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_kind_check
    CHECK (kind IN ('payment', 'refund', 'refund_total', 'chargeback_opened', 'chargeback_closed'));
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_waiting_for_check;
ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_waiting_for_check
    CHECK (waiting_for IN ('', 'invoice', 'workflow', 'payment', 'dispute', 'refunds'));

-- +goose Down
-- Fails while refund_total rows exist, rather than deleting stored events.
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_waiting_for_check;
ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_waiting_for_check
    CHECK (waiting_for IN ('', 'invoice', 'workflow', 'payment', 'dispute'));
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_kind_check;
ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_kind_check
    CHECK (kind IN ('payment', 'refund', 'chargeback_opened', 'chargeback_closed'));
