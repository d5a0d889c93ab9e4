package ledger

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// RecordEscalation queues the invoice's hand-off (status "pending") for the agency
// or legal integration and reports whether it was new. An invoice is handed off at
// most once: a repeat changes nothing and returns false. The invoice must exist
// (else ErrNotFound); invalid input returns ErrInvalid.
func (s *Store) RecordEscalation(ctx context.Context, r EscalationRecord) (bool, error) {
	const op = "record escalation"
	if err := validateEscalation(op, r); err != nil {
		return false, err
	}
	due, _ := parseDate(op, r.DueDate) // validated above
	return s.recordTx(ctx, op, func(ctx context.Context, tx pgx.Tx) (bool, error) {
		tag, err := tx.Exec(ctx, `
			INSERT INTO escalations (invoice_id, customer_id, target, currency, balance_minor,
				due_date, escalated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (invoice_id) DO NOTHING`,
			r.InvoiceID, r.CustomerID, r.Target, r.Currency, r.Balance, due, r.EscalatedAt)
		if err != nil {
			return false, err
		}
		inserted := tag.RowsAffected() == 1
		if !r.SetStatus {
			return inserted, nil
		}
		return inserted, setStatusTx(ctx, tx, r.InvoiceID, StatusEscalated, r.Balance, r.EscalatedAt, false)
	})
}

// GetEscalation returns the invoice's hand-off, or ErrNotFound.
func (s *Store) GetEscalation(ctx context.Context, invoiceID string) (Escalation, error) {
	return queryOne(ctx, s, "get escalation "+invoiceID, func(row pgx.CollectableRow) (Escalation, error) {
		var (
			e   Escalation
			due time.Time
		)
		err := row.Scan(&e.InvoiceID, &e.CustomerID, &e.Target, &e.Currency, &e.Balance, &due,
			&e.EscalatedAt, &e.Status, &e.RecordedAt)
		e.DueDate = due.Format(dateLayout)
		e.EscalatedAt, e.RecordedAt = e.EscalatedAt.UTC(), e.RecordedAt.UTC()
		return e, err
	}, `
		SELECT invoice_id, customer_id, target, currency, balance_minor, due_date,
			escalated_at, status, recorded_at
		FROM escalations WHERE invoice_id = $1`, invoiceID)
}
