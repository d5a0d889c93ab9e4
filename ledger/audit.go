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
	// AuditSessionStart is a sign-in (POST /v1/session), started or refused.
	AuditSessionStart = "session.start"
)

// Audit actions on API keys, recorded by the ledger in the transaction that makes the
// change; the entry's key is the key acted on, Details["by"] who did it (WithActor).
const (
	AuditKeyCreate   = "api_key.create"
	AuditKeyRegister = "api_key.register" // a token configured out of band (EnsureAPIKey)
	AuditKeyScopes   = "api_key.scopes"
	AuditKeyRevoke   = "api_key.revoke"
)

// Audit outcomes recorded by the API.
const (
	AuditCreated   = "created"
	AuditExisting  = "existing"
	AuditConflict  = "conflict"
	AuditApplied   = "applied"
	AuditDuplicate = "duplicate"
	AuditRejected  = "rejected"
	// AuditUnknown: the call was answered 503 "may have been applied"; whether it took
	// effect is for the invoice's state to say.
	AuditUnknown = "unknown"
	AuditFailed  = "failed"
	AuditStarted = "started"
	AuditRevoked = "revoked"
)

type actorKey struct{}

// WithActor returns ctx naming who acts through it ("starter keys (user ada)"), for
// the audit entries the ledger writes itself (the api_key.* actions). Without it they
// say "unknown".
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

func actorFrom(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "unknown"
}

// keyAudit is the audit entry of a change to key k, made in ctx's name.
func keyAudit(ctx context.Context, action string, k APIKey) AuditEntry {
	return AuditEntry{KeyID: k.ID, KeyName: k.Name, Action: action, Outcome: AuditApplied,
		Details: map[string]any{"by": actorFrom(ctx), "scopes": k.Scopes}}
}

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
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	return insertAudit(ctx, s.pool, e)
}

// insertAudit writes e through q: the pool, or the transaction of the change it
// records, so that the change and its entry commit together or not at all.
func insertAudit(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, e AuditEntry) (int64, error) {
	const op = "record audit entry"
	args, err := auditValues(op, e)
	if err != nil {
		return 0, err
	}
	var id int64
	err = q.QueryRow(ctx, `
		INSERT INTO audit_log (at, key_id, key_name, action, outcome, invoice_id, reason, details)
		VALUES (coalesce($1, now()), $2, $3, $4, $5, $6, $7, $8)
		RETURNING id`, args...).Scan(&id)
	if err != nil {
		return 0, wrap(op, err)
	}
	return id, nil
}

// auditValues checks an entry and returns the values of audit_log's at, key_id,
// key_name, action, outcome, invoice_id, reason and details for it, in that order (at
// nil: the database's now()).
func auditValues(op string, e AuditEntry) ([]any, error) {
	if !auditActionRE.MatchString(e.Action) {
		return nil, invalid(op, "action %q", e.Action)
	}
	if len(e.Reason) > 1000 || len(e.Outcome) > 64 {
		return nil, invalid(op, "reason or outcome too long")
	}
	details := []byte("{}")
	if len(e.Details) > 0 {
		var err error
		if details, err = json.Marshal(e.Details); err != nil {
			return nil, invalid(op, "details: %v", err)
		}
		if len(details) > maxAuditDetails {
			return nil, invalid(op, "details are %d bytes, more than %d", len(details), maxAuditDetails)
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
	return []any{at, keyID, e.KeyName, e.Action, e.Outcome, invoiceID, e.Reason, details}, nil
}

// ListKeyAudit returns the entries of one API key, oldest first (at most the newest
// 1000): the calls it made and the changes made to it (api_key.*, session.start).
func (s *Store) ListKeyAudit(ctx context.Context, keyID int64) ([]AuditEntry, error) {
	return s.listAudit(ctx, "list key audit entries", `key_id = $1`, keyID)
}

// ListAudit returns the audit trail of one invoice, oldest first (at most the newest
// 1000 entries). An invoice without entries has an empty trail, not an error.
func (s *Store) ListAudit(ctx context.Context, invoiceID string) ([]AuditEntry, error) {
	return s.listAudit(ctx, "list audit entries", `invoice_id = $1`, invoiceID)
}

// listAudit returns the newest entries matching where (a constant condition on $1),
// oldest first.
func (s *Store) listAudit(ctx context.Context, op, where string, arg any) ([]AuditEntry, error) {
	return queryRows(ctx, s, op, func(row pgx.CollectableRow) (AuditEntry, error) {
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
	}, `
		SELECT id, at, coalesce(key_id, 0), key_name, action, outcome, coalesce(invoice_id, ''), reason, details
		FROM (SELECT * FROM audit_log WHERE `+where+` ORDER BY at DESC, id DESC LIMIT $2) newest
		ORDER BY at, id`, arg, maxAuditList)
}
