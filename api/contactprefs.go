package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/ledger"
)

// A customer's channel order (docs/portal.md, "How we contact you"): which message
// channel a reminder whose policy step offers several tries first. The customer
// chooses it on the portal; an operator sets it here, for a customer who asked on
// the phone. Both store it in the ledger, where the invoice workflows read it at each
// such step, so it holds for the invoices open now and for those issued later.

// ContactPreferencesRequest sets a customer's channel order:
// PUT /v1/customers/{id}/contact-preferences.
type ContactPreferencesRequest struct {
	// ChannelOrder is most wanted first: ["sms", "email"] or ["email", "sms"] (or one
	// of them alone).
	ChannelOrder []string `json:"channel_order"`
}

// ContactPreferencesView is a customer's channel order as the API shows it; an empty
// order means the customer never chose (each step's own order holds).
type ContactPreferencesView struct {
	CustomerID   string   `json:"customer_id"`
	ChannelOrder []string `json:"channel_order"`
	Source       string   `json:"source,omitempty"`
	ChangedBy    string   `json:"changed_by,omitempty"`
	ChangedAt    string   `json:"changed_at,omitempty"`
}

func newContactPreferencesView(customerID string, o ledger.ChannelOrder, ok bool) ContactPreferencesView {
	v := ContactPreferencesView{CustomerID: customerID, ChannelOrder: []string{}}
	if ok {
		v.ChannelOrder, v.Source, v.ChangedBy, v.ChangedAt = o.Order, o.Source, o.ChangedBy, o.ChangedAt.Format(time.RFC3339)
	}
	return v
}

func (s *Server) contactPreferenceRoutes(mux *routeMux) {
	mux.Handle("GET /v1/customers/{id}/contact-preferences", s.require(auth.ScopeRead, s.getContactPreferences))
	mux.Handle("PUT /v1/customers/{id}/contact-preferences", s.require(auth.ScopeOperator, s.putContactPreferences))
}

// getContactPreferences answers GET /v1/customers/{id}/contact-preferences: 200 with
// the order (empty when never chosen), 404 for a customer without invoices.
func (s *Server) getContactPreferences(w http.ResponseWriter, r *http.Request) {
	id, ok := customerIDFromPath(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	known, err := s.Ledger.CustomerExists(ctx, id)
	if err != nil {
		s.fail(w, r, "looking up the customer", err)
		return
	}
	if !known {
		writeError(w, http.StatusNotFound, "unknown customer "+id, nil)
		return
	}
	o, chosen, err := s.Ledger.CustomerChannelOrder(ctx, id)
	if err != nil {
		s.fail(w, r, "reading the channel order", err)
		return
	}
	writeJSON(w, http.StatusOK, newContactPreferencesView(id, o, chosen))
}

// putContactPreferences answers PUT /v1/customers/{id}/contact-preferences: 200 with
// the stored order, which commits with its audit entry (customer.contact_preferences,
// on the customer's timeline); 400 for an order that is not one or two distinct
// channels among email and sms, 404 for an unknown customer. The same order again
// changes nothing and writes no entry.
func (s *Server) putContactPreferences(w http.ResponseWriter, r *http.Request) {
	id, ok := customerIDFromPath(w, r)
	if !ok {
		return
	}
	var req ContactPreferencesRequest
	if !decode(w, r, &req) {
		return
	}
	if !ledger.ValidChannelOrder(req.ChannelOrder) {
		fields := map[string]string{"channel_order": `must be one or two distinct channels among "email" and "sms", most wanted first`}
		writeError(w, http.StatusBadRequest, "invalid contact preferences: "+describe(fields), fields)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	o, _, err := s.Ledger.SetChannelOrder(ctx, id, req.ChannelOrder, ledger.PreferenceByOperator, actorOf(r), func(o ledger.ChannelOrder) ledger.AuditEntry {
		return s.auditEntry(r, http.StatusOK, ledger.AuditEntry{Action: ledger.AuditContactPreferences, Outcome: ledger.AuditApplied,
			Details: map[string]any{"customer_id": id, "channel_order": o.Order}})
	})
	switch {
	case errors.Is(err, ledger.ErrUnknownCustomer):
		writeError(w, http.StatusNotFound, "unknown customer "+id, nil)
	case err != nil:
		s.fail(w, r, "storing the channel order", err)
	default:
		writeJSON(w, http.StatusOK, newContactPreferencesView(id, o, true))
	}
}
