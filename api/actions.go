package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// Operator actions on an invoice: each is a workflow update. The workflow's validator
// decides whether the invoice's state allows it (409 with the reason if not) and
// whether its values make sense for this invoice (422); the API checks the request's
// shape (400) and turns decimal amounts into minor units with the invoice's currency.

// DisputeRequest opens a dispute.
type DisputeRequest struct {
	// DisputeID is optional; without it the dispute is named after the current time.
	DisputeID string `json:"dispute_id,omitempty"`
	Reason    string `json:"reason"`
	ResolveBy string `json:"resolve_by,omitempty"`
}

// ResolveDisputeRequest closes the open dispute.
type ResolveDisputeRequest struct {
	DisputeID string `json:"dispute_id,omitempty"`
	// Outcome is "resolved" (the debt stands; dunning resumes) or "upheld".
	Outcome string `json:"outcome"`
	// AdjustAmount (decimal) lowers the amount due when upheld; Cancel voids it.
	AdjustAmount string `json:"adjust_amount,omitempty"`
	Cancel       bool   `json:"cancel,omitempty"`
	Reason       string `json:"reason,omitempty"`
}

// PromiseRequest records a promise to pay.
type PromiseRequest struct {
	Date   string `json:"date"`
	Amount string `json:"amount"`
	Reason string `json:"reason,omitempty"`
}

// InstallmentRequest is one installment of a plan.
type InstallmentRequest struct {
	DueDate string `json:"due_date"`
	Amount  string `json:"amount"`
}

// PlanRequest agrees a payment plan.
type PlanRequest struct {
	Installments []InstallmentRequest `json:"installments"`
	GraceDays    int                  `json:"grace_days"`
	Reason       string               `json:"reason,omitempty"`
}

// PauseRequest pauses dunning.
type PauseRequest struct {
	Reason string `json:"reason"`
	Until  string `json:"until,omitempty"`
}

// ReasonRequest is the body of resume, approve, reject, cancel and write-off.
type ReasonRequest struct {
	Reason string `json:"reason"`
}

// RefundRequest gives money back (a refund or a chargeback).
type RefundRequest struct {
	RefundID  string `json:"refund_id"`
	Kind      string `json:"kind,omitempty"` // "refund" (default) or "chargeback"
	PaymentID string `json:"payment_id,omitempty"`
	Amount    string `json:"amount"`
	Currency  string `json:"currency"`
	Reason    string `json:"reason,omitempty"`
}

// AdjustmentRequest changes the amount due.
type AdjustmentRequest struct {
	AdjustmentID string `json:"adjustment_id"`
	// Kind is "adjustment" (Amount may start with "-") or "credit_note" (Amount is
	// what the note credits, a positive decimal).
	Kind     string `json:"kind"`
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	Reason   string `json:"reason"`
}

// ChangePolicyRequest moves a running invoice to the current version of a policy.
type ChangePolicyRequest struct {
	Policy string `json:"policy"`
	Reason string `json:"reason"`
}

// DueDateRequest moves the invoice's due date.
type DueDateRequest struct {
	DueDate string `json:"due_date"`
	Reason  string `json:"reason"`
}

// ActionResponse answers every operator action.
type ActionResponse struct {
	InvoiceID string            `json:"invoice_id"`
	Action    string            `json:"action"`
	Duplicate bool              `json:"duplicate"`
	Status    collection.Status `json:"status"`
	Currency  string            `json:"currency"`
	Balance   string            `json:"balance"`
	Credit    string            `json:"credit"`
}

// action is one operator route: its audit name, scope and how it builds the update
// from the request.
type action struct {
	name  string
	scope auth.Scope
	// build decodes the body (writing a 400 itself and returning false) and returns
	// the update to send with its reason and audit details.
	build func(w http.ResponseWriter, r *http.Request, inv ledger.Invoice, by string) (built, bool)
}

// built is an update ready to send, with what the audit trail keeps of it.
type built struct {
	send    update
	reason  string
	details map[string]any
}

// update sends one lifecycle update through the typed client.
type update func(ctx context.Context, c *invoiceapi.Client, invoiceID string) (invoiceapi.EventResult, error)

