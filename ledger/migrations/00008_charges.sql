-- Late fees, interest and early-payment discounts are booked by the workflow as
-- adjustments (kinds late_fee, interest, discount) with a lifecycle event each; an
-- operator may move a running invoice to another policy version (policy_changed).

-- +goose Up
ALTER TABLE lifecycle_events DROP CONSTRAINT lifecycle_events_kind_check;
ALTER TABLE lifecycle_events ADD CONSTRAINT lifecycle_events_kind_check CHECK (kind IN (
    'dispute_opened', 'dispute_resolved', 'dispute_upheld',
    'promise_made', 'promise_kept', 'promise_broken',
    'plan_agreed', 'plan_completed', 'plan_broken',
    'paused', 'resumed',
    'approval_requested', 'approved', 'rejected',
    'refunded', 'adjusted', 'reopened',
    'cancelled', 'written_off', 'opted_out',
    'late_fee_charged', 'interest_charged', 'discount_taken', 'policy_changed'));

-- +goose Down
ALTER TABLE lifecycle_events DROP CONSTRAINT lifecycle_events_kind_check;
ALTER TABLE lifecycle_events ADD CONSTRAINT lifecycle_events_kind_check CHECK (kind IN (
    'dispute_opened', 'dispute_resolved', 'dispute_upheld',
    'promise_made', 'promise_kept', 'promise_broken',
    'plan_agreed', 'plan_completed', 'plan_broken',
    'paused', 'resumed',
    'approval_requested', 'approved', 'rejected',
    'refunded', 'adjusted', 'reopened',
    'cancelled', 'written_off', 'opted_out'));
