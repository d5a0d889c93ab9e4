package ledger

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// IssueInvoice stores a new invoice with status "open" and its balance equal to the
// amount due, and starts its status trail. It is idempotent: if the invoice id exists
// with the same BodySHA256 it returns IssueExisting and changes nothing; with a
// different hash it returns ErrInvoiceConflict. Invalid input returns ErrInvalid.
func (s *Store) IssueInvoice(ctx context.Context, r InvoiceRecord) (IssueOutcome, error) {
	return s.IssueInvoiceAudited(ctx, r, nil)
}

// IssueInvoiceAudited is IssueInvoice that also writes audit(outcome) to the audit
// trail in the same transaction, for a new invoice and for a repeat alike: an invoice
// is never recorded without its entry, and an entry that cannot be written (invalid,
// or refused by the database) leaves no invoice and returns the error. A conflict
// writes nothing. A nil audit writes no entry.
//
// A new invoice, the common case, is one statement (issueNew): one round trip to the
// database. A repeat, a conflict, or an entry for a new invoice that does not pass its
// checks take the transaction of issueTx.
func (s *Store) IssueInvoiceAudited(ctx context.Context, r InvoiceRecord, audit func(IssueOutcome) AuditEntry) (IssueOutcome, error) {
	const op = "issue invoice"
	if err := validateInvoice(op, r); err != nil {
		return 0, err
	}
	due, _ := parseDate(op, r.DueDate) // validated above
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	entry := make([]any, 8) // no entry: all NULL, and none is written
	writeEntry := audit != nil
	if writeEntry {
		var err error
		if entry, err = auditValues(op, audit(IssueCreated)); err != nil {
			return s.issueTx(ctx, op, r, due, audit) // it answers the entry's error
		}
	}
	created, err := s.issueNew(ctx, r, due, writeEntry, entry)
	if err != nil {
		return 0, wrap(op, err)
	}
	if created {
		return IssueCreated, nil
	}
	return s.issueTx(ctx, op, r, due, audit)
}

// issueNew stores a new invoice, its first event, the customer's profile and, if
// writeEntry, the audit entry of auditValues entry, in one statement, and reports
// whether the invoice was new; an invoice id stored before writes nothing.
func (s *Store) issueNew(ctx context.Context, r InvoiceRecord, due time.Time, writeEntry bool, entry []any) (bool, error) {
	args := append([]any{r.InvoiceID, r.CustomerID, r.Currency, r.AmountDue, r.IssuedAt,
		due, r.PolicyID, r.PolicyVersion, r.Segment, r.BodySHA256,
		// Display text only; PostgreSQL text cannot hold NUL.
		strings.ReplaceAll(r.CustomerName, "\x00", ""), strings.ReplaceAll(r.CustomerLocale, "\x00", ""),
		writeEntry}, entry...)
	var created bool
	err := s.pool.QueryRow(ctx, `
		WITH invoice AS (
			INSERT INTO invoices (invoice_id, customer_id, currency, amount_due_minor, issued_at,
				due_date, policy_id, policy_version, segment, body_sha256, status, balance_minor, status_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $4, $5)
			ON CONFLICT (invoice_id) DO NOTHING
			RETURNING invoice_id
		), event AS (
			INSERT INTO invoice_events (invoice_id, status, balance_minor, at)
			SELECT invoice_id, 'open', $4, $5 FROM invoice
		), profile AS (
			INSERT INTO customer_profiles (customer_id, name, locale, issued_at)
			SELECT $2, $11, $12, $5 FROM invoice WHERE $11 <> '' OR $12 <> ''
			ON CONFLICT (customer_id) DO UPDATE
			SET name = excluded.name, locale = excluded.locale, issued_at = excluded.issued_at, updated_at = now()
			WHERE customer_profiles.issued_at <= excluded.issued_at
		), entry AS (
			INSERT INTO audit_log (at, key_id, key_name, action, outcome, invoice_id, reason, details)
			SELECT coalesce($14, now()), $15, $16, $17, $18, $19, $20, $21 FROM invoice WHERE $13
		)
		SELECT EXISTS (SELECT 1 FROM invoice)`, args...).Scan(&created)
	return created, err
}

