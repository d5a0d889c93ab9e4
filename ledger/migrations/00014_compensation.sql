-- Statutory late-payment terms: the fixed compensation for recovery costs (Directive
-- 2011/7/EU art. 6, the UK Late Payment Act s.5A) is booked by the workflow as an
-- adjustment of its own kind, compensation, with a compensation_charged lifecycle
-- event, once per invoice.

-- +goose Up
ALTER TABLE adjustments DROP CONSTRAINT adjustments_kind_check;
ALTER TABLE adjustments ADD CONSTRAINT adjustments_kind_check CHECK (kind IN (
    'refund', 'chargeback', 'adjustment', 'credit_note',
    'write_off', 'void', 'late_fee', 'interest', 'discount', 'compensation'));
ALTER TABLE lifecycle_events DROP CONSTRAINT lifecycle_events_kind_check;
ALTER TABLE lifecycle_events ADD CONSTRAINT lifecycle_events_kind_check CHECK (kind IN (
    'dispute_opened', 'dispute_resolved', 'dispute_upheld',
    'promise_made', 'promise_kept', 'promise_broken',
    'plan_agreed', 'plan_completed', 'plan_broken',
    'paused', 'resumed',
    'approval_requested', 'approved', 'rejected',
    'refunded', 'adjusted', 'reopened',
    'cancelled', 'written_off', 'opted_out',
    'late_fee_charged', 'interest_charged', 'discount_taken', 'policy_changed',
    'due_date_changed', 'compensation_charged'));

-- +goose Down
ALTER TABLE lifecycle_events DROP CONSTRAINT lifecycle_events_kind_check;
ALTER TABLE lifecycle_events ADD CONSTRAINT lifecycle_events_kind_check CHECK (kind IN (
    'dispute_opened', 'dispute_resolved', 'dispute_upheld',
    'promise_made', 'promise_kept', 'promise_broken',
    'plan_agreed', 'plan_completed', 'plan_broken',
    'paused', 'resumed',
    'approval_requested', 'approved', 'rejected',
    'refunded', 'adjusted', 'reopened',
    'cancelled', 'written_off', 'opted_out',
    'late_fee_charged', 'interest_charged', 'discount_taken', 'policy_changed',
    'due_date_changed'));
ALTER TABLE adjustments DROP CONSTRAINT adjustments_kind_check;
ALTER TABLE adjustments ADD CONSTRAINT adjustments_kind_check CHECK (kind IN (
    'refund', 'chargeback', 'adjustment', 'credit_note',
    'write_off', 'void', 'late_fee', 'interest', 'discount'));
