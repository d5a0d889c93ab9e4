package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
)

// Audit actions recorded by the API.
const (
	AuditIssueInvoice = "invoice.issue"
	AuditApplyPayment = "payment.apply"
)

// Audit outcomes recorded by the API.
const (
	AuditCreated   = "created"
	AuditExisting  = "existing"
	AuditConflict  = "conflict"
	AuditApplied   = "applied"
	AuditDuplicate = "duplicate"
	AuditRejected  = "rejected"
)

// maxAuditList bounds ListAudit: the newest entries of an invoice are returned.
const maxAuditList = 1000

// maxAuditDetails bounds the JSON size of AuditEntry.Details.
const maxAuditDetails = 2048

var auditActionRE = regexp.MustCompile(`^[a-z][a-z0-9_.:-]{0,63}$`)

// AuditEntry is one state-changing call: who (key), what (action and outcome), when,
// which invoice and why. Details holds small request facts (method, path, status,
// payment id, amount) and must never hold secrets or personal data.
type AuditEntry struct {
	ID        int64          `json:"id"`
	At        time.Time      `json:"at"`
	KeyID     int64          `json:"key_id,omitempty"` // 0: no key
	KeyName   string         `json:"key_name,omitempty"`
	Action    string         `json:"action"`
	Outcome   string         `json:"outcome,omitempty"`
	InvoiceID string         `json:"invoice_id,omitempty"`
	Reason    string         `json:"reason,omitempty"`
	Details   map[string]any `json:"details,omitempty"`
}

// RecordAudit appends e to the audit trail and returns its id. A zero At means now;
// ID is ignored. An invalid action, an oversize reason or details return ErrInvalid.
func (s *Store) RecordAudit(ctx context.Context, e AuditEntry) (int64, error) {
	const op = "record audit entry"
	if !auditActionRE.MatchString(e.Action) {
		return 0, invalid(op, "action %q", e.Action)
	}
	if len(e.Reason) > 1000 || len(e.Outcome) > 64 {
		return 0, invalid(op, "reason or outcome too long")
	}
	details := []byte("{}")
	if len(e.Details) > 0 {
		var err error
		if details, err = json.Marshal(e.Details); err != nil {
			return 0, invalid(op, "details: %v", err)
		}
		if len(details) > maxAuditDetails {
			return 0, invalid(op, "details are %d bytes, more than %d", len(details), maxAuditDetails)
		}
	}
	var at *time.Time
	if !e.At.IsZero() {
		at = &e.At
	}
	var keyID *int64
	if e.KeyID != 0 {
		keyID = &e.KeyID
	}
	var invoiceID *string
	if e.InvoiceID != "" {
		invoiceID = &e.InvoiceID
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var id int64
	err := s.pool.QueryRow(ctx, `
		INSERT INTO audit_log (at, key_id, key_name, action, outcome, invoice_id, reason, details)
		VALUES (coalesce($1, now()), $2, $3, $4, $5, $6, $7, $8)
		RETURNING id`,
		at, keyID, e.KeyName, e.Action, e.Outcome, invoiceID, e.Reason, details).Scan(&id)
	if err != nil {
		return 0, wrap(op, err)
	}
	return id, nil
}

// ListAudit returns the audit trail of one invoice, oldest first (at most the newest
// 1000 entries). An invoice without entries has an empty trail, not an error.
func (s *Store) ListAudit(ctx context.Context, invoiceID string) ([]AuditEntry, error) {
	const op = "list audit entries"
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `
		SELECT id, at, coalesce(key_id, 0), key_name, action, outcome, invoice_id, reason, details
		FROM (SELECT * FROM audit_log WHERE invoice_id = $1 ORDER BY at DESC, id DESC LIMIT $2) newest
		ORDER BY at, id`, invoiceID, maxAuditList)
	if err != nil {
		return nil, wrap(op, err)
	}
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		var details []byte
		if err := row.Scan(&e.ID, &e.At, &e.KeyID, &e.KeyName, &e.Action, &e.Outcome, &e.InvoiceID, &e.Reason, &details); err != nil {
			return e, err
		}
		if err := json.Unmarshal(details, &e.Details); err != nil {
			return e, fmt.Errorf("audit entry %d details: %w", e.ID, err)
		}
		if len(e.Details) == 0 {
			e.Details = nil
		}
		return e, nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	if entries == nil {
		entries = []AuditEntry{}
	}
	return entries, nil
}
