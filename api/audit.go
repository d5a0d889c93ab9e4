package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/ledger"
)

// auditTimeout bounds writing one audit entry.
const auditTimeout = 5 * time.Second

// AuditResponse answers GET /v1/invoices/{id}/audit.
type AuditResponse struct {
	InvoiceID string              `json:"invoice_id"`
	Entries   []ledger.AuditEntry `json:"entries"`
}

// getAudit answers an invoice's audit trail, oldest first; 404 for an unknown
// invoice, like every other invoice route.
func (s *Server) getAudit(w http.ResponseWriter, r *http.Request) {
	id, ok := invoiceIDFromPath(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	entries, err := s.Ledger.ListAudit(ctx, id)
	if err != nil {
		s.fail(w, r, "reading the audit trail", err)
		return
	}
	if len(entries) == 0 {
		// No trail: an invoice nobody has acted on yet, or one that does not exist.
		if _, err := s.Ledger.GetInvoice(ctx, id); errors.Is(err, ledger.ErrNotFound) {
			writeError(w, http.StatusNotFound, "unknown invoice "+id, nil)
			return
		} else if err != nil {
			s.fail(w, r, "reading the invoice", err)
			return
		}
	}
	writeJSON(w, http.StatusOK, AuditResponse{InvoiceID: id, Entries: entries})
}

// audit records a state-changing call in the audit trail: the calling key (from the
// request context), the time, the request's method, path and answer status, and e's
// action, outcome, invoice, reason and details (ids and amounts only). The operation
// it describes has already happened, so a failure to record is logged, not answered.
func (s *Server) audit(r *http.Request, status int, e ledger.AuditEntry) {
	if key, ok := auth.KeyFrom(r.Context()); ok {
		e.KeyID, e.KeyName = key.ID, key.Name
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	details := map[string]any{"method": r.Method, "path": r.URL.Path, "status": status}
	if via := auth.CredentialFrom(r.Context()); via != "" {
		details["credential"] = string(via)
	}
	for k, v := range e.Details {
		details[k] = v
	}
	e.Details = details
	// Recorded even if the client has gone away: the operation happened.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), auditTimeout)
	defer cancel()
	if _, err := s.Ledger.RecordAudit(ctx, e); err != nil {
		s.Logger.Error("Recording the audit entry failed", "action", e.Action, "outcome", e.Outcome,
			"invoice_id", e.InvoiceID, "key_id", e.KeyID, "error", err)
	}
}