// clientUpdate is one of the typed client's lifecycle updates ((*invoiceapi.Client).Pause, ...).
type clientUpdate[In any] func(c *invoiceapi.Client, ctx context.Context, invoiceID, updateID string, in In) (invoiceapi.EventResult, error)

// send binds an update of the typed client to its argument. Operator actions carry no
// id of their own, so Temporal names each update.
func send[In any](u clientUpdate[In], in In) update {
	return func(ctx context.Context, c *invoiceapi.Client, invoiceID string) (invoiceapi.EventResult, error) {
		return u(c, ctx, invoiceID, "", in)
	}
}

// actionRoutes registers the operator actions and returns them by route (the path
// after /v1/invoices/{id}/): the Temporal UI proxy asks for the same scope and audits
// under the same name.
func (s *Server) actionRoutes(mux *routeMux) map[string]action {
	routes := map[string]action{}
	for path, a := range map[string]action{
		"dispute":         {"dispute", auth.ScopeOperator, s.buildDispute},
		"dispute/resolve": {"dispute.resolve", auth.ScopeOperator, s.buildResolve},
		"promise":         {"promise", auth.ScopeOperator, s.buildPromise},
		"plan":            {"plan", auth.ScopeOperator, s.buildPlan},
		"pause":           {"pause", auth.ScopeOperator, s.buildPause},
		"resume":          {"resume", auth.ScopeOperator, buildReason(false, (*invoiceapi.Client).Resume)},
		// Whatever awaits approval: a reminder step or the escalation. The escalation/
		// routes are the older names of the same two actions.
		"approval/approve":   {"approval.approve", auth.ScopeOperator, buildReason(false, (*invoiceapi.Client).Approve)},
		"approval/reject":    {"approval.reject", auth.ScopeOperator, buildReason(false, (*invoiceapi.Client).Reject)},
		"escalation/approve": {"escalation.approve", auth.ScopeOperator, buildReason(false, (*invoiceapi.Client).Approve)},
		"escalation/reject":  {"escalation.reject", auth.ScopeOperator, buildReason(false, (*invoiceapi.Client).Reject)},
		"write-off":          {"write-off", auth.ScopeOperator, buildReason(true, (*invoiceapi.Client).WriteOff)},
		"cancel":             {"cancel", auth.ScopeInvoicesWrite, buildReason(true, (*invoiceapi.Client).Cancel)},
		"adjustments":        {"adjust", auth.ScopeInvoicesWrite, s.buildAdjust},
		"refunds":            {"refund", auth.ScopePaymentsWrite, s.buildRefund},
		"policy":             {"policy", auth.ScopeOperator, s.buildChangePolicy},
		"due-date":           {"due-date", auth.ScopeInvoicesWrite, s.buildDueDate},
	} {
		mux.Handle("POST /v1/invoices/{id}/"+path, s.require(a.scope, s.runAction(a)))
		routes[path] = a
	}
	return routes
}

// runAction is the shared path of every operator action: look the invoice up, build
// the update, run it, map the answer, audit it.
func (s *Server) runAction(a action) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := invoiceIDFromPath(w, r)
		if !ok {
			return
		}
		inv, ctx, cancel, ok := s.invoiceFor(w, r, id)
		if !ok {
			return
		}
		defer cancel()
		by := "api"
		if key, ok := auth.KeyFrom(r.Context()); ok {
			by = "key:" + key.Name
		}
		b, ok := a.build(w, r, inv, by)
		if !ok {
			return
		}
		auditAction := "invoice." + a.name
		res, err := b.send(ctx, s.invoices(), id)
		if err != nil {
			s.actionFailed(w, r, id, auditAction, b.details, err)
			return
		}
		outcome := ledger.AuditApplied
		if res.Duplicate {
			outcome = ledger.AuditDuplicate
		}
		s.audit(r, http.StatusOK, ledger.AuditEntry{Action: auditAction, Outcome: outcome, InvoiceID: id, Reason: b.reason, Details: b.details})
		writeJSON(w, http.StatusOK, ActionResponse{
			InvoiceID: id, Action: a.name, Duplicate: res.Duplicate, Status: res.Status, Currency: inv.Currency,
			Balance: money.Format(res.Balance, inv.Currency), Credit: money.Format(res.Credit, inv.Currency),
		})
	}
}

