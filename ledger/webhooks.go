package ledger

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// WebhookStatus is where a stored webhook event stands.
type WebhookStatus string

// Webhook event statuses.
const (
	WebhookPending WebhookStatus = "pending" // to apply, or retrying after a transient failure
	WebhookHeld    WebhookStatus = "held"    // waiting for its invoice, payment or dispute
	WebhookApplied WebhookStatus = "applied"
	WebhookParked  WebhookStatus = "parked" // an operator must look
)

// What a held webhook event waits for.
const (
	WaitInvoice  = "invoice"  // the invoice is not issued yet
	WaitWorkflow = "workflow" // the invoice is recorded but its workflow is not running yet
	WaitPayment  = "payment"  // a refund or chargeback whose payment has not arrived
	WaitDispute  = "dispute"  // a chargeback close whose opening has not been applied
	// WaitRefunds: a refund total (Stripe charge.refunded without its refunds list)
	// that the refunds applied to its payment do not cover yet.
	WaitRefunds = "refunds"
	// WaitPayments: a payment total (Stripe invoice.paid that names no payment) that
	// the payments applied through events naming them do not cover yet.
	WaitPayments = "payments"
)

// ErrWebhookConflict means the event id was already stored with a different body.
var ErrWebhookConflict = errors.New("webhook event id already stored with a different body")

// NewWebhookEvent is an accepted provider event, as the API stores it.
type NewWebhookEvent struct {
	Source    string
	EventID   string
	EventType string
	Kind      string
	InvoiceID string
	PaymentID string
	DisputeID string
	Currency  string
	Amount    int64
	// Event is the normalized event (a JSON object) the forwarder applies.
	Event      json.RawMessage
	BodySHA256 []byte
}

// WebhookEvent is a stored webhook event.
type WebhookEvent struct {
	ID            int64           `json:"id"`
	Source        string          `json:"source"`
	EventID       string          `json:"event_id"`
	EventType     string          `json:"event_type"`
	Kind          string          `json:"kind"`
	InvoiceID     string          `json:"invoice_id,omitempty"`
	PaymentID     string          `json:"payment_id,omitempty"`
	DisputeID     string          `json:"dispute_id,omitempty"`
	Currency      string          `json:"currency"`
	Amount        int64           `json:"amount_minor"`
	Event         json.RawMessage `json:"event"`
	Status        WebhookStatus   `json:"status"`
	WaitingFor    string          `json:"waiting_for,omitempty"`
	Attempts      int             `json:"attempts"`
	LastError     string          `json:"last_error,omitempty"`
	Result        json.RawMessage `json:"result,omitempty"`
	ReceivedAt    time.Time       `json:"received_at"`
	NextAttemptAt time.Time       `json:"next_attempt_at"`
	AppliedAt     *time.Time      `json:"applied_at,omitempty"`
	// RequeuedAt is when an operator last retried the parked event.
	RequeuedAt *time.Time `json:"requeued_at,omitempty"`
}

// WaitingSince is when the event's current wait began: its receipt, or the
// operator's last retry.
func (e *WebhookEvent) WaitingSince() time.Time {
	if e.RequeuedAt != nil && e.RequeuedAt.After(e.ReceivedAt) {
		return *e.RequeuedAt
	}
	return e.ReceivedAt
}

const webhookColumns = `id, source, event_id, event_type, kind, invoice_id, payment_id, dispute_id, currency,
	amount_minor, event, status, waiting_for, attempts, last_error, result, received_at, next_attempt_at, applied_at,
	requeued_at`

func scanWebhookEvent(row pgx.CollectableRow) (WebhookEvent, error) {
	var e WebhookEvent
	var result []byte
	err := row.Scan(&e.ID, &e.Source, &e.EventID, &e.EventType, &e.Kind, &e.InvoiceID, &e.PaymentID, &e.DisputeID,
		&e.Currency, &e.Amount, &e.Event, &e.Status, &e.WaitingFor, &e.Attempts, &e.LastError, &result,
		&e.ReceivedAt, &e.NextAttemptAt, &e.AppliedAt, &e.RequeuedAt)
	if len(result) > 0 {
		e.Result = result
	}
	e.ReceivedAt, e.NextAttemptAt = e.ReceivedAt.UTC(), e.NextAttemptAt.UTC()
	e.AppliedAt, e.RequeuedAt = utcPtr(e.AppliedAt), utcPtr(e.RequeuedAt)
	return e, err
}

