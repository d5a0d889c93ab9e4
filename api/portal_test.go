package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/portal"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// The portal's handler tests: the real API, ledger and portal handlers, a fake
// Temporal whose invoices answer the states each test sets (portalFixture).

const testPublicURL = "https://pay.example.com"

// portalFixture is one customer with open invoices and a portal link.
type portalFixture struct {
	srv      *testServer
	admin    string
	customer string
	path     string // the link's path, /p/<token>
	linkID   int64
	csrf     string
	invoices []string
}

// newPortalFixture issues n invoices of 100.00 EUR (overdue, policy standard) to a
// new customer and makes a portal link for them.
func newPortalFixture(t *testing.T, n int, mutate ...func(*Server)) *portalFixture {
	t.Helper()
	srv := newTestServer(t, testStore, append([]func(*Server){func(s *Server) { s.Portal.PublicURL = testPublicURL }}, mutate...)...)
	admin, _ := newKey(t, testStore, auth.AllScopes()...)
	f := &portalFixture{srv: srv, admin: admin, customer: uid("C")}
	for range n {
		id := uid("INV")
		body := fmt.Sprintf(`{"id": %q, "customer": {"id": %q, "name": "Ada", "email": "ada@example.com", "timezone": "Europe/Paris",
			"locale": "en-GB"}, "currency": "EUR", "amount_due": "100.00", "issued_at": "2026-03-01T10:00:00Z", "due_date": "2026-03-31"}`, id, f.customer)
		require.Equal(t, http.StatusCreated, call(t, srv, "POST", "/v1/invoices", body, bearer(admin)...).code)
		f.setState(id, collection.StatusOverdue, "100.00")
		f.invoices = append(f.invoices, id)
	}
	a := call(t, srv, "POST", "/v1/customers/"+f.customer+"/portal-link", "", bearer(admin)...)
	require.Equal(t, http.StatusCreated, a.code, string(a.body))
	var link PortalLinkResponse
	require.NoError(t, json.Unmarshal(a.body, &link))
	require.True(t, strings.HasPrefix(link.URL, testPublicURL+portal.PathPrefix), link.URL)
	f.path, f.linkID = strings.TrimPrefix(link.URL, testPublicURL), link.ID
	tok, err := portal.ParseToken(strings.TrimPrefix(f.path, portal.PathPrefix))
	require.NoError(t, err)
	f.csrf = tok.CSRF()
	return f
}

// setState makes the fake workflow of invoice id answer this state.
func (f *portalFixture) setState(id string, status collection.Status, balance string) {
	f.srv.temporal.mu.Lock()
	defer f.srv.temporal.mu.Unlock()
	f.srv.temporal.views[invoiceapi.WorkflowID(id)] = collection.View{InvoiceID: id, CustomerID: f.customer, Status: status,
		Currency: "EUR", AmountDue: "100.00", OriginalAmount: "100.00", Balance: balance, Credit: "0.00", Fees: "0.00",
		Interest: "0.00", Discount: "0.00", DueDate: "2026-03-31", Policy: collection.PolicyRef{ID: "standard", Version: 3},
		Locale: "en-GB", Timezone: "Europe/Paris", PaymentURL: "https://billing.example.com/pay/" + id}
}

// sent returns the update arguments the invoice's workflow got.
func (f *portalFixture) sent(id string) []any {
	f.srv.temporal.mu.Lock()
	defer f.srv.temporal.mu.Unlock()
	return append([]any{}, f.srv.temporal.args[invoiceapi.WorkflowID(id)]...)
}

// noRedirects is a client that shows a redirect instead of following it.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// post submits a portal form (the fixture's CSRF token unless form sets one) as a
// same-origin browser page would; headers replace the browser's.
func (f *portalFixture) post(t *testing.T, action string, form url.Values, headers ...string) answer {
	t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", f.csrf)
	}
	req := newRequest(t, "POST", f.srv.URL+f.path+"/"+action, form.Encode(), "application/x-www-form-urlencoded", nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := noRedirects.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{code: resp.StatusCode, header: resp.Header, body: b}
}

