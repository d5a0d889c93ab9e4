package ledger

import (
	"context"

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
	return s.recordTx(ctx, op, func(ctx context.Context, tx pgx.Tx) (bool, error) {
		// One statement: the payment and the invoice's balance, unless the payment is a
		// repeat (the first record already updated the balance). The balance's sum of
		// payments reads the table as it was before the statement, so the new payment is
		// added to it. GREATEST: the column never goes negative, whatever a caller
		// recorded.
		tag, err := tx.Exec(ctx, `
			WITH payment AS (
				INSERT INTO payments (invoice_id, payment_id, currency, amount_minor, applied_minor,
					credit_minor, balance_after_minor, paid_at, applied_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
				ON CONFLICT (invoice_id, payment_id) DO NOTHING
				RETURNING applied_minor
			)
			UPDATE invoices i
			SET balance_minor = GREATEST(0, i.amount_due_minor
				+ COALESCE((SELECT sum(a.amount_minor) FROM adjustments a WHERE a.invoice_id = i.invoice_id), 0)
				- COALESCE((SELECT sum(p.applied_minor) FROM payments p WHERE p.invoice_id = i.invoice_id), 0)
				- (SELECT applied_minor FROM payment)),
				updated_at = now()
			WHERE i.invoice_id = $1 AND EXISTS (SELECT 1 FROM payment)`,
			r.InvoiceID, r.PaymentID, r.Currency, r.Amount, r.Applied,
			r.Credit, r.BalanceAfter, r.PaidAt, r.AppliedAt)
		if err != nil || tag.RowsAffected() == 0 {
			return false, err // a repeat: the first record already updated the balance
		}
		if r.Status == "" {
			return true, nil
		}
		return true, setStatusTx(ctx, tx, r.InvoiceID, r.Status, r.BalanceAfter, r.AppliedAt, invoiceStatuses[r.Status])
	})
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
