package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/portal"
	"github.com/dunwell/dunwell/statement"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// The customer's portal (package portal): operators make and revoke its links and
// decide the payment plans customers asked for there; the page and its forms are
// served under /p/ without an API key, the link being the credential.

// DefaultPortalLinkTTL is how long a portal link works unless Portal.LinkTTL says.
const DefaultPortalLinkTTL = 30 * 24 * time.Hour

// MinPortalLinkTTL and MaxPortalLinkTTL bound a link's life, configured or asked for.
const (
	MinPortalLinkTTL = time.Hour
	MaxPortalLinkTTL = 8760 * time.Hour
)

// portalLinkLimit bounds the requests one portal link serves: a person reading and
// submitting a few forms stays far below it; a script replaying a leaked link does not.
var portalLinkLimit = RateLimit{PerSecond: 0.5, Burst: 30}

// Portal configures the customer's portal.
type Portal struct {
	// PublicURL is the base of every link (DUNWELL_PUBLIC_URL); without it no link can
	// be made (503), since none would reach the customer.
	PublicURL string
	// LinkTTL is how long a new link works (DUNWELL_PORTAL_LINK_TTL); 0 means
	// DefaultPortalLinkTTL.
	LinkTTL time.Duration
	// Checkout, when set, is the Stripe Checkout the page's pay form uses.
	Checkout *portal.Checkout
}

// PortalLinkRequest is the optional body of POST /v1/customers/{id}/portal-link.
type PortalLinkRequest struct {
	// ExpiresIn is this link's life as a Go duration ("168h"); empty: the configured one.
	ExpiresIn string `json:"expires_in"`
}