// page GETs the link's page (or path under the server).
func (f *portalFixture) page(t *testing.T, path string) answer {
	t.Helper()
	return call(t, f.srv, "GET", path, "")
}

// audit returns the invoice's portal audit entries.
func (f *portalFixture) audit(t *testing.T, id string) []ledger.AuditEntry {
	t.Helper()
	entries, err := testStore.ListAudit(t.Context(), id)
	require.NoError(t, err)
	var out []ledger.AuditEntry
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "portal.") {
			out = append(out, e)
		}
	}
	return out
}

func today(t *testing.T) time.Time {
	loc, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	return time.Now().In(loc)
}

func day(t *testing.T, days int) string { return today(t).AddDate(0, 0, days).Format(time.DateOnly) }

func TestPortalLinkOpensThePageUntilRevokedOrExpired(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t, 2)
	a := f.page(t, f.path)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	for h, want := range map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
		"Referrer-Policy": "same-origin"} {
		require.Equal(t, want, a.header.Get(h), h)
	}
	require.Contains(t, a.header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	require.Contains(t, a.header.Get("Content-Security-Policy"), "default-src 'none'")
	page := string(a.body)
	for _, id := range f.invoices {
		require.Contains(t, page, "Invoice "+id)
		require.Contains(t, page, "https://billing.example.com/pay/"+id)
	}
	require.Contains(t, page, `lang="en"`)
	require.Contains(t, page, `name="csrf" value="`+f.csrf+`"`)
	require.NotContains(t, page, "ada@example.com", "no personal data beyond what the customer gave")
	require.NotContains(t, page, "<script")
	require.Contains(t, page, "100.00 EUR")

	// The link's creation is audited.
	require.Len(t, f.path, len(portal.PathPrefix)+portal.TokenLength, "short enough for an SMS")

	// A tampered link shows nothing: one character changed, or not a token at all.
	tampered := []byte(f.path)
	last := len(tampered) - 2
	tampered[last] = map[bool]byte{true: 'A', false: 'B'}[tampered[last] != 'A']
	for _, p := range []string{string(tampered), portal.PathPrefix + "nope", portal.PathPrefix + strings.Repeat("A", portal.TokenLength)} {
		a := f.page(t, p)
		require.Equal(t, http.StatusNotFound, a.code, p)
		require.NotContains(t, string(a.body), f.invoices[0])
		require.Equal(t, "no-store", a.header.Get("Cache-Control"))
	}

	// Revoked: 410, and no form works any more.
	other := call(t, f.srv, "POST", "/v1/customers/"+f.customer+"/portal-link", "", bearer(f.admin)...)
	require.Equal(t, http.StatusCreated, other.code)
	revoke := fmt.Sprintf("/v1/customers/%s/portal-links/%d", f.customer, f.linkID)
	a = call(t, f.srv, "DELETE", revoke, "", bearer(f.admin)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	require.JSONEq(t, fmt.Sprintf(`{"customer_id": %q, "revoked": 1}`, f.customer), string(a.body))
	a = call(t, f.srv, "DELETE", revoke, "", bearer(f.admin)...)
	require.Equal(t, http.StatusOK, a.code, "revoking again is idempotent")
	require.JSONEq(t, fmt.Sprintf(`{"customer_id": %q, "revoked": 0}`, f.customer), string(a.body), "and revokes nothing")
	a = f.page(t, f.path)
	require.Equal(t, http.StatusGone, a.code)
	require.NotContains(t, string(a.body), f.invoices[0])
	a = f.post(t, "promise", url.Values{"invoice": {f.invoices[0]}, "date": {day(t, 3)}, "amount": {"10.00"}})
	require.Equal(t, http.StatusGone, a.code)
	require.Empty(t, f.sent(f.invoices[0]))

	// The other link still works until all of the customer's are revoked.
	var second PortalLinkResponse
	require.NoError(t, json.Unmarshal(other.body, &second))
	secondPath := strings.TrimPrefix(second.URL, testPublicURL)
	require.Equal(t, http.StatusOK, f.page(t, secondPath).code)
	a = call(t, f.srv, "DELETE", "/v1/customers/"+f.customer+"/portal-links", "", bearer(f.admin)...)
	require.Equal(t, http.StatusOK, a.code)
	require.JSONEq(t, fmt.Sprintf(`{"customer_id": %q, "revoked": 1}`, f.customer), string(a.body))
	require.Equal(t, http.StatusGone, f.page(t, secondPath).code)

	// Another customer's link id is not this customer's to revoke.
	a = call(t, f.srv, "DELETE", fmt.Sprintf("/v1/customers/%s/portal-links/%d", uid("C"), second.ID), "", bearer(f.admin)...)
	require.Equal(t, http.StatusNotFound, a.code)
}

func TestPortalLinkCreationRefusals(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t, 1)
	a := call(t, f.srv, "POST", "/v1/customers/"+uid("C")+"/portal-link", "", bearer(f.admin)...)
	require.Equal(t, http.StatusNotFound, a.code, "a customer without invoices")

	noURL := newTestServer(t, testStore)
	a = call(t, noURL, "POST", "/v1/customers/"+f.customer+"/portal-link", "", bearer(f.admin)...)
	require.Equal(t, http.StatusServiceUnavailable, a.code)
	require.Contains(t, a.errorText(t), "DUNWELL_PUBLIC_URL")

	// A body may only set this link's life; anything else in it is refused, and no link is made.
	for body, field := range map[string]string{
		`{"ttl": "2h"}`:            "ttl",
		`{"expires_in": "2 days"}`: "expires_in",
		`{"expires_in": "30m"}`:    "expires_in",
		`{"expires_in": "9000h"}`:  "expires_in",
		`{"expires_in": 7200}`:     "expires_in",
	} {
		a = call(t, f.srv, "POST", "/v1/customers/"+f.customer+"/portal-link", body, bearer(f.admin)...)
		require.Equal(t, http.StatusBadRequest, a.code, body)
		require.Contains(t, string(a.body), `"`+field+`"`, body)
	}
	a = call(t, f.srv, "POST", "/v1/customers/"+f.customer+"/portal-link", `{"expires_in": "2h"}`, bearer(f.admin)...)
	require.Equal(t, http.StatusCreated, a.code, string(a.body))
	var short PortalLinkResponse
	require.NoError(t, json.Unmarshal(a.body, &short))
	require.WithinDuration(t, time.Now().Add(2*time.Hour), short.ExpiresAt, time.Minute)

	// Expired: a server whose clock is past the link's expiry answers 410.
	later := newTestServer(t, testStore, func(s *Server) { s.Now = func() time.Time { return time.Now().Add(DefaultPortalLinkTTL + time.Hour) } })
	require.Equal(t, http.StatusGone, call(t, later, "GET", f.path, "").code)
}