// issueTx is IssueInvoiceAudited in a transaction of several statements: the invoice
// if new, else the stored fingerprint compared (read after any concurrent issue of the
// same id committed), then the entry of the outcome.
func (s *Store) issueTx(ctx context.Context, op string, r InvoiceRecord, due time.Time, audit func(IssueOutcome) AuditEntry) (IssueOutcome, error) {
	var outcome IssueOutcome
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			INSERT INTO invoices (invoice_id, customer_id, currency, amount_due_minor, issued_at,
				due_date, policy_id, policy_version, segment, body_sha256, status, balance_minor, status_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $4, $5)
			ON CONFLICT (invoice_id) DO NOTHING`,
			r.InvoiceID, r.CustomerID, r.Currency, r.AmountDue, r.IssuedAt,
			due, r.PolicyID, r.PolicyVersion, r.Segment, r.BodySHA256)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var stored []byte
			if err := tx.QueryRow(ctx, `SELECT body_sha256 FROM invoices WHERE invoice_id = $1`,
				r.InvoiceID).Scan(&stored); err != nil {
				return err
			}
			if !bytes.Equal(stored, r.BodySHA256) {
				return fmt.Errorf("invoice %s: %w", r.InvoiceID, ErrInvoiceConflict)
			}
			outcome = IssueExisting
		} else {
			if _, err := tx.Exec(ctx, `
				INSERT INTO invoice_events (invoice_id, status, balance_minor, at)
				VALUES ($1, 'open', $2, $3)`,
				r.InvoiceID, r.AmountDue, r.IssuedAt); err != nil {
				return err
			}
			if r.CustomerName != "" || r.CustomerLocale != "" {
				if _, err := tx.Exec(ctx, `
					INSERT INTO customer_profiles (customer_id, name, locale, issued_at) VALUES ($1, $2, $3, $4)
					ON CONFLICT (customer_id) DO UPDATE
					SET name = excluded.name, locale = excluded.locale, issued_at = excluded.issued_at, updated_at = now()
					WHERE customer_profiles.issued_at <= excluded.issued_at`,
					// Display text only; PostgreSQL text cannot hold NUL.
					r.CustomerID, strings.ReplaceAll(r.CustomerName, "\x00", ""), strings.ReplaceAll(r.CustomerLocale, "\x00", ""),
					r.IssuedAt); err != nil {
					return err
				}
			}
			outcome = IssueCreated
		}
		if audit == nil {
			return nil
		}
		_, err = insertAudit(ctx, tx, audit(outcome))
		return err
	})
	if err != nil {
		return 0, wrap(op, err)
	}
	return outcome, nil
}

// SetInvoiceStatus records that the invoice took status with the given balance at
// time at: it appends an audit event and, unless a newer status is already stored,
// updates the invoice (closed_at is set for paid, cancelled and written_off and
// cleared otherwise). Re-applying the same (status, at) is a no-op. An unknown
// invoice returns ErrNotFound; an unknown status or negative balance ErrInvalid.
func (s *Store) SetInvoiceStatus(ctx context.Context, invoiceID, status string, balance int64, at time.Time) error {
	const op = "set invoice status"
	closes, ok := invoiceStatuses[status]
	switch {
	case invoiceID == "":
		return invalid(op, "empty invoice id")
	case !ok:
		return invalid(op, "invoice %s: unknown status %q", invoiceID, status)
	case balance < 0:
		return invalid(op, "invoice %s: negative balance %d", invoiceID, balance)
	case at.IsZero():
		return invalid(op, "invoice %s: time is zero", invoiceID)
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return setStatusTx(ctx, tx, invoiceID, status, balance, at, closes)
	})
	return wrap(op, err)
}

// setStatusTx records a status change inside a transaction (see SetInvoiceStatus): an
// invoice_events row, and the invoice row unless a newer status is stored; a closing
// status closes the invoice's open tasks.
func setStatusTx(ctx context.Context, tx pgx.Tx, invoiceID, status string, balance int64, at time.Time, closes bool) error {
	var closedAt *time.Time
	if closes {
		closedAt = &at
	}
	// One statement: the event, and the invoice unless the event is a repeat (the first
	// application already updated it) or a newer status is stored.
	tag, err := tx.Exec(ctx, `
		WITH event AS (
			INSERT INTO invoice_events (invoice_id, status, balance_minor, at)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (invoice_id, status, at) DO NOTHING
			RETURNING 1
		)
		UPDATE invoices
		SET status = $2, balance_minor = $3, status_at = $4, closed_at = $5, updated_at = now()
		WHERE invoice_id = $1 AND status_at <= $4 AND EXISTS (SELECT 1 FROM event)`,
		invoiceID, status, balance, at, closedAt)
	if err != nil || !closes || tag.RowsAffected() == 0 {
		return err
	}
	// Nobody needs to act on a closed invoice: its open tasks close with it.
	_, err = closeTasksOfInvoiceTx(ctx, tx, invoiceID, closedReason(status), at)
	return err
}

// GetInvoice returns the stored invoice, or ErrNotFound.
func (s *Store) GetInvoice(ctx context.Context, invoiceID string) (Invoice, error) {
	return queryOne(ctx, s, "get invoice "+invoiceID, scanInvoice, `
		SELECT invoice_id, customer_id, currency, amount_due_minor, issued_at, due_date,
			policy_id, policy_version, segment, body_sha256, status, balance_minor,
			status_at, created_at, updated_at, closed_at
		FROM invoices WHERE invoice_id = $1`, invoiceID)
}

func scanInvoice(row pgx.CollectableRow) (Invoice, error) {
	var (
		inv Invoice
		due time.Time
	)
	err := row.Scan(
		&inv.InvoiceID, &inv.CustomerID, &inv.Currency, &inv.AmountDue, &inv.IssuedAt, &due,
		&inv.PolicyID, &inv.PolicyVersion, &inv.Segment, &inv.BodySHA256, &inv.Status, &inv.Balance,
		&inv.StatusAt, &inv.CreatedAt, &inv.UpdatedAt, &inv.ClosedAt)
	inv.DueDate = due.Format(dateLayout)
	inv.IssuedAt, inv.StatusAt = inv.IssuedAt.UTC(), inv.StatusAt.UTC()
	inv.CreatedAt, inv.UpdatedAt = inv.CreatedAt.UTC(), inv.UpdatedAt.UTC()
	inv.ClosedAt = utcPtr(inv.ClosedAt)
	return inv, err
}

// ListInvoiceEvents returns the invoice's status audit trail, oldest first. An
// unknown invoice yields an empty list.
func (s *Store) ListInvoiceEvents(ctx context.Context, invoiceID string) ([]InvoiceEvent, error) {
	return queryRows(ctx, s, "list invoice events", func(row pgx.CollectableRow) (InvoiceEvent, error) {
		var e InvoiceEvent
		err := row.Scan(&e.InvoiceID, &e.Status, &e.Balance, &e.At, &e.RecordedAt)
		e.At, e.RecordedAt = e.At.UTC(), e.RecordedAt.UTC()
		return e, err
	}, `
		SELECT invoice_id, status, balance_minor, at, recorded_at
		FROM invoice_events WHERE invoice_id = $1 ORDER BY at, event_id`, invoiceID)
}