// actionFailed maps a rejected or failed update to an answer.
func (s *Server) actionFailed(w http.ResponseWriter, r *http.Request, id, auditAction string, details map[string]any, err error) {
	s.updateFailed(w, r, id, err, updateFailure{
		rejected: func(code int, msg string, fields map[string]string) {
			s.audit(r, code, ledger.AuditEntry{Action: auditAction, Outcome: ledger.AuditRejected, InvoiceID: id, Reason: msg, Details: details})
			writeError(w, code, "rejected: "+msg, fields)
		},
		closed: func(code int, view collection.View) {
			s.audit(r, code, ledger.AuditEntry{Action: auditAction, Outcome: ledger.AuditRejected, InvoiceID: id, Reason: "invoice " + string(view.Status), Details: details})
			writeError(w, code, fmt.Sprintf("invoice %s is %s and closed; nothing was changed", id, view.Status),
				map[string]string{"status": "the invoice is " + string(view.Status)})
		},
		failed: func() {
			s.failAction(w, r, "applying "+auditAction, err, ledger.AuditEntry{Action: auditAction, InvoiceID: id, Details: details})
		},
	})
}

// updateFailure is how one kind of update audits and answers its failures: a
// rejection (with the fields it names), a workflow that has closed (with its state),
// and any other error.
type updateFailure struct {
	rejected func(code int, msg string, fields map[string]string)
	closed   func(code int, view collection.View)
	failed   func()
}

// updateFailed maps a rejected or failed update of invoice id to an answer; an unknown
// invoice is a 404 for every kind of update.
func (s *Server) updateFailed(w http.ResponseWriter, r *http.Request, id string, err error, f updateFailure) {
	code := httpStatus(err)
	if field, reason, ok := rejection(err); ok {
		f.rejected(code, err.Error(), fieldsOf(field, reason))
		return
	}
	switch {
	case errors.Is(err, invoiceapi.ErrNotFound):
		writeError(w, code, "unknown invoice "+id, nil)
	case errors.Is(err, invoiceapi.ErrClosed):
		if view, ok := s.workflowState(w, r, id, "querying the closed invoice"); ok {
			f.closed(code, view)
		}
	default:
		f.failed()
	}
}

// badRequest answers 400 naming the fields.
func badRequest(w http.ResponseWriter, what string, fe collection.FieldErrors) bool {
	if len(fe) == 0 {
		return true
	}
	writeError(w, http.StatusBadRequest, "invalid "+what+": "+fe.Error(), fe)
	return false
}

func parseAmount(fe collection.FieldErrors, field, s, currency string) int64 {
	v, err := money.Parse(s, currency)
	if err != nil {
		fe[field] = err.Error()
	}
	return v
}

func (s *Server) buildDispute(w http.ResponseWriter, r *http.Request, _ ledger.Invoice, by string) (built, bool) {
	var req DisputeRequest
	if !decode(w, r, &req) {
		return built{}, false
	}
	if req.DisputeID == "" {
		req.DisputeID = "dispute-" + s.now().UTC().Format("20060102T150405Z")
	}
	return built{send: send((*invoiceapi.Client).OpenDispute, invoiceapi.DisputeInput{DisputeID: req.DisputeID, Reason: req.Reason, ResolveBy: req.ResolveBy, By: by}), reason: req.Reason, details: map[string]any{"dispute_id": req.DisputeID}}, true
}