func TestPortalPromise(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t, 2)
	inv := f.invoices[0]

	for name, c := range map[string]struct {
		date, amount, want string
	}{
		"past date":         {day(t, -1), "10.00", "cannot be in the past"},
		"beyond the limit":  {day(t, 31), "10.00", "must be no later than"},
		"not a date":        {"next friday", "10.00", "YYYY-MM-DD"},
		"above the balance": {day(t, 3), "100.01", "more than what is due (100.00 EUR)"},
		"zero":              {day(t, 3), "0", "more than zero"},
		"not an amount":     {day(t, 3), "ten", "amount like 120.50"},
		"too many decimals": {day(t, 3), "1.001", "amount like 120.50"},
	} {
		a := f.post(t, "promise", url.Values{"invoice": {inv}, "date": {c.date}, "amount": {c.amount}})
		require.Equal(t, http.StatusUnprocessableEntity, a.code, name)
		require.Contains(t, string(a.body), c.want, name)
		require.Contains(t, string(a.body), "Nothing was changed", name)
	}
	require.Empty(t, f.sent(inv), "no refused promise reaches the workflow")

	a := f.post(t, "promise", url.Values{"invoice": {inv}, "date": {day(t, 30)}, "amount": {"40.00"}})
	require.Equal(t, http.StatusSeeOther, a.code, string(a.body))
	require.Equal(t, f.path+"?done=promise&invoice="+inv, a.header.Get("Location"))
	require.Equal(t, []any{invoiceapi.PromiseInput{Date: day(t, 30), Amount: 4000, Reason: "promised on the customer's portal",
		By: fmt.Sprintf("customer:link-%d", f.linkID)}}, f.sent(inv))

	shown := f.page(t, a.header.Get("Location"))
	require.Contains(t, string(shown.body), "Your promise to pay invoice "+inv+" is recorded")

	trail := f.audit(t, inv)
	require.NotEmpty(t, trail)
	last := trail[len(trail)-1]
	require.Equal(t, "portal.promise", last.Action)
	require.Equal(t, ledger.AuditApplied, last.Outcome)
	require.Equal(t, "customer", last.Details["actor"])
	require.EqualValues(t, f.linkID, last.Details["link_id"])
	require.Equal(t, "portal.promise", trail[0].Action)
	require.Equal(t, ledger.AuditRejected, trail[0].Outcome, "refusals are in the trail too")

	// The workflow refuses what the page could not know: answered in words, 409.
	f.srv.temporal.mu.Lock()
	f.srv.temporal.rejects[invoiceapi.UpdatePromise] = invoiceapi.EncodeError(&collection.ConflictError{Status: collection.StatusDisputed, Reason: "the invoice is disputed"})
	f.srv.temporal.mu.Unlock()
	a = f.post(t, "promise", url.Values{"invoice": {f.invoices[1]}, "date": {day(t, 3)}, "amount": {"10.00"}})
	require.Equal(t, http.StatusConflict, a.code)
	require.Contains(t, string(a.body), "That did not work (the invoice is disputed). Nothing was changed.")
}