// StoreWebhookEvent stores an accepted event as pending and reports whether it was
// new. It is idempotent on (Source, EventID): a redelivery with the same body changes
// nothing and returns false; with another body it returns ErrWebhookConflict.
func (s *Store) StoreWebhookEvent(ctx context.Context, e NewWebhookEvent) (bool, error) {
	return s.StoreWebhookEvents(ctx, []NewWebhookEvent{e})
}

// StoreWebhookEvents stores the events one provider event makes (a Checkout Session
// paying several invoices: one per invoice) in one transaction, all or none, and
// reports whether any was new. Each is idempotent as StoreWebhookEvent says.
func (s *Store) StoreWebhookEvents(ctx context.Context, events []NewWebhookEvent) (bool, error) {
	const op = "store webhook event"
	if len(events) == 0 {
		return false, invalid(op, "no event")
	}
	for _, e := range events {
		switch {
		case e.Source == "" || e.EventID == "" || e.EventType == "" || e.Kind == "":
			return false, invalid(op, "source, event id, type and kind are required")
		case len(e.BodySHA256) != 32:
			return false, invalid(op, "event %s: body hash must be 32 bytes", e.EventID)
		case e.Amount < 0:
			return false, invalid(op, "event %s: negative amount", e.EventID)
		case !json.Valid(e.Event):
			return false, invalid(op, "event %s: event is not JSON", e.EventID)
		}
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var stored bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, e := range events {
			tag, err := tx.Exec(ctx, `
				INSERT INTO webhook_events (source, event_id, event_type, kind, invoice_id, payment_id, dispute_id,
					currency, amount_minor, event, body_sha256)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
				ON CONFLICT (source, event_id) DO NOTHING`,
				e.Source, e.EventID, e.EventType, e.Kind, e.InvoiceID, e.PaymentID, e.DisputeID,
				e.Currency, e.Amount, []byte(e.Event), e.BodySHA256)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 1 {
				stored = true
				continue
			}
			var sum []byte
			if err := tx.QueryRow(ctx, `SELECT body_sha256 FROM webhook_events WHERE source = $1 AND event_id = $2`,
				e.Source, e.EventID).Scan(&sum); err != nil {
				return err
			}
			if !bytes.Equal(sum, e.BodySHA256) {
				return fmt.Errorf("%s event %s: %w", e.Source, e.EventID, ErrWebhookConflict)
			}
		}
		return nil
	})
	if err != nil {
		return false, wrap(op, err)
	}
	return stored, nil
}