func (s *Server) buildResolve(w http.ResponseWriter, r *http.Request, inv ledger.Invoice, by string) (built, bool) {
	var req ResolveDisputeRequest
	if !decode(w, r, &req) {
		return built{}, false
	}
	fe := collection.FieldErrors{}
	var amount int64
	if req.AdjustAmount != "" {
		amount = parseAmount(fe, "adjust_amount", req.AdjustAmount, inv.Currency)
	}
	if !badRequest(w, "resolution", fe) {
		return built{}, false
	}
	return built{send: send((*invoiceapi.Client).ResolveDispute, invoiceapi.ResolveDisputeInput{DisputeID: req.DisputeID, Outcome: req.Outcome, AdjustAmount: amount, Cancel: req.Cancel, Reason: req.Reason, By: by}), reason: req.Reason, details: map[string]any{"outcome": req.Outcome, "adjust_amount_minor": amount, "cancel": req.Cancel}}, true
}

func (s *Server) buildPromise(w http.ResponseWriter, r *http.Request, inv ledger.Invoice, by string) (built, bool) {
	var req PromiseRequest
	if !decode(w, r, &req) {
		return built{}, false
	}
	fe := collection.FieldErrors{}
	amount := parseAmount(fe, "amount", req.Amount, inv.Currency)
	if !badRequest(w, "promise", fe) {
		return built{}, false
	}
	return built{send: send((*invoiceapi.Client).Promise, invoiceapi.PromiseInput{Date: req.Date, Amount: amount, Reason: req.Reason, By: by}), reason: req.Reason, details: map[string]any{"date": req.Date, "amount_minor": amount}}, true
}

func (s *Server) buildPlan(w http.ResponseWriter, r *http.Request, inv ledger.Invoice, by string) (built, bool) {
	var req PlanRequest
	if !decode(w, r, &req) {
		return built{}, false
	}
	fe := collection.FieldErrors{}
	if len(req.Installments) == 0 || len(req.Installments) > 60 {
		fe["installments"] = "must list 1 to 60 installments"
	}
	in := invoiceapi.PlanInput{GraceDays: req.GraceDays, Reason: req.Reason, By: by}
	for i, it := range req.Installments {
		if i >= 60 {
			break
		}
		amount := parseAmount(fe, fmt.Sprintf("installments[%d].amount", i), it.Amount, inv.Currency)
		in.Installments = append(in.Installments, invoiceapi.Installment{DueDate: it.DueDate, Amount: amount})
	}
	if !badRequest(w, "plan", fe) {
		return built{}, false
	}
	return built{send: send((*invoiceapi.Client).Plan, in), reason: req.Reason, details: map[string]any{"installments": len(in.Installments), "grace_days": req.GraceDays}}, true
}

func (s *Server) buildPause(w http.ResponseWriter, r *http.Request, _ ledger.Invoice, by string) (built, bool) {
	var req PauseRequest
	if !decode(w, r, &req) {
		return built{}, false
	}
	return built{send: send((*invoiceapi.Client).Pause, invoiceapi.PauseInput{Reason: req.Reason, Until: req.Until, By: by}), reason: req.Reason, details: map[string]any{"until": req.Until}}, true
}

// buildReason builds the argument of the actions that take only a reason.
func buildReason(required bool, u clientUpdate[invoiceapi.ReasonInput]) func(http.ResponseWriter, *http.Request, ledger.Invoice, string) (built, bool) {
	return func(w http.ResponseWriter, r *http.Request, _ ledger.Invoice, by string) (built, bool) {
		var req ReasonRequest
		if !decode(w, r, &req) {
			return built{}, false
		}
		if required && strings.TrimSpace(req.Reason) == "" {
			return built{}, badRequest(w, "request", collection.FieldErrors{"reason": "is required"})
		}
		return built{send: send(u, invoiceapi.ReasonInput{Reason: req.Reason, By: by}), reason: req.Reason, details: nil}, true
	}
}

// checkKindAndCurrency names in fe a kind that is none of allowed (want says which
// are) and a currency that is not ISO 4217: the fields refunds and adjustments share.
func checkKindAndCurrency[K comparable](fe collection.FieldErrors, kind K, want, currency string, allowed ...K) {
	if !slices.Contains(allowed, kind) {
		fe["kind"] = want
	}
	if !money.ValidCurrency(currency) {
		fe["currency"] = "must be an ISO 4217 code like \"USD\""
	}
}

