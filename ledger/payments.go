package ledger

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// RecordPayment stores a payment applied to an invoice and reports whether it was
// new. It is idempotent on (InvoiceID, PaymentID): a repeat changes nothing and
// returns false, and the first record wins. The invoice must exist (else
// ErrNotFound); invalid amounts return ErrInvalid.
func (s *Store) RecordPayment(ctx context.Context, r PaymentRecord) (bool, error) {
	const op = "record payment"
	if err := validatePayment(op, r); err != nil {
		return false, err
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO payments (invoice_id, payment_id, currency, amount_minor, applied_minor,
			credit_minor, balance_after_minor, paid_at, applied_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (invoice_id, payment_id) DO NOTHING`,
		r.InvoiceID, r.PaymentID, r.Currency, r.Amount, r.Applied,
		r.Credit, r.BalanceAfter, r.PaidAt, r.AppliedAt)
	if err != nil {
		return false, wrap(op, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ListPayments returns the payments applied to the invoice, in the order they were
// applied. An unknown invoice yields an empty list.
func (s *Store) ListPayments(ctx context.Context, invoiceID string) ([]PaymentRecord, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `
		SELECT invoice_id, payment_id, currency, amount_minor, applied_minor, credit_minor,
			balance_after_minor, paid_at, applied_at
		FROM payments WHERE invoice_id = $1 ORDER BY applied_at, payment_id`, invoiceID)
	if err != nil {
		return nil, wrap("list payments", err)
	}
	payments, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (PaymentRecord, error) {
		var p PaymentRecord
		err := row.Scan(&p.InvoiceID, &p.PaymentID, &p.Currency, &p.Amount, &p.Applied,
			&p.Credit, &p.BalanceAfter, &p.PaidAt, &p.AppliedAt)
		p.PaidAt, p.AppliedAt = p.PaidAt.UTC(), p.AppliedAt.UTC()
		return p, err
	})
	return payments, wrap("list payments", err)
}
