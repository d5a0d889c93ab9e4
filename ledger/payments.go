package ledger

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// RecordPayment stores a payment applied to an invoice and reports whether it was
// new. It is idempotent on (InvoiceID, PaymentID): a repeat changes nothing and
// returns false, and the first record wins. In the same transaction it brings
// invoices.balance_minor up to date from the rows (amount due + adjustments - applied
// payments, the invariant of migration 00003), so the invoice row shows the balance
// between status changes too. The invoice must exist (else ErrNotFound); invalid
// amounts return ErrInvalid.
func (s *Store) RecordPayment(ctx context.Context, r PaymentRecord) (bool, error) {
	const op = "record payment"
	if err := validatePayment(op, r); err != nil {
		return false, err
	}
	if _, ok := invoiceStatuses[r.Status]; r.Status != "" && !ok {
		return false, invalid(op, "invoice %s: unknown status %q", r.InvoiceID, r.Status)
	}
	var closedAt *time.Time
	closes := invoiceStatuses[r.Status]
	if closes {
		closedAt = &r.AppliedAt
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	// One statement, so one round trip and its own transaction, does what a payment
	// record and a status change (setStatusTx) do one after the other:
	//   - payment: the row, unless it is a repeat (then nothing else changes);
	//   - event: the status's invoice_events row, when the record carries a status and
	//     the event is not a repeat;
	//   - invoice: the balance from the rows (amount due + adjustments - applied
	//     payments; the statement's snapshot does not see the new payment, so it is
	//     subtracted on top; GREATEST: never negative), or, when the status is taken
	//     (a new event and no newer status stored), the status with its balance;
	//   - tasks: a closing status closes the invoice's open tasks (see
	//     closeTasksOfInvoiceTx, whose condition this repeats).
	var inserted bool
	err := s.pool.QueryRow(ctx, `
		WITH payment AS (
			INSERT INTO payments (invoice_id, payment_id, currency, amount_minor, applied_minor,
				credit_minor, balance_after_minor, paid_at, applied_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (invoice_id, payment_id) DO NOTHING
			RETURNING applied_minor
		), event AS (
			INSERT INTO invoice_events (invoice_id, status, balance_minor, at)
			SELECT $1, $10, $7, $9 FROM payment WHERE $10 <> ''
			ON CONFLICT (invoice_id, status, at) DO NOTHING
			RETURNING 1
		), invoice AS (
			UPDATE invoices i
			SET balance_minor = CASE WHEN EXISTS (SELECT 1 FROM event) AND i.status_at <= $9 THEN $7
					ELSE GREATEST(0, i.amount_due_minor
						+ COALESCE((SELECT sum(a.amount_minor) FROM adjustments a WHERE a.invoice_id = i.invoice_id), 0)
						- COALESCE((SELECT sum(p.applied_minor) FROM payments p WHERE p.invoice_id = i.invoice_id), 0)
						- (SELECT applied_minor FROM payment)) END,
				status = CASE WHEN EXISTS (SELECT 1 FROM event) AND i.status_at <= $9 THEN $10 ELSE i.status END,
				closed_at = CASE WHEN EXISTS (SELECT 1 FROM event) AND i.status_at <= $9 THEN $11 ELSE i.closed_at END,
				status_at = CASE WHEN EXISTS (SELECT 1 FROM event) AND i.status_at <= $9 THEN $9 ELSE i.status_at END,
				updated_at = now()
			WHERE i.invoice_id = $1 AND EXISTS (SELECT 1 FROM payment)
			RETURNING EXISTS (SELECT 1 FROM event) AND i.status_at = $9 AS status_taken
		), tasks AS (
			UPDATE tasks t SET status = 'closed', snoozed_until = NULL, closed_reason = $13, closed_at = $9, updated_at = now()
			WHERE $12 AND EXISTS (SELECT 1 FROM invoice WHERE status_taken)
				AND t.status IN ('open', 'snoozed') AND t.invoice_ids @> ARRAY[$1::text]
				AND (t.invoice_id = $1 OR NOT EXISTS (
					SELECT 1 FROM invoices o WHERE o.invoice_id = ANY (t.invoice_ids) AND o.invoice_id <> $1 AND o.closed_at IS NULL))
		)
		SELECT EXISTS (SELECT 1 FROM payment)`,
		r.InvoiceID, r.PaymentID, r.Currency, r.Amount, r.Applied,
		r.Credit, r.BalanceAfter, r.PaidAt, r.AppliedAt,
		r.Status, closedAt, closes, closedReason(r.Status)).Scan(&inserted)
	if err != nil {
		return false, wrap(op, err)
	}
	return inserted, nil
}

// ListPayments returns the payments applied to the invoice, in the order they were
// applied. An unknown invoice yields an empty list.
func (s *Store) ListPayments(ctx context.Context, invoiceID string) ([]PaymentRecord, error) {
	return queryRows(ctx, s, "list payments", func(row pgx.CollectableRow) (PaymentRecord, error) {
		var p PaymentRecord
		err := row.Scan(&p.InvoiceID, &p.PaymentID, &p.Currency, &p.Amount, &p.Applied,
			&p.Credit, &p.BalanceAfter, &p.PaidAt, &p.AppliedAt)
		p.PaidAt, p.AppliedAt = p.PaidAt.UTC(), p.AppliedAt.UTC()
		return p, err
	}, `
		SELECT invoice_id, payment_id, currency, amount_minor, applied_minor, credit_minor,
			balance_after_minor, paid_at, applied_at
		FROM payments WHERE invoice_id = $1 ORDER BY applied_at, payment_id`, invoiceID)
}