// PortalLinkResponse answers POST /v1/customers/{id}/portal-link.
type PortalLinkResponse struct {
	ID         int64     `json:"id"`
	CustomerID string    `json:"customer_id"`
	URL        string    `json:"url"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// RevokeResponse answers the revocation of portal links.
type RevokeResponse struct {
	CustomerID string `json:"customer_id"`
	Revoked    int64  `json:"revoked"`
}

// PlanRequestsResponse answers GET /v1/plan-requests.
type PlanRequestsResponse struct {
	PlanRequests []ledger.PlanRequest `json:"plan_requests"`
}

func (s *Server) portalRoutes(mux *routeMux) {
	mux.Handle("POST /v1/customers/{id}/portal-link", s.require(auth.ScopeOperator, s.createPortalLink))
	mux.Handle("DELETE /v1/customers/{id}/portal-links/{link}", s.require(auth.ScopeOperator, s.revokePortalLink))
	mux.Handle("DELETE /v1/customers/{id}/portal-links", s.require(auth.ScopeOperator, s.revokePortalLinks))
	mux.Handle("GET /v1/plan-requests", s.require(auth.ScopeRead, s.listPlanRequests))
	mux.Handle("POST /v1/plan-requests/{id}/approve", s.require(auth.ScopeOperator, s.decidePlanRequest(ledger.PlanApproved)))
	mux.Handle("POST /v1/plan-requests/{id}/reject", s.require(auth.ScopeOperator, s.decidePlanRequest(ledger.PlanRejected)))
	s.contactPreferenceRoutes(mux)
	p := &portal.Server{Ledger: s.Ledger, Invoices: s.invoices(), Logger: s.Logger, Now: s.Now,
		Audit: s.audit, ApplyOptOut: s.applyOptOut, Checkout: s.Portal.Checkout, Statement: s.portalStatement}
	if s.Portal.PublicURL != "" {
		p.Origins = []string{publicOrigin(s.Portal.PublicURL)}
	}
	if s.linkLimits != nil {
		p.LimitLink = func(id int64) (bool, time.Duration) {
			return s.linkLimits.take("link:"+strconv.FormatInt(id, 10), s.now())
		}
	}
	p.Routes(func(pattern string, h http.Handler) { mux.Handle(pattern, s.limitAddr(h)) })
}

// publicOrigin is the scheme://host[:port] of a base URL.
func publicOrigin(base string) string {
	scheme, rest, _ := strings.Cut(base, "://")
	host, _, _ := strings.Cut(rest, "/")
	return scheme + "://" + host
}

// actorOf names the caller for the records it leaves: "key:<name>".
func actorOf(r *http.Request) string {
	if key, ok := auth.KeyFrom(r.Context()); ok {
		return "key:" + key.Name
	}
	return "api"
}

// createPortalLink serves POST /v1/customers/{id}/portal-link: a new link to the
// customer's page, valid for the configured time.
func (s *Server) createPortalLink(w http.ResponseWriter, r *http.Request) {
	customer, ok := customerIDFromPath(w, r)
	if !ok {
		return
	}
	if s.Portal.PublicURL == "" {
		writeError(w, http.StatusServiceUnavailable, "no portal link can be made: set DUNWELL_PUBLIC_URL to the address customers reach Dunwell at", nil)
		return
	}
	ttl := s.Portal.LinkTTL
	if ttl <= 0 {
		ttl = DefaultPortalLinkTTL
	}
	// The body is optional; when sent it may only shorten or lengthen this link's life,
	// and anything else in it is refused rather than ignored.
	if r.ContentLength != 0 {
		var req PortalLinkRequest
		if !decode(w, r, &req) {
			return
		}
		if req.ExpiresIn != "" {
			d, err := time.ParseDuration(req.ExpiresIn)
			if err != nil || d < MinPortalLinkTTL || d > MaxPortalLinkTTL {
				writeError(w, http.StatusBadRequest, "invalid portal link request", map[string]string{
					"expires_in": "must be a duration from 1h to 8760h (a year), like \"168h\""})
				return
			}
			ttl = d
		}
	}
	tok, err := portal.NewToken()
	if err != nil {
		s.fail(w, r, "making the portal link", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	expires := s.now().Add(ttl).UTC().Truncate(time.Second)
	link, err := s.Ledger.CreatePortalLink(ctx, tok.Hash(), customer, actorOf(r), expires)
	if errors.Is(err, ledger.ErrNotFound) {
		writeError(w, http.StatusNotFound, "unknown customer "+customer+": no invoice was issued to them", nil)
		return
	}
	if err != nil {
		s.fail(w, r, "storing the portal link", err)
		return
	}
	s.audit(r, http.StatusCreated, ledger.AuditEntry{Action: ledger.AuditPortalLinkCreate, Outcome: ledger.AuditCreated,
		Details: map[string]any{"customer_id": customer, "link_id": link.ID, "expires_at": link.ExpiresAt}})
	writeJSON(w, http.StatusCreated, PortalLinkResponse{ID: link.ID, CustomerID: customer,
		URL: s.Portal.PublicURL + portal.PathPrefix + tok.String(), ExpiresAt: link.ExpiresAt})
}

// revokePortalLink serves DELETE /v1/customers/{id}/portal-links/{link}.
func (s *Server) revokePortalLink(w http.ResponseWriter, r *http.Request) {
	customer, ok := customerIDFromPath(w, r)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("link"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown portal link %q", r.PathValue("link")), nil)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	now := s.now().Truncate(time.Microsecond) // as PostgreSQL keeps it, so it compares equal below
	link, err := s.Ledger.RevokePortalLink(ctx, customer, id, now)
	if errors.Is(err, ledger.ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("customer %s has no portal link %d", customer, id), nil)
		return
	}
	if err != nil {
		s.fail(w, r, "revoking the portal link", err)
		return
	}
	// Revoking a revoked link again is answered the same way but counts nothing.
	if link.RevokedAt != nil && !link.RevokedAt.Equal(now) {
		writeJSON(w, http.StatusOK, RevokeResponse{CustomerID: customer, Revoked: 0})
		return
	}
	s.audit(r, http.StatusOK, ledger.AuditEntry{Action: ledger.AuditPortalLinkRevoke, Outcome: ledger.AuditRevoked,
		Details: map[string]any{"customer_id": customer, "link_id": id}})
	writeJSON(w, http.StatusOK, RevokeResponse{CustomerID: customer, Revoked: 1})
}

// revokePortalLinks serves DELETE /v1/customers/{id}/portal-links: every link of the
// customer stops working.
func (s *Server) revokePortalLinks(w http.ResponseWriter, r *http.Request) {
	customer, ok := customerIDFromPath(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	n, err := s.Ledger.RevokePortalLinks(ctx, customer, s.now())
	if err != nil {
		s.fail(w, r, "revoking the portal links", err)
		return
	}
	s.audit(r, http.StatusOK, ledger.AuditEntry{Action: ledger.AuditPortalLinkRevoke, Outcome: ledger.AuditRevoked,
		Details: map[string]any{"customer_id": customer, "revoked": n}})
	writeJSON(w, http.StatusOK, RevokeResponse{CustomerID: customer, Revoked: n})
}

// listPlanRequests serves GET /v1/plan-requests[?status=pending|approved|rejected].
func (s *Server) listPlanRequests(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	bad := map[string]string{}
	for name := range q {
		if name != "status" {
			bad[name] = "is not a parameter of this route"
		}
	}
	status := q.Get("status")
	switch status {
	case "", ledger.PlanPending, ledger.PlanApproved, ledger.PlanRejected:
	default:
		bad["status"] = "must be pending, approved or rejected"
	}
	if len(bad) > 0 {
		writeError(w, http.StatusBadRequest, "invalid parameters: "+describe(bad), bad)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	list, err := s.Ledger.ListPlanRequests(ctx, status)
	if err != nil {
		s.fail(w, r, "listing plan requests", err)
		return
	}
	if list == nil {
		list = []ledger.PlanRequest{}
	}
	writeJSON(w, http.StatusOK, PlanRequestsResponse{PlanRequests: list})
}

// decidePlanRequest serves POST /v1/plan-requests/{id}/approve and .../reject. An
// approval sends the plan update first (with an id of the request's, so a retry
// sends it once) and records the decision only once the workflow agreed the plan; a
// plan the invoice no longer allows is answered 409 or 422 and stays pending.
func (s *Server) decidePlanRequest(status string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			writeError(w, http.StatusNotFound, fmt.Sprintf("unknown plan request %q", r.PathValue("id")), nil)
			return
		}
		var req ReasonRequest
		if r.ContentLength != 0 && !decode(w, r, &req) {
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		p, err := s.Ledger.GetPlanRequest(ctx, id)
		switch {
		case errors.Is(err, ledger.ErrNotFound):
			writeError(w, http.StatusNotFound, fmt.Sprintf("unknown plan request %d", id), nil)
			return
		case err != nil:
			s.fail(w, r, "reading the plan request", err)
			return
		case p.Status != ledger.PlanPending:
			writeError(w, http.StatusConflict, fmt.Sprintf("plan request %d was %s already; nothing was changed", id, p.Status),
				map[string]string{"status": "the request is " + p.Status})
			return
		}
		by := actorOf(r)
		action := ledger.AuditPlanReject
		details := map[string]any{"plan_request_id": id, "installments": len(p.Installments)}
		if status == ledger.PlanApproved {
			action = ledger.AuditPlanApprove
			in := invoiceapi.PlanInput{GraceDays: 3, By: by, Reason: strings.TrimSpace("approved portal plan request " + strconv.FormatInt(id, 10) + ": " + req.Reason)}
			for _, it := range p.Installments {
				in.Installments = append(in.Installments, invoiceapi.Installment{DueDate: it.DueDate, Amount: it.Amount})
			}
			if _, err := s.invoices().Plan(ctx, p.InvoiceID, "plan-request-"+strconv.FormatInt(id, 10), in); err != nil {
				s.actionFailed(w, r, p.InvoiceID, action, details, err)
				return
			}
		}
		decided, err := s.Ledger.DecidePlanRequest(ctx, id, status, by, req.Reason, s.now(), func(p ledger.PlanRequest) ledger.AuditEntry {
			return s.auditEntry(r, 0, ledger.AuditEntry{Action: action, Outcome: ledger.AuditApplied, InvoiceID: p.InvoiceID, Reason: req.Reason, Details: details})
		})
		switch {
		case errors.Is(err, ledger.ErrPlanDecided):
			writeError(w, http.StatusConflict, fmt.Sprintf("plan request %d was decided by someone else meanwhile; nothing more was changed", id), nil)
		case err != nil:
			s.fail(w, r, "recording the decision", err)
		default:
			writeJSON(w, http.StatusOK, decided)
		}
	}
}

// portalStatement is the customer's statement as of today for the portal's download:
// the statement GET /v1/customers/{id}/statement serves as a PDF, in locale.
func (s *Server) portalStatement(ctx context.Context, customerID, locale string) ([]byte, string, error) {
	st, err := statement.Build(ctx, s.Ledger, customerID, statement.Options{AsOf: statement.Day(s.now()), Terms: s.termsIn(locale)})
	if err != nil {
		return nil, "", err
	}
	pdf, err := statement.PDF(st, statement.PDFOptions{From: s.Business, Locale: locale})
	return pdf, st.AsOf, err
}