func TestPortalDispute(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t, 2)
	inv, paid := f.invoices[0], f.invoices[1]
	f.setState(paid, collection.StatusPaid, "0.00")

	a := f.post(t, "dispute", url.Values{"invoice": {inv}, "reason": {"bribe"}})
	require.Equal(t, http.StatusUnprocessableEntity, a.code)
	require.Contains(t, string(a.body), "Please choose what is wrong")
	a = f.post(t, "dispute", url.Values{"invoice": {inv}, "reason": {"other"}, "text": {"  "}})
	require.Equal(t, http.StatusUnprocessableEntity, a.code)
	require.Contains(t, string(a.body), "Please tell us what is wrong")
	a = f.post(t, "dispute", url.Values{"invoice": {inv}, "reason": {"other"}, "text": {strings.Repeat("x", 1001)}})
	require.Equal(t, http.StatusUnprocessableEntity, a.code)
	a = f.post(t, "dispute", url.Values{"invoice": {paid}, "reason": {"wrong_amount"}})
	require.Equal(t, http.StatusConflict, a.code, "the state forbids it: 409 (was 422)")
	require.Contains(t, string(a.body), "Invoice "+paid+" is Paid already")
	f.setState(paid, collection.StatusEscalated, "100.00")
	a = f.post(t, "dispute", url.Values{"invoice": {paid}, "reason": {"wrong_amount"}})
	require.Equal(t, http.StatusConflict, a.code, "escalated: the state forbids it (was 422)")
	require.Contains(t, string(a.body), "Nothing was changed")
	require.Empty(t, f.sent(inv))
	require.Empty(t, f.sent(paid))

	a = f.post(t, "dispute", url.Values{"invoice": {inv}, "reason": {"wrong_amount"}, "text": {"We ordered 3, not 4."}})
	require.Equal(t, http.StatusSeeOther, a.code, string(a.body))
	sent := f.sent(inv)
	require.Len(t, sent, 1)
	d := sent[0].(invoiceapi.DisputeInput)
	require.Equal(t, "customer: wrong amount: We ordered 3, not 4.", d.Reason)
	require.Equal(t, fmt.Sprintf("customer:link-%d", f.linkID), d.By)
	require.True(t, strings.HasPrefix(d.DisputeID, fmt.Sprintf("portal-%d-", f.linkID)))
}