// ClaimWebhookEvents takes up to limit due events and leases them for lease: nobody
// else claims them until the lease ends or the caller marks them. Due means pending or
// held with its next attempt time reached, or held for something that has now
// arrived: its invoice, its payment (in the ledger, or applied through a webhook when
// the event does not name its invoice), its chargeback's opening, the refunds that
// cover a refund total, or the payments that cover a payment total.
// Concurrent claimers (several starter processes) skip each other's rows. Attempts is
// counted here, so a crash mid-apply still counts. Oldest first.
func (s *Store) ClaimWebhookEvents(ctx context.Context, limit int, lease time.Duration) ([]WebhookEvent, error) {
	const op = "claim webhook events"
	if limit <= 0 || lease <= 0 {
		return nil, invalid(op, "limit and lease must be positive")
	}
	events, err := queryRows(ctx, s, op, scanWebhookEvent, `
		WITH due AS (
			SELECT e.id FROM webhook_events e
			WHERE e.status IN ('pending', 'held')
				AND (e.locked_until IS NULL OR e.locked_until <= now())
				AND (e.next_attempt_at <= now() OR (e.status = 'held' AND (
					-- what it waits for has arrived: no need to wait out the backoff
					(e.waiting_for = 'invoice' AND e.invoice_id <> ''
						AND EXISTS (SELECT 1 FROM invoices i WHERE i.invoice_id = e.invoice_id))
					OR (e.waiting_for = 'payment' AND e.invoice_id <> ''
						AND EXISTS (SELECT 1 FROM payments p WHERE p.invoice_id = e.invoice_id AND p.payment_id = e.payment_id))
					OR (e.waiting_for = 'payment' AND e.invoice_id = ''
						AND EXISTS (SELECT 1 FROM webhook_events o WHERE o.source = e.source AND o.payment_id = e.payment_id
							AND o.kind = 'payment' AND o.status = 'applied'))
					OR (e.waiting_for = 'dispute'
						AND EXISTS (SELECT 1 FROM webhook_events o WHERE o.source = e.source AND o.dispute_id = e.dispute_id
							AND o.kind = 'chargeback_opened' AND o.status = 'applied'))
					OR (e.waiting_for = 'refunds' AND e.invoice_id <> ''
						AND (`+refundedOnPayment("e.invoice_id", "e.payment_id")+`) >= e.amount_minor)
					OR (e.waiting_for = 'payments' AND e.invoice_id <> ''
						AND (`+paidThroughWebhooks("e.source", "e.invoice_id")+`) >= e.amount_minor))))
			ORDER BY e.received_at, e.id
			LIMIT $1
			FOR UPDATE OF e SKIP LOCKED)
		UPDATE webhook_events w
		SET locked_until = now() + $2 * interval '1 millisecond', attempts = w.attempts + 1, updated_at = now()
		FROM due WHERE w.id = due.id
		RETURNING `+prefixed("w.", webhookColumns), limit, lease.Milliseconds())
	if err != nil {
		return nil, err
	}
	sortEvents(events)
	return events, nil
}

// MarkWebhookApplied records that the event was applied to invoiceID (recorded when
// the event did not name it), with the workflow's answer.
func (s *Store) MarkWebhookApplied(ctx context.Context, id int64, invoiceID string, result json.RawMessage) error {
	if result != nil && !json.Valid(result) {
		return invalid("mark webhook applied", "event %d: result is not JSON", id)
	}
	return s.markWebhook(ctx, "mark webhook applied", `
		UPDATE webhook_events SET status = 'applied', waiting_for = '', last_error = '', result = $2,
			invoice_id = CASE WHEN $3 = '' THEN invoice_id ELSE $3 END,
			applied_at = now(), locked_until = NULL, updated_at = now()
		WHERE id = $1 AND status IN ('pending', 'held')`, id, nullJSON(result), invoiceID)
}

