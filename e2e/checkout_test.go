package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/api"
	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/forwarder"
	"github.com/dunwell/dunwell/internal/fakeprovider"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/portal"
	"github.com/dunwell/dunwell/webhooks"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// checkoutStack is an API with the portal paying through the fake Stripe, the Stripe
// webhook and the forwarder, on the package's Temporal, worker and PostgreSQL.
type checkoutStack struct {
	url    string
	stripe *fakeprovider.Server
}

func startCheckoutStack(t *testing.T) *checkoutStack {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	fake := fakeprovider.New(fakeprovider.Options{Logger: logger, StripeAPIKey: "sk_test_e2e",
		StripeWebhookURL: srv.URL + "/v1/webhooks/stripe", StripeWebhookSecret: e2eStripeSecret})
	fakeSrv := httptest.NewServer(fake)
	t.Cleanup(fakeSrv.Close)
	t.Cleanup(fake.Close)

	co, err := portal.NewCheckout(portal.CheckoutConfig{APIKey: "sk_test_e2e", BaseURL: fakeSrv.URL, PublicURL: srv.URL, Logger: logger})
	require.NoError(t, err)
	sv, err := webhooks.NewStripeVerifier([]string{e2eStripeSecret})
	require.NoError(t, err)
	fwd, err := forwarder.New(forwarder.Config{Store: env.ledger, Workflows: &invoiceapi.Client{Temporal: env.client, Timeout: forwarder.UpdateTimeout},
		Logger: logger, Poll: 200 * time.Millisecond})
	require.NoError(t, err)
	set, err := e2ePolicies()
	require.NoError(t, err)
	authn, err := auth.New(env.ledger, logger)
	require.NoError(t, err)
	handler = (&api.Server{Temporal: env.client, Ledger: env.ledger, Policies: set, Logger: logger, Auth: authn,
		Webhooks: api.Webhooks{Stripe: sv, Stored: fwd.Wake},
		Portal:   api.Portal{PublicURL: srv.URL, Checkout: co}}).Handler()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = fwd.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &checkoutStack{url: srv.URL, stripe: fake}
}