func TestPortalPlanWithinLimitsIsAgreedOtherwiseWaitsForAnOperator(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t, 2)
	inv, big := f.invoices[0], f.invoices[1]

	a := f.post(t, "plan", url.Values{"invoice": {inv}, "count": {"1"}, "first_date": {day(t, 1)}})
	require.Equal(t, http.StatusUnprocessableEntity, a.code)
	require.Contains(t, string(a.body), "choose 2 to 24 payments")
	a = f.post(t, "plan", url.Values{"invoice": {inv}, "count": {"3"}, "first_date": {day(t, 1)}, "first_amount": {"100.00"}})
	require.Equal(t, http.StatusUnprocessableEntity, a.code)
	require.Contains(t, string(a.body), "first payment must be less than what is due")
	require.Empty(t, f.sent(inv))

	// Within standard's limits (3 payments, 90 days, 25% first): agreed at once.
	a = f.post(t, "plan", url.Values{"invoice": {inv}, "count": {"3"}, "first_date": {day(t, 1)}})
	require.Equal(t, http.StatusSeeOther, a.code, string(a.body))
	require.Equal(t, f.path+"?done=plan&invoice="+inv, a.header.Get("Location"))
	sent := f.sent(inv)
	require.Len(t, sent, 1)
	plan := sent[0].(invoiceapi.PlanInput)
	require.Equal(t, []invoiceapi.Installment{{DueDate: day(t, 1), Amount: 3334}, {DueDate: today(t).AddDate(0, 1, 1).Format(time.DateOnly), Amount: 3333},
		{DueDate: today(t).AddDate(0, 2, 1).Format(time.DateOnly), Amount: 3333}}, plan.Installments)

	// Six payments: beyond the limit, so it waits; a second request for it is refused.
	a = f.post(t, "plan", url.Values{"invoice": {big}, "count": {"6"}, "first_date": {day(t, 1)}})
	require.Equal(t, http.StatusSeeOther, a.code, string(a.body))
	require.Equal(t, f.path+"?done=plan_pending&invoice="+big, a.header.Get("Location"))
	require.Empty(t, f.sent(big))
	require.Contains(t, string(f.page(t, f.path).body), "Your request to pay in 6 installments is waiting for our team")
	a = f.post(t, "plan", url.Values{"invoice": {big}, "count": {"4"}, "first_date": {day(t, 1)}})
	require.Equal(t, http.StatusUnprocessableEntity, a.code)
	require.Contains(t, string(a.body), "already waiting for our team")

	// The operator sees it and approves it: the plan update goes to the workflow.
	var list PlanRequestsResponse
	a = call(t, f.srv, "GET", "/v1/plan-requests?status=pending", "", bearer(f.admin)...)
	require.Equal(t, http.StatusOK, a.code)
	require.NoError(t, json.Unmarshal(a.body, &list))
	var req ledger.PlanRequest
	for _, p := range list.PlanRequests {
		if p.InvoiceID == big {
			req = p
		}
	}
	require.Len(t, req.Installments, 6)
	require.Contains(t, req.WhyPending, "6 installments; at most 3")
	require.Equal(t, http.StatusBadRequest, call(t, f.srv, "GET", "/v1/plan-requests?status=maybe", "", bearer(f.admin)...).code)

	a = call(t, f.srv, "POST", fmt.Sprintf("/v1/plan-requests/%d/approve", req.ID), `{"reason": "good customer"}`, bearer(f.admin)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	sent = f.sent(big)
	require.Len(t, sent, 1)
	require.Len(t, sent[0].(invoiceapi.PlanInput).Installments, 6)
	a = call(t, f.srv, "POST", fmt.Sprintf("/v1/plan-requests/%d/reject", req.ID), `{"reason": "changed my mind"}`, bearer(f.admin)...)
	require.Equal(t, http.StatusConflict, a.code, "decided already")
	require.Equal(t, http.StatusNotFound, call(t, f.srv, "POST", "/v1/plan-requests/999999999/approve", "", bearer(f.admin)...).code)

	actions := map[string]string{}
	for _, e := range f.audit(t, big) {
		actions[e.Action] = e.Outcome
	}
	require.Equal(t, map[string]string{ledger.AuditPlanRequest: ledger.PlanPending, ledger.AuditPlanApprove: ledger.AuditApplied,
		"portal.plan": ledger.AuditRejected}, actions)
}