// MarkWebhookAppliedAudited is MarkWebhookApplied that also writes audit, in the
// same transaction and only if this call is the one that marked it applied: a
// forwarder that applies the event again after a crash writes no second entry.
func (s *Store) MarkWebhookAppliedAudited(ctx context.Context, id int64, invoiceID string, result json.RawMessage, audit AuditEntry) error {
	const op = "mark webhook applied"
	if result != nil && !json.Valid(result) {
		return invalid(op, "event %d: result is not JSON", id)
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE webhook_events SET status = 'applied', waiting_for = '', last_error = '', result = $2,
				invoice_id = CASE WHEN $3 = '' THEN invoice_id ELSE $3 END,
				applied_at = now(), locked_until = NULL, updated_at = now()
			WHERE id = $1 AND status IN ('pending', 'held')`, id, nullJSON(result), invoiceID)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		_, err = insertAudit(ctx, tx, audit)
		return err
	})
	return wrap(op, err)
}

// HoldWebhookEvent keeps the event waiting for waitingFor (WaitInvoice, ...) until
// next, with why. invoiceID, when not empty, records the invoice found for it.
func (s *Store) HoldWebhookEvent(ctx context.Context, id int64, waitingFor, invoiceID, why string, next time.Time) error {
	return s.markWebhook(ctx, "hold webhook event", `
		UPDATE webhook_events SET status = 'held', waiting_for = $2, last_error = $3, next_attempt_at = $4,
			invoice_id = CASE WHEN $5 = '' THEN invoice_id ELSE $5 END, locked_until = NULL, updated_at = now()
		WHERE id = $1 AND status IN ('pending', 'held')`, id, waitingFor, clip(why), next, invoiceID)
}

// RetryWebhookEvent puts the event back to pending after a transient failure, to be
// tried again at next.
func (s *Store) RetryWebhookEvent(ctx context.Context, id int64, why string, next time.Time) error {
	return s.markWebhook(ctx, "retry webhook event", `
		UPDATE webhook_events SET status = 'pending', waiting_for = '', last_error = $2, next_attempt_at = $3,
			locked_until = NULL, updated_at = now()
		WHERE id = $1 AND status IN ('pending', 'held')`, id, clip(why), next)
}

// ParkWebhookEvent sets the event aside for an operator, saying why. It stays listed
// by ListWebhookEvents and is never applied automatically again.
func (s *Store) ParkWebhookEvent(ctx context.Context, id int64, why string) error {
	return s.markWebhook(ctx, "park webhook event", `
		UPDATE webhook_events SET status = 'parked', last_error = $2, locked_until = NULL, updated_at = now()
		WHERE id = $1 AND status IN ('pending', 'held')`, id, clip(why))
}

// RequeueWebhookEvent sends a parked event back to the forwarder, to be tried at once
// (after an operator fixed what parked it, say issued its invoice). The wait before it
// may be parked again starts now. ErrNotFound if no parked event has that id.
//
// audit, when not nil, makes the entry that records the requeue from the requeued
// event; it is written in the same transaction, so the event goes back to the
// forwarder only with its audit entry.
func (s *Store) RequeueWebhookEvent(ctx context.Context, id int64, audit func(WebhookEvent) AuditEntry) (WebhookEvent, error) {
	const op = "requeue webhook event"
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var e WebhookEvent
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			UPDATE webhook_events SET status = 'pending', waiting_for = '', next_attempt_at = now(), requeued_at = now(),
				last_error = left('requeued by an operator; parked because: ' || last_error, 1000), locked_until = NULL, updated_at = now()
			WHERE id = $1 AND status = 'parked'
			RETURNING `+webhookColumns, id)
		if err != nil {
			return err
		}
		if e, err = pgx.CollectExactlyOneRow(rows, scanWebhookEvent); err != nil || audit == nil {
			return err
		}
		_, err = insertAudit(ctx, tx, audit(e))
		return err
	})
	return e, wrap(op, err)
}

func (s *Store) markWebhook(ctx context.Context, op, sql string, args ...any) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, sql, args...)
	return wrap(op, err)
}

// ListWebhookEvents returns up to limit events in any of statuses, oldest first.
func (s *Store) ListWebhookEvents(ctx context.Context, statuses []WebhookStatus, limit int) ([]WebhookEvent, error) {
	const op = "list webhook events"
	if limit <= 0 {
		return nil, invalid(op, "limit must be positive")
	}
	names := make([]string, len(statuses))
	for i, st := range statuses {
		names[i] = string(st)
	}
	return queryRows(ctx, s, op, scanWebhookEvent, `SELECT `+webhookColumns+` FROM webhook_events
		WHERE status = ANY($1) ORDER BY received_at, id LIMIT $2`, names, limit)
}

// GetWebhookEvent returns the stored event, or ErrNotFound.
func (s *Store) GetWebhookEvent(ctx context.Context, source, eventID string) (WebhookEvent, error) {
	return queryOne(ctx, s, "get webhook event", scanWebhookEvent,
		`SELECT `+webhookColumns+` FROM webhook_events WHERE source = $1 AND event_id = $2`, source, eventID)
}

