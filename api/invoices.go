package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/workflows/accountapi"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// IssueResponse answers POST /v1/invoices.
type IssueResponse struct {
	InvoiceID  string               `json:"invoice_id"`
	WorkflowID string               `json:"workflow_id"`
	RunID      string               `json:"run_id,omitempty"`
	Created    bool                 `json:"created"`
	Policy     collection.PolicyRef `json:"policy"`
}

// issueInvoice validates the invoice, records it in the ledger and starts its
// workflow. It is idempotent on the invoice id: the same invoice again answers 200
// and starts nothing; the same id with a different body answers 409.
func (s *Server) issueInvoice(w http.ResponseWriter, r *http.Request) {
	var req collection.InvoiceRequest
	if !decode(w, r, &req) {
		return
	}
	inv, fe := req.Validate(s.now())
	if fe == nil {
		fe = collection.FieldErrors{}
	}
	// Explicit, else the segment's, else the customer's payment-behaviour band's, else
	// the default.
	pol, _, err := s.Policies.SelectForCustomer(req.Policy, inv.Customer.Segment, func() (string, error) {
		ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
		defer cancel()
		c, err := s.reporter().Customer(ctx, inv.Customer.ID)
		if err != nil {
			return "", err // unknown customer (a first invoice): no band
		}
		return c.Band, nil
	})
	if err != nil && req.Policy != "" {
		fe["policy"] = err.Error()
	} else if err == nil && fe["currency"] == "" {
		if cerr := pol.CheckCurrency(inv.Currency); cerr != nil {
			fe["currency"] = cerr.Error()
		} else if rerr := collection.CheckRates(pol, &inv); rerr != nil && fe["due_date"] == "" {
			fe["due_date"] = rerr.Error()
		}
	}
	if len(fe) > 0 {
		writeError(w, http.StatusBadRequest, "invalid invoice: "+fe.Error(), fe)
		return
	}
	if err != nil {
		s.fail(w, r, "selecting a policy", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()

	ref := collection.PolicyRef{ID: pol.ID, Version: pol.Version}
	outcome, err := s.Ledger.IssueInvoiceAudited(ctx, ledger.InvoiceRecord{
		InvoiceID: inv.ID, CustomerID: inv.Customer.ID, Currency: inv.Currency, AmountDue: inv.AmountDue,
		IssuedAt: inv.IssuedAt, DueDate: inv.DueDate.String(), PolicyID: pol.ID, PolicyVersion: pol.Version,
		Segment: inv.Customer.Segment, BodySHA256: fingerprint(inv),
		CustomerName: inv.Customer.Name, CustomerLocale: inv.Customer.Locale,
	}, func(o ledger.IssueOutcome) ledger.AuditEntry {
		// Written with the invoice, before its workflow starts, so the answer is not
		// known yet; a start that fails adds its own entry (failAction).
		return s.auditEntry(r, 0, issueAudit(inv.ID, ref, o == ledger.IssueCreated))
	})
	if errors.Is(err, ledger.ErrInvoiceConflict) {
		e := issueAudit(inv.ID, ref, false)
		e.Outcome, e.Reason = ledger.AuditConflict, "same invoice id, different details"
		s.audit(r, http.StatusConflict, e)
		writeError(w, http.StatusConflict, "invoice "+inv.ID+" was already issued with different details", nil)
		return
	}
	if err != nil {
		// Nothing was recorded, neither the invoice nor its entry: nothing to audit.
		s.fail(w, r, "recording the invoice", err)
		return
	}
	s.assignByRule(ctx, inv.Customer.ID, inv.Customer.Segment)
	started, err := s.invoices().Issue(ctx, inv, pol, s.now())
	resp := IssueResponse{InvoiceID: inv.ID, WorkflowID: invoiceapi.WorkflowID(inv.ID), Policy: ref, RunID: started.RunID}
	switch {
	case err != nil:
		// The invoice is in the ledger; whether its workflow started is not known.
		s.failAction(w, r, "starting the collection workflow", err, issueAudit(inv.ID, ref, false))
	case started.Existing:
		// Started by an earlier request (possibly one whose answer was lost).
		writeJSON(w, http.StatusOK, resp)
	default:
		s.announceToAccount(ctx, inv, pol)
		resp.Created = outcome == ledger.IssueCreated
		code := http.StatusCreated
		if outcome != ledger.IssueCreated {
			code = http.StatusOK // recorded before, but its start had failed: started now
		}
		writeJSON(w, code, resp)
	}
}

// announceToAccount tells the customer's account of a new invoice whose policy
// consolidates, and when its first reminder falls due, so the account's windows wait
// for it even if its workflow runs its first task late (docs/accounts.md). The
// invoice's workflow attaches itself as well: a failure here is logged only.
func (s *Server) announceToAccount(ctx context.Context, inv collection.Invoice, pol *policy.Policy) {
	if !pol.Consolidates() {
		return
	}
	st := collection.NewState(&inv)
	next := collection.NextReminderAt(pol, &inv, &st, s.now())
	req := accountapi.AttachRequest{CustomerID: inv.Customer.ID, InvoiceID: inv.ID, Next: accountapi.NextAt(next, inv.Location())}
	if err := (&accountapi.Client{Temporal: s.Temporal}).Announce(ctx, req); err != nil {
		s.Logger.Warn("Could not announce the invoice to its customer's account; its workflow attaches it", "invoice_id", inv.ID, "error", err)
	}
}

// issueAudit is the audit entry of an issue call for invoice id under policy pol:
// created or existing.
func issueAudit(id string, pol collection.PolicyRef, created bool) ledger.AuditEntry {
	outcome := ledger.AuditExisting
	if created {
		outcome = ledger.AuditCreated
	}
	return ledger.AuditEntry{Action: ledger.AuditIssueInvoice, Outcome: outcome, InvoiceID: id,
		Details: map[string]any{"policy": pol.ID, "policy_version": pol.Version}}
}

// auditPayment records a payment call: applied, duplicate or rejected (why).
func (s *Server) auditPayment(r *http.Request, status int, invoiceID, paymentID, outcome, why string) {
	reason := "payment " + paymentID
	if why != "" {
		reason += ": " + why
	}
	s.audit(r, status, ledger.AuditEntry{Action: ledger.AuditApplyPayment, Outcome: outcome, InvoiceID: invoiceID,
		Reason: reason, Details: map[string]any{"payment_id": paymentID}})
}

// fingerprint identifies an invoice's content, so a repeat can be told from a
// conflicting re-use of its id. It hashes the validated form: "1250" and "1250.00"
// are the same invoice.
func fingerprint(inv collection.Invoice) []byte {
	b, _ := json.Marshal(inv) // plain data: cannot fail
	sum := sha256.Sum256(b)
	return sum[:]
}

// getInvoice answers the workflow's state query.
func (s *Server) getInvoice(w http.ResponseWriter, r *http.Request) {
	id, ok := invoiceIDFromPath(w, r)
	if !ok {
		return
	}
	if view, ok := s.workflowState(w, r, id, "querying the invoice"); ok {
		writeJSON(w, http.StatusOK, view)
	}
}

// invoiceFor reads the invoice from the ledger, answering 404 (unknown) or 5xx itself
// when it cannot. The read runs under a new context bounded by requestTimeout, which
// it hands back, with its cancel, for the rest of the request's work.
func (s *Server) invoiceFor(w http.ResponseWriter, r *http.Request, id string) (ledger.Invoice, context.Context, context.CancelFunc, bool) {
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	inv, err := s.Ledger.GetInvoice(ctx, id)
	if err == nil {
		return inv, ctx, cancel, true
	}
	cancel()
	if errors.Is(err, ledger.ErrNotFound) {
		writeError(w, http.StatusNotFound, "unknown invoice "+id, nil)
	} else {
		s.fail(w, r, "reading the invoice", err)
	}
	return inv, nil, nil, false
}

// workflowState queries an invoice workflow's state, answering 404 (unknown) or 5xx
// itself when it cannot; what names the step in the log.
func (s *Server) workflowState(w http.ResponseWriter, r *http.Request, id, what string) (collection.View, bool) {
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	view, err := s.invoices().State(ctx, id)
	if httpStatus(err) == http.StatusNotFound {
		writeError(w, http.StatusNotFound, "unknown invoice "+id, nil)
		return view, false
	}
	if err != nil {
		s.fail(w, r, what, err)
		return view, false
	}
	return view, true
}

// invoices is the typed client of the invoice workflows.
func (s *Server) invoices() *invoiceapi.Client {
	return &invoiceapi.Client{Temporal: s.Temporal}
}

// PaymentResponse answers POST /v1/invoices/{id}/payments.
type PaymentResponse struct {
	InvoiceID string            `json:"invoice_id"`
	PaymentID string            `json:"payment_id"`
	Duplicate bool              `json:"duplicate"`
	Status    collection.Status `json:"status"`
	Currency  string            `json:"currency"`
	Applied   string            `json:"applied"`
	Balance   string            `json:"balance"`
	Credit    string            `json:"credit"`
}

// payInvoice applies a payment through the workflow's payment update. The update is
// named after the payment (invoiceapi.PaymentUpdateID), so the same request sent again
// after a 503 is the same update and gets the first one's answer; a payment id seen
// in an earlier update answers duplicate: true (the workflow dedupes by payment id).
func (s *Server) payInvoice(w http.ResponseWriter, r *http.Request) {
	id, ok := invoiceIDFromPath(w, r)
	if !ok {
		return
	}
	var req collection.PaymentRequest
	if !decode(w, r, &req) {
		return
	}
	inv, ctx, cancel, ok := s.invoiceFor(w, r, id)
	if !ok {
		return
	}
	defer cancel()
	// A malformed request is not audited (nothing was attempted); one that does not fit
	// the invoice is, like the workflow's own refusals.
	now := s.now()
	if err := req.Check(inv.IssuedAt, now); err != nil {
		writeError(w, httpStatus(err), "invalid payment: "+err.Error(), errorFields(err))
		return
	}
	pay, err := req.Fit(inv.Currency, now)
	if err != nil {
		code := httpStatus(err)
		s.auditPayment(r, code, id, req.PaymentID, ledger.AuditRejected, err.Error())
		writeError(w, code, "invalid payment: "+err.Error(), errorFields(err))
		return
	}
	res, err := s.invoices().Pay(ctx, id, "", invoiceapi.PaymentInput{
		PaymentID: pay.PaymentID, Amount: pay.Amount, Currency: inv.Currency, PaidAt: req.PaidAt,
	})
	if err != nil {
		s.paymentFailed(w, r, id, pay.PaymentID, inv.Currency, err)
		return
	}
	outcome := ledger.AuditApplied
	if res.Duplicate {
		outcome = ledger.AuditDuplicate
	}
	s.auditPayment(r, http.StatusOK, id, pay.PaymentID, outcome, "")
	writeJSON(w, http.StatusOK, PaymentResponse{
		InvoiceID: id, PaymentID: pay.PaymentID, Duplicate: res.Duplicate, Status: res.Status, Currency: inv.Currency,
		Applied: money.Format(res.Applied, inv.Currency), Balance: money.Format(res.Balance, inv.Currency), Credit: money.Format(res.Credit, inv.Currency),
	})
}

// paymentFailed maps an update failure to an answer. A payment for an invoice whose
// workflow has closed is a duplicate if the closed state lists it, else a conflict.
func (s *Server) paymentFailed(w http.ResponseWriter, r *http.Request, id, paymentID, currency string, err error) {
	s.updateFailed(w, r, id, err, updateFailure{
		rejected: func(code int, msg string, fields map[string]string) {
			s.auditPayment(r, code, id, paymentID, ledger.AuditRejected, msg)
			writeError(w, code, "payment rejected: "+msg, fields)
		},
		closed: func(code int, view collection.View) {
			for _, p := range view.Payments {
				if p.PaymentID == paymentID {
					s.auditPayment(r, http.StatusOK, id, paymentID, ledger.AuditDuplicate, "invoice "+string(view.Status))
					writeJSON(w, http.StatusOK, PaymentResponse{InvoiceID: id, PaymentID: paymentID, Duplicate: true,
						Status: view.Status, Currency: currency, Applied: money.Format(0, currency), Balance: view.Balance, Credit: view.Credit})
					return
				}
			}
			s.auditPayment(r, code, id, paymentID, ledger.AuditRejected, "invoice "+string(view.Status))
			writeError(w, code, fmt.Sprintf("invoice %s is %s; payment %s was not applied", id, view.Status, paymentID),
				map[string]string{"status": string(view.Status)})
		},
		failed: func() {
			s.failAction(w, r, "applying the payment", err, ledger.AuditEntry{Action: ledger.AuditApplyPayment, InvoiceID: id,
				Reason: "payment " + paymentID, Details: map[string]any{"payment_id": paymentID}})
		},
	})
}

// fail logs an unexpected error and answers 500 (or 503 when a dependency did not
// answer in time or shed load) without leaking internals.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.Logger.Error("Request failed", "method", r.Method, "path", r.URL.Path, "step", what, "error", err)
	if httpStatus(err) == http.StatusServiceUnavailable {
		// The request may or may not have been applied. Issues, payments, refunds and
		// adjustments carry their own id, so the same request again applies once; an
		// operator action has none and is checked against the invoice's state again
		// (most repeats get 409), so the answer says to look first.
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, what+" did not complete in time (it may have been applied); check the invoice, or retry the same request later", nil)
		return
	}
	writeError(w, http.StatusInternalServerError, what+" failed", nil)
}