func TestPortalPreferencesRecordOptOuts(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t, 1)
	addr := uid("ada") + "@example.com"
	require.NoError(t, testStore.RememberAddress(t.Context(), ledger.ChannelEmail, addr, f.customer))

	page := string(f.page(t, f.path).body)
	require.Regexp(t, regexp.MustCompile(`name="email"\s+checked`), page)
	require.Regexp(t, regexp.MustCompile(`name="sms"\s+checked\s+disabled`), page, "no SMS sent yet: nothing to opt out of")

	a := f.post(t, "preferences", url.Values{})
	require.Equal(t, http.StatusSeeOther, a.code, string(a.body))
	o, out, err := testStore.OptedOut(t.Context(), ledger.ChannelEmail, addr)
	require.NoError(t, err)
	require.True(t, out)
	require.Equal(t, ledger.SourcePortal, o.Source)
	f.srv.temporal.mu.Lock()
	require.Contains(t, f.srv.temporal.signals, invoiceapi.WorkflowID(f.invoices[0])+" "+invoiceapi.SignalOptOut)
	f.srv.temporal.mu.Unlock()
	require.Regexp(t, regexp.MustCompile(`name="email"\s+>`), string(f.page(t, f.path).body), "shown unticked")

	a = f.post(t, "preferences", url.Values{"email": {"on"}})
	require.Equal(t, http.StatusSeeOther, a.code)
	_, out, err = testStore.OptedOut(t.Context(), ledger.ChannelEmail, addr)
	require.NoError(t, err)
	require.False(t, out, "ticked again: opted back in")
}