// CountWebhookEvents counts stored events by status.
func (s *Store) CountWebhookEvents(ctx context.Context) (map[WebhookStatus]int, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT status, count(*) FROM webhook_events GROUP BY status`)
	if err != nil {
		return nil, wrap("count webhook events", err)
	}
	out := map[WebhookStatus]int{}
	var (
		st WebhookStatus
		n  int
	)
	_, err = pgx.ForEachRow(rows, []any{&st, &n}, func() error { out[st] = n; return nil })
	return out, wrap("count webhook events", err)
}

// WebhookInvoiceFor returns the invoice of the payment paymentID as an earlier event
// of source named it, or ErrNotFound. paymentID may also be a Stripe invoice's id, as
// its invoice.paid named it (a payment or a payment total).
func (s *Store) WebhookInvoiceFor(ctx context.Context, source, paymentID string) (string, error) {
	return queryOne(ctx, s, "find the invoice of payment "+paymentID, pgx.RowTo[string], `
		SELECT invoice_id FROM webhook_events
		WHERE source = $1 AND payment_id = $2 AND invoice_id <> '' AND kind IN ('payment', 'payment_total')
		ORDER BY received_at LIMIT 1`, source, paymentID)
}

// WebhookDisputeOpened reports whether an event of source opening dispute disputeID
// was applied.
func (s *Store) WebhookDisputeOpened(ctx context.Context, source, disputeID string) (bool, error) {
	return queryOne(ctx, s, "find dispute "+disputeID, pgx.RowTo[bool], `
		SELECT EXISTS (SELECT 1 FROM webhook_events WHERE source = $1 AND dispute_id = $2
			AND kind = 'chargeback_opened' AND status = 'applied')`, source, disputeID)
}

// PaymentRecorded reports whether the ledger holds payment paymentID of the invoice
// (the workflow records a payment before its update answers).
func (s *Store) PaymentRecorded(ctx context.Context, invoiceID, paymentID string) (bool, error) {
	return queryOne(ctx, s, "find payment "+paymentID, pgx.RowTo[bool],
		`SELECT EXISTS (SELECT 1 FROM payments WHERE invoice_id = $1 AND payment_id = $2)`, invoiceID, paymentID)
}

// RefundedOnPayment returns how much the refunds of the invoice's payment paymentID
// recorded in the ledger add up to, whatever their ids (refunds only: a chargeback is
// not a refund). A refund's money is what re-opened the balance plus the credit it
// took back (amount_minor - credit_minor, credit_minor being negative).
func (s *Store) RefundedOnPayment(ctx context.Context, invoiceID, paymentID string) (int64, error) {
	return queryOne(ctx, s, "sum the refunds of payment "+paymentID, pgx.RowTo[int64],
		refundedOnPayment("$1", "$2"), invoiceID, paymentID)
}

// refundedOnPayment is the query RefundedOnPayment runs and the wake condition of an
// event held for refunds (ClaimWebhookEvents), so the two never disagree.
func refundedOnPayment(invoiceID, paymentID string) string {
	return `SELECT coalesce(sum(a.amount_minor - a.credit_minor), 0)::bigint FROM adjustments a
		WHERE a.invoice_id = ` + invoiceID + ` AND a.payment_id = ` + paymentID + ` AND a.kind = 'refund'`
}

// PaidThroughWebhooks returns how much the payments of the invoice that events of
// source named add up to in the ledger, each payment once however many events named
// it (payment_intent.succeeded and charge.succeeded of one PaymentIntent, say).
func (s *Store) PaidThroughWebhooks(ctx context.Context, source, invoiceID string) (int64, error) {
	return queryOne(ctx, s, "sum the "+source+" payments of invoice "+invoiceID, pgx.RowTo[int64],
		paidThroughWebhooks("$1", "$2"), source, invoiceID)
}

// paidThroughWebhooks is the query PaidThroughWebhooks runs and the wake condition of
// an event held for payments (ClaimWebhookEvents), so the two never disagree.
func paidThroughWebhooks(source, invoiceID string) string {
	return `SELECT coalesce(sum(p.amount_minor), 0)::bigint FROM payments p
		WHERE p.invoice_id = ` + invoiceID + ` AND EXISTS (SELECT 1 FROM webhook_events o
			WHERE o.source = ` + source + ` AND o.kind = 'payment' AND o.payment_id = p.payment_id
				AND o.invoice_id = p.invoice_id)`
}

func sortEvents(events []WebhookEvent) {
	slices.SortFunc(events, func(a, b WebhookEvent) int {
		if c := a.ReceivedAt.Compare(b.ReceivedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// prefixed qualifies a comma-separated column list with a table alias.
func prefixed(alias, columns string) string {
	var b bytes.Buffer
	for i, c := range bytes.Split([]byte(columns), []byte(",")) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(alias)
		b.Write(bytes.TrimSpace(c))
	}
	return b.String()
}

func clip(s string) string {
	if len(s) > 1000 {
		s = s[:1000]
	}
	return string(bytes.ToValidUTF8([]byte(s), nil))
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return []byte(b)
}
