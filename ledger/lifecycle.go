package ledger

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
)

// Adjustment is a change of an invoice's balance that is not a payment.
type Adjustment struct {
	AdjustmentID string `json:"adjustment_id"`
	// Kind: refund, chargeback, adjustment, credit_note, write_off, void, late_fee,
	// interest, discount or compensation.
	Kind     string `json:"kind"`
	Currency string `json:"currency"`
	// Amount is the effect on the balance (positive re-opens or raises it); Credit the
	// effect on the customer's credit.
	Amount       int64     `json:"amount_minor"`
	Credit       int64     `json:"credit_minor"`
	BalanceAfter int64     `json:"balance_after_minor"`
	PaymentID    string    `json:"payment_id,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	Actor        string    `json:"actor,omitempty"`
	At           time.Time `json:"at"`
}

// LifecycleEvent is one operator or customer event on an invoice, with the status it
// leaves the invoice in.
type LifecycleEvent struct {
	InvoiceID string `json:"invoice_id"`
	// EventKey is unique per invoice; the workflow derives it so retries repeat it.
	EventKey string `json:"event_key"`
	// Kind is one of the lifecycle_events kinds (dispute_opened, promise_broken, ...).
	Kind    string         `json:"kind"`
	Reason  string         `json:"reason,omitempty"`
	Actor   string         `json:"actor,omitempty"`
	Details map[string]any `json:"details,omitempty"`
	At      time.Time      `json:"at"`
	// Status and Balance are the invoice's after the event.
	Status  string `json:"status"`
	Balance int64  `json:"balance_minor"`
	// Adjustment is the money change the event made, if any.
	Adjustment *Adjustment `json:"adjustment,omitempty"`
	// PolicyID and PolicyVersion, when set, are the policy the invoice runs under
	// from now on (a policy_changed event).
	PolicyID      string `json:"policy_id,omitempty"`
	PolicyVersion int    `json:"policy_version,omitempty"`
	// DueDate (YYYY-MM-DD), when set, is the invoice's new due date.
	DueDate string `json:"due_date,omitempty"`
}

// RecordEvent stores a lifecycle event, its adjustment and the invoice's new status in
// one transaction, and reports whether it was new. It is idempotent on (InvoiceID,
// EventKey): a repeat changes nothing. The invoice must exist (else ErrNotFound).
func (s *Store) RecordEvent(ctx context.Context, e LifecycleEvent) (bool, error) {
	const op = "record event"
	closes, ok := invoiceStatuses[e.Status]
	switch {
	case e.InvoiceID == "" || e.EventKey == "":
		return false, invalid(op, "empty invoice id or event key")
	case !ok:
		return false, invalid(op, "invoice %s: unknown status %q", e.InvoiceID, e.Status)
	case e.Balance < 0:
		return false, invalid(op, "invoice %s: negative balance %d", e.InvoiceID, e.Balance)
	case e.At.IsZero():
		return false, invalid(op, "invoice %s: time is zero", e.InvoiceID)
	}
	details := e.Details
	if details == nil {
		details = map[string]any{}
	}
	detailsJSON, err := json.Marshal(details)
	if err != nil {
		return false, invalid(op, "invoice %s: details: %v", e.InvoiceID, err)
	}
	var closedAt *time.Time
	if closes {
		closedAt = &e.At
	}
	return s.recordTx(ctx, op, func(ctx context.Context, tx pgx.Tx) (bool, error) {
		tag, err := tx.Exec(ctx, `
			INSERT INTO lifecycle_events (invoice_id, event_key, kind, reason, actor, details, at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (invoice_id, event_key) DO NOTHING`,
			e.InvoiceID, e.EventKey, e.Kind, e.Reason, e.Actor, detailsJSON, e.At)
		if err != nil || tag.RowsAffected() == 0 {
			return false, err // a repeat: the first application recorded everything
		}
		if a := e.Adjustment; a != nil {
			if _, err := tx.Exec(ctx, `
				INSERT INTO adjustments (invoice_id, adjustment_id, kind, currency, amount_minor,
					credit_minor, balance_after_minor, payment_id, reason, actor, at, event_key)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
				ON CONFLICT (invoice_id, adjustment_id) DO NOTHING`,
				e.InvoiceID, a.AdjustmentID, a.Kind, a.Currency, a.Amount, a.Credit,
				a.BalanceAfter, a.PaymentID, a.Reason, a.Actor, a.At, e.EventKey); err != nil {
				return true, err
			}
		}
		if e.DueDate != "" {
			if _, err := tx.Exec(ctx, `UPDATE invoices SET due_date = $2, updated_at = now() WHERE invoice_id = $1`,
				e.InvoiceID, e.DueDate); err != nil {
				return true, err
			}
		}
		if e.PolicyID != "" {
			if _, err := tx.Exec(ctx, `
				UPDATE invoices SET policy_id = $2, policy_version = $3, updated_at = now()
				WHERE invoice_id = $1`, e.InvoiceID, e.PolicyID, e.PolicyVersion); err != nil {
				return true, err
			}
		}
		// Not setStatusTx, which leaves the invoice row alone when the status trail
		// already has (status, at): a new event at the instant of an earlier one (two
		// in one workflow task share its time) still carries the later balance.
		if _, err := tx.Exec(ctx, `
			INSERT INTO invoice_events (invoice_id, status, balance_minor, at)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (invoice_id, status, at) DO NOTHING`,
			e.InvoiceID, e.Status, e.Balance, e.At); err != nil {
			return true, err
		}
		tag, err = tx.Exec(ctx, `
			UPDATE invoices
			SET status = $2, balance_minor = $3, status_at = $4, closed_at = $5, updated_at = now()
			WHERE invoice_id = $1 AND status_at <= $4`,
			e.InvoiceID, e.Status, e.Balance, e.At, closedAt)
		if err != nil || closedAt == nil || tag.RowsAffected() == 0 {
			return true, err
		}
		_, err = closeTasksOfInvoiceTx(ctx, tx, e.InvoiceID, closedReason(e.Status), e.At)
		return true, err
	})
}

// ListAdjustments returns the invoice's adjustments in time order.
func (s *Store) ListAdjustments(ctx context.Context, invoiceID string) ([]Adjustment, error) {
	return queryRows(ctx, s, "list adjustments", func(row pgx.CollectableRow) (Adjustment, error) {
		var a Adjustment
		err := row.Scan(&a.AdjustmentID, &a.Kind, &a.Currency, &a.Amount, &a.Credit, &a.BalanceAfter,
			&a.PaymentID, &a.Reason, &a.Actor, &a.At)
		a.At = a.At.UTC()
		return a, err
	}, `
		SELECT adjustment_id, kind, currency, amount_minor, credit_minor, balance_after_minor,
			payment_id, reason, actor, at
		FROM adjustments WHERE invoice_id = $1 ORDER BY at, recorded_at, adjustment_id`, invoiceID)
}

// ListLifecycleEvents returns the invoice's lifecycle events in time order (without
// Status, Balance and Adjustment, which live in their own tables).
func (s *Store) ListLifecycleEvents(ctx context.Context, invoiceID string) ([]LifecycleEvent, error) {
	return queryRows(ctx, s, "list lifecycle events", func(row pgx.CollectableRow) (LifecycleEvent, error) {
		var e LifecycleEvent
		err := row.Scan(&e.InvoiceID, &e.EventKey, &e.Kind, &e.Reason, &e.Actor, &e.Details, &e.At)
		e.At = e.At.UTC()
		return e, err
	}, `
		SELECT invoice_id, event_key, kind, reason, actor, details, at
		FROM lifecycle_events WHERE invoice_id = $1 ORDER BY at, recorded_at, event_key`, invoiceID)
}