// browse is a browser that does not follow redirects: each hop is checked.
var browse = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func fetch(t *testing.T, method, target string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	require.NoError(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin") // as the page's own form posts
	}
	resp, err := browse.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, html.UnescapeString(string(b))
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// The customer pays two invoices from the portal through Stripe Checkout: the page's
// pay form, the fake Stripe's checkout page, its signed webhook, the forwarder, the
// workflows. One is paid in full, the other in part; a redelivered event pays nothing
// twice; the payments are audited as the customer's and shown in their timeline.
func TestPortalCheckoutPaysSeveralInvoicesOnce(t *testing.T) {
	t.Parallel()
	st := startCheckoutStack(t)
	customer := fmt.Sprintf("C-CO-%d", time.Now().UnixNano())
	var ids []string
	for i, amount := range []string{"120.00", "80.00"} {
		id := fmt.Sprintf("%s-%d", customer, i)
		inv := hookInvoiceAt(id, "USD", amount, time.Now().UTC())
		inv["customer"] = map[string]any{"id": customer, "name": "Ada Lovelace", "email": "ada-co@example.com", "timezone": "UTC", "locale": "en-US"}
		code, body := call(t, http.MethodPost, "/v1/invoices", inv)
		require.Equal(t, http.StatusCreated, code, body)
		t.Cleanup(func() {
			_ = env.client.TerminateWorkflow(context.Background(), invoiceapi.WorkflowID(id), "", "test done")
		})
		ids = append(ids, id)
	}
	a, b := ids[0], ids[1]

	// The operator's link; the customer opens it.
	req, err := http.NewRequest(http.MethodPost, st.url+"/v1/customers/"+customer+"/portal-link", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+env.apiKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var link api.PortalLinkResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&link))
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	var page string
	eventually(t, 30*time.Second, "both invoices on the page", func() bool {
		_, page = fetch(t, http.MethodGet, link.URL, nil)
		return strings.Contains(page, `name="amount_`+a+`"`) && strings.Contains(page, `name="amount_`+b+`"`)
	})
	m := csrfRE.FindStringSubmatch(page)
	require.NotNil(t, m)

	// Pay: all of a, 30.00 of b.
	resp, _ = fetch(t, http.MethodPost, link.URL+"/pay", url.Values{"csrf": {m[1]}, "invoice": {a, b}, "amount_" + a: {""}, "amount_" + b: {"30.00"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	checkout := resp.Header.Get("Location")
	sessions := st.stripe.StripeSessions()
	require.Len(t, sessions, 1)
	session := sessions[0]
	require.Equal(t, *session.URL, checkout)
	require.Equal(t, int64(15000), session.AmountTotal)

	// Stripe's page; paying sends the customer back to the portal.
	resp, stripePage := fetch(t, http.MethodGet, checkout, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, stripePage, "150.00 USD")
	resp, _ = fetch(t, http.MethodPost, strings.TrimSuffix(checkout, "/")+"/pay", url.Values{})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	back := resp.Header.Get("Location")
	require.Equal(t, link.URL+"?checkout="+session.ID, back)
	_, page = fetch(t, http.MethodGet, back, nil)
	require.Contains(t, page, "Thank you. Your payment of $150.00 (invoices "+a+", "+b+") went through.")

	// The webhook reached Dunwell: one stored event per invoice, applied.
	events := st.stripe.StripeEvents()
	require.Len(t, events, 1)
	sent := events[0]
	require.Equal(t, session.ID, sent.SessionID)
	require.Equal(t, http.StatusOK, sent.Status, "the page's Pay posted the webhook before sending the customer back")
	waitEvent(t, "stripe", sent.ID+":"+a, ledger.WebhookApplied, 30*time.Second)
	waitEvent(t, "stripe", sent.ID+":"+b, ledger.WebhookApplied, 30*time.Second)

	// Through the API: a is paid, b owes 50.00.
	eventually(t, 10*time.Second, "invoice a paid and b part paid", func() bool {
		_, sa := call(t, http.MethodGet, "/v1/invoices/"+a, nil)
		_, sb := call(t, http.MethodGet, "/v1/invoices/"+b, nil)
		return sa["status"] == "paid" && sb["balance"] == "50.00"
	})
	pa := requirePayments(t, a, 1)
	require.Equal(t, webhooks.CheckoutPaymentID(session.ID, a), pa[0].PaymentID)
	require.Equal(t, int64(12000), pa[0].Amount)
	require.Equal(t, int64(3000), requirePayments(t, b, 1)[0].Amount)

	// Stripe delivers the event again: stored once, paid once.
	again, err := st.stripe.ResendStripeEvent(sent.ID)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, again.Status)
	_, sb := call(t, http.MethodGet, "/v1/invoices/"+b, nil)
	require.Equal(t, "50.00", sb["balance"])
	requirePayments(t, b, 1)

	// Audited as the customer's, through the link; in the customer's timeline.
	for _, id := range ids {
		entries, err := env.ledger.ListAudit(context.Background(), id)
		require.NoError(t, err)
		var actions []string
		for _, e := range entries {
			if strings.HasPrefix(e.Action, "portal.") {
				actions = append(actions, e.Action)
				require.Equal(t, "customer", e.Details["actor"])
				require.EqualValues(t, link.ID, e.Details["link_id"])
			}
		}
		require.ElementsMatch(t, []string{"portal.pay", "portal.paid"}, actions, id)
	}
	code, tl := call(t, http.MethodGet, "/v1/customers/"+customer+"/timeline", nil)
	require.Equal(t, http.StatusOK, code, tl)
	raw, err := json.Marshal(tl)
	require.NoError(t, err)
	require.Contains(t, string(raw), `"portal.paid"`)
	require.Contains(t, string(raw), session.ID)
}