// TestPortalPreferencesChannelOrder: the customer picks the channel tried first; the
// choice is stored for the workflows to read, audited as the customer's with the
// link, on the timeline; a forged or wrong form changes nothing, opt-outs included.
func TestPortalPreferencesChannelOrder(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t, 1)
	addr := uid("ada") + "@example.com"
	require.NoError(t, testStore.RememberAddress(t.Context(), ledger.ChannelEmail, addr, f.customer))
	stored := func() []string {
		o, ok, err := testStore.CustomerChannelOrder(t.Context(), f.customer)
		require.NoError(t, err)
		if !ok {
			return nil
		}
		return o.Order
	}
	nothingChanged := func(why string) {
		t.Helper()
		require.Nil(t, stored(), why)
		_, out, err := testStore.OptedOut(t.Context(), ledger.ChannelEmail, addr)
		require.NoError(t, err)
		require.False(t, out, why+": the email box was unticked in the same form, and stays opted in")
	}

	page := string(f.page(t, f.path).body)
	require.Regexp(t, regexp.MustCompile(`name="first" value="email">`), page, "offered, nothing chosen yet")
	require.Regexp(t, regexp.MustCompile(`name="first" value="sms">`), page)

	noToken := url.Values{"first": {"sms"}, "csrf": {""}}
	require.Equal(t, http.StatusForbidden, f.post(t, "preferences", noToken).code)
	nothingChanged("without its CSRF token")
	require.Equal(t, http.StatusForbidden, f.post(t, "preferences", url.Values{"first": {"sms"}}, "Sec-Fetch-Site", "cross-site").code)
	nothingChanged("from another site")

	for _, bad := range []url.Values{{"first": {"letter"}}, {"first": {""}}, {"first": {"sms", "email"}}, {"first": {"SMS"}}} {
		a := f.post(t, "preferences", bad)
		require.Equal(t, http.StatusUnprocessableEntity, a.code, "%v", bad)
		require.Contains(t, string(a.body), "Please choose email or text message to be contacted by first. Nothing was changed.")
		require.Contains(t, string(a.body), `aria-invalid="true"`)
		nothingChanged(fmt.Sprintf("first %q", bad["first"]))
	}
	a := f.post(t, "preferences", url.Values{"first": {"sms"}, "sms": {"yes please"}})
	require.Equal(t, http.StatusUnprocessableEntity, a.code)
	require.Contains(t, string(a.body), "Please tick or untick the boxes only. Nothing was changed.")
	nothingChanged("a box with a value no checkbox sends")

	a = f.post(t, "preferences", url.Values{"first": {"sms"}, "email": {"on"}})
	require.Equal(t, http.StatusSeeOther, a.code, string(a.body))
	require.Equal(t, []string{"sms", "email"}, stored())
	o, _, err := testStore.CustomerChannelOrder(t.Context(), f.customer)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("customer:link-%d", f.linkID), o.ChangedBy)
	require.Equal(t, ledger.PreferenceByPortal, o.Source)
	page = string(f.page(t, a.header.Get("Location")).body)
	require.Contains(t, page, "Your contact choices are saved.")
	require.Regexp(t, regexp.MustCompile(`name="first" value="sms" checked>`), page, "shown as chosen")

	tl, err := testStore.Timeline(t.Context(), ledger.TimelineQuery{CustomerID: f.customer, Limit: 50, Kinds: []string{ledger.TimelineCustomerAction}})
	require.NoError(t, err)
	var applied []map[string]any
	for _, e := range tl.Entries {
		if e.Details["event"] == "portal.preferences" && e.Details["outcome"] == ledger.AuditApplied {
			require.Equal(t, portal.Actor, e.Actor)
			applied = append(applied, e.Details)
		}
	}
	require.Len(t, applied, 1, "one applied entry on the customer's timeline (the refusals have their own)")
	require.Equal(t, []any{"sms", "email"}, applied[0]["channel_order"])
	require.EqualValues(t, f.linkID, applied[0]["link_id"])

	a = f.post(t, "preferences", url.Values{"first": {"email"}, "email": {"on"}})
	require.Equal(t, http.StatusSeeOther, a.code)
	require.Equal(t, []string{"email", "sms"}, stored(), "changed back")
}

func TestPortalRefusesForgedAndForeignRequests(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t, 1)
	stranger := newPortalFixture(t, 1)
	inv := f.invoices[0]
	form := func() url.Values { return url.Values{"invoice": {inv}, "date": {day(t, 3)}, "amount": {"10.00"}} }

	without := form()
	without.Set("csrf", "")
	require.Equal(t, http.StatusForbidden, f.post(t, "promise", without).code, "no CSRF token")
	wrong := form()
	wrong.Set("csrf", stranger.csrf)
	require.Equal(t, http.StatusForbidden, f.post(t, "promise", wrong).code, "another link's CSRF token")
	require.Equal(t, http.StatusForbidden, f.post(t, "promise", form(), "Sec-Fetch-Site", "cross-site").code)
	require.Equal(t, http.StatusForbidden, f.post(t, "promise", form(), "Sec-Fetch-Site", "", "Origin", "https://evil.example").code)
	require.Equal(t, http.StatusSeeOther, f.post(t, "promise", form(), "Sec-Fetch-Site", "", "Origin", testPublicURL).code,
		"the public URL's origin, behind a proxy")

	// One customer's link on another customer's invoice: 404, nothing of it shown.
	a := stranger.post(t, "dispute", url.Values{"invoice": {inv}, "reason": {"wrong_amount"}})
	require.Equal(t, http.StatusNotFound, a.code)
	require.NotContains(t, string(a.body), inv)
	a = stranger.post(t, "promise", url.Values{"invoice": {"no such invoice"}, "date": {day(t, 3)}, "amount": {"1"}})
	require.Equal(t, http.StatusNotFound, a.code)
	require.Len(t, f.sent(inv), 1, "only the proxied promise went through")
}

