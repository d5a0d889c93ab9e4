package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/reports"
	"github.com/dunwell/dunwell/workflows/accountapi"
)

// customerView is the customer as GET /v1/customers/{id} answers it: the ledger's
// view and the state of the customer's account workflow.
type customerView struct {
	reports.Customer
	// Account is the account workflow's state (docs/accounts.md); null when the
	// customer never had one or it is past the namespace's retention.
	Account *accountView `json:"account"`
	// Assignee is whose portfolio the customer is in (docs/collectors.md): its
	// assignee is "" when an operator unassigned it; null when it never was assigned.
	Assignee *AssigneeView `json:"assignee"`
}

// accountView is what the API shows of an account: no addresses, no policy terms.
type accountView struct {
	OpenInvoices []string             `json:"open_invoices"`
	Pending      []accountPending     `json:"pending"`
	Messages     []accountapi.Message `json:"messages"`
}

// accountPending is a reminder waiting for its window's message.
type accountPending struct {
	InvoiceID string    `json:"invoice_id"`
	Step      string    `json:"step"`
	Channel   string    `json:"channel"`
	ReadyAt   time.Time `json:"ready_at"`
	Withdrawn string    `json:"withdrawn,omitempty"`
}

func newAccountView(v accountapi.View) *accountView {
	out := &accountView{OpenInvoices: append([]string{}, v.Open...), Pending: []accountPending{}, Messages: append([]accountapi.Message{}, v.Messages...)}
	for _, p := range v.Pending {
		out.Pending = append(out.Pending, accountPending{InvoiceID: p.Request.Line.InvoiceID, Step: p.Request.Line.Step,
			Channel: string(p.Request.Channel), ReadyAt: p.ReadyAt, Withdrawn: p.Withdrawn})
	}
	return out
}

// getCustomer answers GET /v1/customers/{id}: the customer's open invoices and
// balances per currency, payment behaviour and band (docs/kpis.md), and the state of
// their account workflow (open invoices, reminders waiting for a message, recent
// messages); 404 for a customer without any invoice.
func (s *Server) getCustomer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !collection.IDPattern.MatchString(id) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown customer %q", id), nil)
		return
	}
	if len(r.URL.Query()) > 0 {
		bad := map[string]string{}
		for name := range r.URL.Query() {
			bad[name] = "is not a parameter of this route"
		}
		writeError(w, http.StatusBadRequest, "invalid parameters: "+describe(bad), bad)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
	defer cancel()
	c, err := s.reporter().Customer(ctx, id)
	switch {
	case errors.Is(err, reports.ErrNotFound):
		writeError(w, http.StatusNotFound, "unknown customer "+id, nil)
	case err != nil:
		s.fail(w, r, "reading the customer", err)
	default:
		view := customerView{Customer: c}
		if a, ok, err := s.Ledger.Assignee(ctx, id); err != nil {
			s.fail(w, r, "reading the customer's collector", err)
			return
		} else if ok {
			view.Assignee = newAssigneeView(a)
		}
		acct, err := (&accountapi.Client{Temporal: s.Temporal}).State(ctx, id)
		switch {
		case errors.Is(err, accountapi.ErrNotFound):
		case err != nil:
			s.fail(w, r, "querying the customer's account", err)
			return
		default:
			view.Account = newAccountView(acct)
		}
		writeJSON(w, http.StatusOK, view)
	}
}
