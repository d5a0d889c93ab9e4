package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/ledger"
)

// Portfolios (docs/collectors.md): a customer is in one collector's portfolio, chosen
// by hand here or by its segment's rule (segments.yaml "collectors") when an invoice
// of it is issued. A collector is an API key with the operator scope, named by the
// key's name.

// AssigneeRequest assigns a customer by hand: PUT /v1/customers/{id}/assignee.
type AssigneeRequest struct {
	Assignee string `json:"assignee"`
}

// AssigneeView is a customer's assignment as the API shows it.
type AssigneeView struct {
	CustomerID string `json:"customer_id"`
	// Assignee is the collector's key name; "" when nobody (unassigned by hand).
	Assignee   string `json:"assignee"`
	Source     string `json:"source"`
	Rule       string `json:"rule,omitempty"`
	AssignedBy string `json:"assigned_by"`
	AssignedAt string `json:"assigned_at"`
}

func newAssigneeView(a ledger.Assignment) *AssigneeView {
	return &AssigneeView{CustomerID: a.CustomerID, Assignee: a.Collector, Source: a.Source, Rule: a.Rule,
		AssignedBy: a.AssignedBy, AssignedAt: a.AssignedAt.Format("2006-01-02T15:04:05Z07:00")}
}

func (s *Server) assigneeRoutes(mux *routeMux) {
	mux.Handle("PUT /v1/customers/{id}/assignee", s.require(auth.ScopeOperator, s.putAssignee))
	mux.Handle("DELETE /v1/customers/{id}/assignee", s.require(auth.ScopeOperator, s.deleteAssignee))
}

// putAssignee answers PUT /v1/customers/{id}/assignee: 200 with the assignment,
// which commits with its audit entry; 400 without a collector's name, 404 for an
// unknown customer, 422 for a name that is not a collector.
func (s *Server) putAssignee(w http.ResponseWriter, r *http.Request) {
	id, ok := customerIDFromPath(w, r)
	if !ok {
		return
	}
	var req AssigneeRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Assignee == "" {
		fields := map[string]string{"assignee": "is required: a collector's API key name (DELETE unassigns)"}
		writeError(w, http.StatusBadRequest, "invalid assignment: "+describe(fields), fields)
		return
	}
	s.assign(w, r, id, req.Assignee)
}

// deleteAssignee answers DELETE /v1/customers/{id}/assignee: the customer is in
// nobody's portfolio, and no segment rule puts it back.
func (s *Server) deleteAssignee(w http.ResponseWriter, r *http.Request) {
	if id, ok := customerIDFromPath(w, r); ok {
		s.assign(w, r, id, "")
	}
}

func (s *Server) assign(w http.ResponseWriter, r *http.Request, customerID, collector string) {
	by := "api"
	if key, ok := auth.KeyFrom(r.Context()); ok {
		by = "key:" + key.Name
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	a, _, err := s.Ledger.AssignCustomer(ctx, customerID, collector, by, func(a ledger.Assignment) ledger.AuditEntry {
		return s.auditEntry(r, 0, ledger.AssignmentAudit(a, ledger.AuditApplied))
	})
	var refused string
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, newAssigneeView(a))
		return
	case errors.Is(err, ledger.ErrUnknownCustomer):
		writeError(w, http.StatusNotFound, "unknown customer "+customerID, nil)
		return
	case errors.Is(err, ledger.ErrNotCollector), errors.Is(err, ledger.ErrInvalid):
		// A key's name is at most 64 characters: a longer one is quoted cut, so that
		// the refusal's audit entry fits (an entry's reason is at most 1000 bytes).
		if r := []rune(collector); len(r) > 64 {
			collector = string(r[:64]) + "…"
		}
		refused = fmt.Sprintf("%q is not a collector: no active API key of that name has the operator scope", collector)
	default:
		s.fail(w, r, "assigning the customer", err)
		return
	}
	e := ledger.AssignmentAudit(ledger.Assignment{CustomerID: customerID, Collector: collector}, ledger.AuditRejected)
	e.Reason = refused
	s.audit(r, http.StatusUnprocessableEntity, e)
	fields := map[string]string{"assignee": refused}
	writeError(w, http.StatusUnprocessableEntity, "invalid assignment: "+describe(fields), fields)
}

// assignByRule puts the customer of a newly issued invoice in the portfolio its
// segment's (or band's) rule names, unless an operator chose by hand. It runs before
// the invoice's workflow starts, so its first task finds the collector. A failure
// is logged and leaves the customer as it was: the assignment is derived from the
// rules and is made again with the customer's next invoice.
func (s *Server) assignByRule(ctx context.Context, customerID, segment string) {
	collector, rule, ok := s.Policies.CollectorFor(segment, func() (string, error) {
		c, err := s.reporter().Customer(ctx, customerID)
		return c.Band, err
	})
	if !ok {
		return
	}
	if _, changed, err := s.Ledger.AssignByRule(ctx, customerID, collector, rule); err != nil {
		s.Logger.Warn("Assigning the customer by rule failed; it stays as it was", "customer_id", customerID,
			"collector", collector, "rule", rule, "error", err)
	} else if changed {
		s.Logger.Info("Customer assigned by rule", "customer_id", customerID, "collector", collector, "rule", rule)
	}
}