func (s *Server) buildRefund(w http.ResponseWriter, r *http.Request, inv ledger.Invoice, by string) (built, bool) {
	var req RefundRequest
	if !decode(w, r, &req) {
		return built{}, false
	}
	fe := collection.FieldErrors{}
	kind := invoiceapi.RefundKind(req.Kind)
	if kind == "" {
		kind = invoiceapi.KindRefund
	}
	checkKindAndCurrency(fe, kind, `must be "refund" or "chargeback"`, req.Currency, invoiceapi.KindRefund, invoiceapi.KindChargeback)
	var amount int64
	if len(fe) == 0 {
		amount = parseAmount(fe, "amount", req.Amount, req.Currency)
	}
	if !badRequest(w, "refund", fe) {
		return built{}, false
	}
	return built{send: send((*invoiceapi.Client).Refund, invoiceapi.RefundInput{RefundID: req.RefundID, Kind: kind, PaymentID: req.PaymentID, Amount: amount, Currency: req.Currency, Reason: req.Reason, By: by}), reason: req.Reason, details: map[string]any{"refund_id": req.RefundID, "payment_id": req.PaymentID, "amount_minor": amount, "kind": string(kind)}}, true
}

func (s *Server) buildAdjust(w http.ResponseWriter, r *http.Request, _ ledger.Invoice, by string) (built, bool) {
	var req AdjustmentRequest
	if !decode(w, r, &req) {
		return built{}, false
	}
	fe := collection.FieldErrors{}
	kind := invoiceapi.AdjustKind(req.Kind)
	checkKindAndCurrency(fe, kind, `must be "adjustment" or "credit_note"`, req.Currency, invoiceapi.KindAdjustment, invoiceapi.KindCreditNote)
	var amount int64
	if len(fe) == 0 {
		text, negative := strings.CutPrefix(req.Amount, "-")
		if negative && kind == invoiceapi.KindCreditNote {
			fe["amount"] = "a credit note's amount is what it credits: a positive decimal"
		} else if amount = parseAmount(fe, "amount", text, req.Currency); negative || kind == invoiceapi.KindCreditNote {
			amount = -amount
		}
	}
	if !badRequest(w, "adjustment", fe) {
		return built{}, false
	}
	return built{send: send((*invoiceapi.Client).Adjust, invoiceapi.AdjustInput{AdjustmentID: req.AdjustmentID, Kind: kind, Amount: amount, Currency: req.Currency, Reason: req.Reason, By: by}), reason: req.Reason, details: map[string]any{"adjustment_id": req.AdjustmentID, "amount_minor": amount, "kind": string(kind)}}, true
}

func (s *Server) buildChangePolicy(w http.ResponseWriter, r *http.Request, _ ledger.Invoice, by string) (built, bool) {
	var req ChangePolicyRequest
	if !decode(w, r, &req) {
		return built{}, false
	}
	p, ok := s.Policies.Get(req.Policy)
	if !ok {
		return built{}, badRequest(w, "policy change", collection.FieldErrors{"policy": fmt.Sprintf("unknown policy %q; known: %s", req.Policy, strings.Join(s.Policies.IDs(), ", "))})
	}
	return built{send: send((*invoiceapi.Client).ChangePolicy, invoiceapi.ChangePolicyInput{Policy: *p, Reason: req.Reason, By: by}), reason: req.Reason, details: map[string]any{"policy_id": p.ID, "policy_version": p.Version}}, true
}

func (s *Server) buildDueDate(w http.ResponseWriter, r *http.Request, _ ledger.Invoice, by string) (built, bool) {
	var req DueDateRequest
	if !decode(w, r, &req) {
		return built{}, false
	}
	if _, err := collection.ParseDate(req.DueDate); err != nil {
		return built{}, badRequest(w, "due date change", collection.FieldErrors{"due_date": err.Error()})
	}
	return built{send: send((*invoiceapi.Client).ChangeDueDate, invoiceapi.ChangeDueDateInput{DueDate: req.DueDate, Reason: req.Reason, By: by}), reason: req.Reason, details: map[string]any{"due_date": req.DueDate}}, true
}
