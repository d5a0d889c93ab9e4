-- Indexes for the collections reports (package reports, docs/kpis.md).
--
-- Every report computes balances from the rows as of a moment t:
--   balance(t) = amount_due + sum(adjustments.amount_minor, at < t)
--                           - sum(payments.applied_minor, paid_at < t)
-- for the invoices issued before t that were not closed before t (a closed invoice
-- holds a zero balance). The indexes below let PostgreSQL find those invoices and sum
-- their rows with index-only scans, and find the rows of a period by time.

-- +goose Up
-- Invoices open at t: closed_at IS NULL (btree indexes NULLs) or closed_at >= t.
CREATE INDEX invoices_closed_at_idx ON invoices (closed_at);
-- The cohort of a period: invoices issued in it.
CREATE INDEX invoices_issued_at_idx ON invoices (issued_at);
-- Per-invoice sums as of t (index-only).
CREATE INDEX payments_invoice_paid_idx ON payments (invoice_id, paid_at) INCLUDE (applied_minor);
CREATE INDEX adjustments_invoice_at_idx ON adjustments (invoice_id, at) INCLUDE (kind, amount_minor);
-- Cash collected in a period.
CREATE INDEX payments_paid_at_idx ON payments (paid_at) INCLUDE (invoice_id, applied_minor);
-- Reminders sent in a period (step effectiveness) and a customer's last contact.
CREATE INDEX notices_sent_at_idx ON notices (sent_at) WHERE status = 'sent';
-- A customer's opt-outs.
CREATE INDEX lifecycle_events_opted_out_idx ON lifecycle_events (invoice_id, at) WHERE kind = 'opted_out';

-- +goose Down
DROP INDEX lifecycle_events_opted_out_idx;
DROP INDEX notices_sent_at_idx;
DROP INDEX payments_paid_at_idx;
DROP INDEX adjustments_invoice_at_idx;
DROP INDEX payments_invoice_paid_idx;
DROP INDEX invoices_issued_at_idx;
DROP INDEX invoices_closed_at_idx;