func TestPortalRateLimitsPerLink(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t, 1, func(s *Server) { s.RateLimit = RateLimit{PerSecond: 1000, Burst: 1000} })
	codes := map[int]int{}
	for range portalLinkLimit.Burst + 1 {
		codes[f.page(t, f.path).code]++
	}
	require.Equal(t, map[int]int{http.StatusOK: portalLinkLimit.Burst, http.StatusTooManyRequests: 1}, codes)
	a := f.page(t, f.path)
	require.Equal(t, http.StatusTooManyRequests, a.code)
	require.NotEmpty(t, a.header.Get("Retry-After"))
}

// TestPortalShowsTheTermsOfTheInvoicesOwnPolicy: the page and its limits follow the
// policy snapshot the invoice runs under, not the policy's current version.
func TestPortalShowsTheTermsOfTheInvoicesOwnPolicy(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t, 1)
	inv := f.invoices[0]
	rate, err := policy.ParseRate("4%")
	require.NoError(t, err)
	maxLength, err := policy.ParseOffset("10d")
	require.NoError(t, err)
	f.srv.temporal.mu.Lock()
	snap := f.srv.temporal.policies[invoiceapi.WorkflowID(inv)]
	require.Equal(t, "standard", snap.ID, "the start input carried the snapshot")
	snap.LateFee.Percent, snap.Interest = rate, nil
	snap.SelfServicePromise = &policy.SelfServicePromise{MaxLength: maxLength}
	f.srv.temporal.policies[invoiceapi.WorkflowID(inv)] = snap
	view := f.srv.temporal.views[invoiceapi.WorkflowID(inv)]
	view.Fees, view.Balance = "4.00", "104.00"
	f.srv.temporal.views[invoiceapi.WorkflowID(inv)] = view
	f.srv.temporal.mu.Unlock()

	body := string(f.page(t, f.path).body)
	require.Contains(t, body, "late fee of 4%")
	require.NotContains(t, body, "1.5%", "the shipped policy's current fee is not this invoice's")
	require.NotContains(t, body, "interest of 8%")
	a := f.post(t, "promise", url.Values{"invoice": {inv}, "date": {day(t, 11)}, "amount": {"10.00"}})
	require.Equal(t, http.StatusUnprocessableEntity, a.code, "the snapshot's 10 days bound the promise")
	require.Contains(t, string(a.body), "must be no later than")
	a = f.post(t, "promise", url.Values{"invoice": {inv}, "date": {day(t, 10)}, "amount": {"10.00"}})
	require.Equal(t, http.StatusSeeOther, a.code, string(a.body))
}

func TestPortalStatementDownload(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t, 2)
	page := string(f.page(t, f.path).body)
	require.Contains(t, page, `href="`+f.path+"/"+portal.StatementPath+`"`, "the page links the statement")

	a := f.page(t, f.path+"/"+portal.StatementPath)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	require.Equal(t, "application/pdf", a.header.Get("Content-Type"))
	require.True(t, strings.HasPrefix(string(a.body), "%PDF-"))
	require.Contains(t, a.header.Get("Content-Disposition"), "attachment")
	require.Equal(t, "no-store", a.header.Get("Cache-Control"))
	require.Equal(t, "nosniff", a.header.Get("X-Content-Type-Options"))

	require.Equal(t, http.StatusNotFound, f.page(t, portal.PathPrefix+"AAAAAAAAAAAAAAAAAAAAAA/"+portal.StatementPath).code, "an unknown link shows nothing")
	require.Equal(t, http.StatusNotFound, f.page(t, portal.PathPrefix+"nope/"+portal.StatementPath).code)
	require.Equal(t, http.StatusOK, call(t, f.srv, "DELETE", "/v1/customers/"+f.customer+"/portal-links", "", bearer(f.admin)...).code)
	require.Equal(t, http.StatusGone, f.page(t, f.path+"/"+portal.StatementPath).code, "a revoked link downloads nothing")
}
