package api

import (
	"bytes"
	"context"
	"encoding/json"
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

// audit records a state-changing call in the audit trail before it is answered: the
// calling key (from the request context), the time, the request's method, path and
// answer status, and e's action, outcome, invoice, reason and details (ids and amounts
// only). It is for changes outside the ledger (workflow updates and starts), which
// have already happened, and for calls that changed nothing, so a failure to record is
// logged, not answered; a change in the ledger writes its entry in its own transaction
// instead (auditEntry), and fails with it.
func (s *Server) audit(r *http.Request, status int, e ledger.AuditEntry) {
	e = s.auditEntry(r, status, e)
	if err := s.recordAudit(r, e); err != nil {
		s.Logger.Error("Recording the audit entry failed", "action", e.Action, "outcome", e.Outcome,
			"invoice_id", e.InvoiceID, "key_id", e.KeyID, "error", err)
	}
}

// recordAudit writes the complete entry e of request r, within auditTimeout and even
// if the client has gone away: what it records happened.
func (s *Server) recordAudit(r *http.Request, e ledger.AuditEntry) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), auditTimeout)
	defer cancel()
	_, err := s.Ledger.RecordAudit(ctx, e)
	return err
}

// auditEntry completes e with the request's facts, as audit records it. A zero status
// is for an entry written before the answer is known, in the ledger's transaction.
func (s *Server) auditEntry(r *http.Request, status int, e ledger.AuditEntry) ledger.AuditEntry {
	if key, ok := auth.KeyFrom(r.Context()); ok {
		e.KeyID, e.KeyName = key.ID, key.Name
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	details := map[string]any{"method": r.Method, "path": r.URL.Path}
	if status != 0 {
		details["status"] = status
	}
	if via := auth.CredentialFrom(r.Context()); via != "" {
		details["credential"] = string(via)
	}
	for k, v := range e.Details {
		details[k] = v
	}
	e.Details = details
	return e
}

// failAction answers like fail a state-changing call that did not complete, after
// recording it: a 503 says the call may have been applied, so its outcome is
// "unknown" (the invoice's state tells); a 500 is "failed".
func (s *Server) failAction(w http.ResponseWriter, r *http.Request, what string, err error, e ledger.AuditEntry) {
	status, outcome := http.StatusInternalServerError, ledger.AuditFailed
	if httpStatus(err) == http.StatusServiceUnavailable {
		status, outcome = http.StatusServiceUnavailable, ledger.AuditUnknown
	}
	e.Outcome = outcome
	if e.Reason == "" {
		e.Reason = what + " did not complete"
	} else {
		e.Reason = what + " did not complete: " + e.Reason
	}
	s.audit(r, status, e)
	s.fail(w, r, what, err)
}

// auditSignIn records every sign-in (POST /v1/session) before it is answered: the
// key that signed in, or the refusal and why, and whether the key came in the header
// or in the sign-in form (details.via). The answer is held until then; a session whose
// entry cannot be written is not handed out (503, no cookie), so no session exists
// that the trail does not show.
func (s *Server) auditSignIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		held := &heldAnswer{header: http.Header{}}
		ctx, si := auth.WithSignIn(r.Context())
		next.ServeHTTP(held, r.WithContext(ctx))
		if held.status == 0 {
			held.status = http.StatusOK
		}
		via := "header"
		if si.Form {
			via = "form"
		}
		e := ledger.AuditEntry{Action: ledger.AuditSessionStart, Outcome: ledger.AuditRejected}
		if si.Key.ID != 0 && held.status < 400 {
			e.Outcome, e.KeyID, e.KeyName = ledger.AuditStarted, si.Key.ID, si.Key.Name
			e.Details = map[string]any{"expires_at": si.ExpiresAt, "via": via}
		} else {
			e.Reason = si.Refused
			if e.Reason == "" && !si.Form {
				var refused ErrorBody
				_ = json.Unmarshal(held.body.Bytes(), &refused) // no error text: the status says enough
				e.Reason = refused.Error
			}
			e.Details = map[string]any{"via": via}
		}
		e = s.auditEntry(r, held.status, e)
		if err := s.recordAudit(r, e); err != nil {
			s.Logger.Error("Recording the sign-in failed", "outcome", e.Outcome, "key_id", e.KeyID, "error", err)
			if e.Outcome == ledger.AuditStarted {
				const msg = "cannot record the sign-in right now; no session was started, retry later"
				w.Header().Set("Retry-After", "1")
				if si.Form {
					auth.SignInFailed(w, http.StatusServiceUnavailable, msg, si.Next)
				} else {
					writeError(w, http.StatusServiceUnavailable, msg, nil)
				}
				return
			}
		}
		for k, v := range held.header {
			w.Header()[k] = v
		}
		w.WriteHeader(held.status)
		_, _ = w.Write(held.body.Bytes()) // the client went away
	})
}

// heldAnswer keeps a handler's answer in memory until it may be sent, or be read
// instead of sent.
type heldAnswer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (h *heldAnswer) Header() http.Header { return h.header }

func (h *heldAnswer) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

func (h *heldAnswer) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return h.body.Write(b)
}
