package api

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/internal/fakeprovider"
	"github.com/dunwell/dunwell/portal"
	"github.com/dunwell/dunwell/webhooks"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// checkoutFixture is a portal fixture whose API pays through the fake Stripe.
type checkoutFixture struct {
	*portalFixture
	stripe *fakeprovider.Server
}

func newCheckoutFixture(t *testing.T, n int) *checkoutFixture {
	t.Helper()
	fake := fakeprovider.New(fakeprovider.Options{StripeAPIKey: "sk_test_portal"})
	fs := httptest.NewServer(fake)
	t.Cleanup(fs.Close)
	t.Cleanup(fake.Close)
	co, err := portal.NewCheckout(portal.CheckoutConfig{APIKey: "sk_test_portal", BaseURL: fs.URL, PublicURL: testPublicURL})
	require.NoError(t, err)
	f := newPortalFixture(t, n, func(s *Server) { s.Portal.Checkout = co })
	return &checkoutFixture{portalFixture: f, stripe: fake}
}

// pay posts the pay form: invoice ids, and amounts by invoice id.
func (f *checkoutFixture) pay(t *testing.T, ids []string, amounts map[string]string) answer {
	t.Helper()
	form := url.Values{"invoice": ids}
	for id, a := range amounts {
		form.Set("amount_"+id, a)
	}
	return f.post(t, "pay", form)
}

// refused checks a refusal: its status, its words on the page, no session made.
func (f *checkoutFixture) refused(t *testing.T, a answer, code int, words string) {
	t.Helper()
	require.Equal(t, code, a.code, string(a.body))
	require.Contains(t, html.UnescapeString(string(a.body)), words)
	require.Contains(t, html.UnescapeString(string(a.body)), "Nothing was changed.")
	require.Empty(t, f.stripe.StripeSessions(), "nothing is created")
}

func TestPortalPayCreatesOneCheckoutSessionForSeveralInvoices(t *testing.T) {
	t.Parallel()
	f := newCheckoutFixture(t, 2)
	a, b := f.invoices[0], f.invoices[1]

	page := f.page(t, f.path)
	require.Equal(t, http.StatusOK, page.code)
	require.Contains(t, string(page.body), `action="`+f.path+`/pay"`)
	require.Contains(t, string(page.body), `name="amount_`+a+`"`)
	require.Contains(t, string(page.body), `value="100.00"`, "the full balance unless the customer changes it")

	got := f.pay(t, []string{a, b}, map[string]string{b: "40.00"})
	require.Equal(t, http.StatusSeeOther, got.code, string(got.body))
	sessions := f.stripe.StripeSessions()
	require.Len(t, sessions, 1)
	s := sessions[0]
	require.Equal(t, *s.URL, got.header.Get("Location"), "on to Stripe's page")
	require.Equal(t, int64(14000), s.AmountTotal)
	require.Equal(t, "eur", s.Currency)
	require.Len(t, s.LineItems, 2)
	require.Equal(t, "Invoice "+a, s.LineItems[0].Name)
	require.Equal(t, int64(10000), s.LineItems[0].UnitAmount)
	require.Equal(t, int64(4000), s.LineItems[1].UnitAmount)
	require.Equal(t, map[string]string{webhooks.CheckoutMetaCustomer: f.customer, webhooks.CheckoutMetaLink: strconv.FormatInt(f.linkID, 10),
		webhooks.CheckoutMetaCount: "2", webhooks.CheckoutMetaInvoice(1): a, webhooks.CheckoutMetaAmount(1): "10000",
		webhooks.CheckoutMetaInvoice(2): b, webhooks.CheckoutMetaAmount(2): "4000"}, s.Metadata)
	require.NotContains(t, s.PaymentIntentMetadata, "invoice_id", "the PaymentIntent's own event must not pay a second time")
	require.Equal(t, f.customer, *s.ClientReferenceID)
	require.Equal(t, testPublicURL+f.path+"?checkout={CHECKOUT_SESSION_ID}", s.SuccessURL)
	require.Equal(t, testPublicURL+f.path+"?checkout=cancelled", s.CancelURL)
	require.NotEmpty(t, s.IdempotencyKey)
	for _, id := range []string{a, b} {
		entries := f.audit(t, id)
		require.Len(t, entries, 1)
		require.Equal(t, "portal.pay", entries[0].Action)
		require.Equal(t, s.ID, entries[0].Details["session_id"])
		require.Equal(t, "customer", entries[0].Details["actor"])
		require.EqualValues(t, f.linkID, entries[0].Details["link_id"])
	}

	// The same form again (a double click, a retry): the same session.
	again := f.pay(t, []string{a, b}, map[string]string{b: "40.00"})
	require.Equal(t, http.StatusSeeOther, again.code)
	require.Equal(t, got.header.Get("Location"), again.header.Get("Location"))
	require.Len(t, f.stripe.StripeSessions(), 1)

	// Back from Stripe: the page says what became of it.
	back := f.page(t, f.path+"?checkout="+s.ID)
	require.Contains(t, html.UnescapeString(string(back.body)), "Your payment was not completed, so nothing was paid.")
	_, _ = f.stripe.PayStripeSession(s.ID) // no webhook URL here: the session is paid all the same
	back = f.page(t, f.path+"?checkout="+s.ID)
	require.Contains(t, html.UnescapeString(string(back.body)), "Your payment of 140.00 EUR (invoices "+a+", "+b+") went through.")
	back = f.page(t, f.path+"?checkout=cancelled")
	require.Contains(t, string(back.body), "You left the payment page. Nothing was paid.")

	// Another customer's link says nothing about this session.
	other := newPortalFixture(t, 1)
	foreign := call(t, f.srv, "GET", other.path+"?checkout="+s.ID, "")
	require.Equal(t, http.StatusOK, foreign.code)
	require.NotContains(t, string(foreign.body), "went through")
	require.NotContains(t, string(foreign.body), a)
}

func TestPortalPayRefusals(t *testing.T) {
	t.Parallel()
	f := newCheckoutFixture(t, 2)
	a, b := f.invoices[0], f.invoices[1]

	f.refused(t, f.pay(t, nil, nil), http.StatusUnprocessableEntity, "Please choose at least one invoice to pay.")
	f.refused(t, f.pay(t, []string{a}, map[string]string{a: "100.01"}), http.StatusUnprocessableEntity,
		"The amount for invoice "+a+" is more than what is due (100.00 EUR).")
	f.refused(t, f.pay(t, []string{a}, map[string]string{a: "0"}), http.StatusUnprocessableEntity,
		"The amount for invoice "+a+" must be more than zero.")
	f.refused(t, f.pay(t, []string{a}, map[string]string{a: "ten"}), http.StatusUnprocessableEntity,
		"Please enter the amount for invoice "+a+" like 120.50.")

	// Another customer's invoice, or one that does not exist: 404, and the page says
	// only that it is not among the customer's.
	other := newPortalFixture(t, 1)
	f.refused(t, f.pay(t, []string{a, other.invoices[0]}, nil), http.StatusNotFound,
		"Invoice "+other.invoices[0]+" is not among your open invoices.")
	f.refused(t, f.pay(t, []string{"INV-nobody"}, nil), http.StatusNotFound, "Invoice INV-nobody is not among your open invoices.")
	f.refused(t, f.pay(t, []string{"<b>"}, nil), http.StatusNotFound, "Invoice ? is not among your open invoices.")

	// A closed invoice: paid already.
	f.setState(b, collection.StatusPaid, "0.00")
	f.refused(t, f.pay(t, []string{a, b}, nil), http.StatusConflict, "Invoice "+b+" is Paid already")

	// Two currencies: one payment is in one currency.
	usd := uid("INV")
	body := fmt.Sprintf(`{"id": %q, "customer": {"id": %q, "name": "Ada", "email": "ada@example.com", "timezone": "Europe/Paris",
		"locale": "en-GB"}, "currency": "USD", "amount_due": "50.00", "issued_at": "2026-03-01T10:00:00Z", "due_date": "2026-03-31"}`, usd, f.customer)
	require.Equal(t, http.StatusCreated, call(t, f.srv, "POST", "/v1/invoices", body, bearer(f.admin)...).code)
	f.setState(usd, collection.StatusOverdue, "50.00")
	f.srv.temporal.mu.Lock()
	v := f.srv.temporal.views[invoiceapi.WorkflowID(usd)]
	v.Currency, v.AmountDue, v.OriginalAmount = "USD", "50.00", "50.00"
	f.srv.temporal.views[invoiceapi.WorkflowID(usd)] = v
	f.srv.temporal.mu.Unlock()
	page := f.page(t, f.path)
	require.Equal(t, 2, strings.Count(string(page.body), `action="`+f.path+`/pay"`), "one pay form per currency")
	f.refused(t, f.pay(t, []string{a, usd}, nil), http.StatusUnprocessableEntity,
		"One payment is in one currency, and you chose invoices in EUR and in USD: please pay them separately.")

	many := []string{}
	for i := range webhooks.MaxCheckoutInvoices + 1 {
		many = append(many, fmt.Sprintf("INV-%d", i))
	}
	require.Equal(t, http.StatusUnprocessableEntity, f.pay(t, many, nil).code)
	require.Empty(t, f.stripe.StripeSessions())

	// Without the CSRF token, or from another site: 403, nothing created.
	require.Equal(t, http.StatusForbidden, f.post(t, "pay", url.Values{"invoice": {a}, "csrf": {"x"}}).code)
	require.Equal(t, http.StatusForbidden, f.post(t, "pay", url.Values{"invoice": {a}}, "Sec-Fetch-Site", "cross-site").code)
	require.Empty(t, f.stripe.StripeSessions())

	// Stripe busy or down: the page says try again; the next try works.
	for _, kind := range []fakeprovider.FaultKind{fakeprovider.FaultRateLimit, fakeprovider.FaultUnavailable} {
		_, err := f.stripe.Inject(fakeprovider.Fault{Kind: kind, Provider: fakeprovider.Stripe})
		require.NoError(t, err)
		busy := f.pay(t, []string{a}, nil)
		require.Equal(t, http.StatusServiceUnavailable, busy.code)
		require.Contains(t, string(busy.body), "Our payment provider could not be reached just now. Nothing was paid")
		require.Empty(t, f.stripe.StripeSessions())
	}
	require.Equal(t, http.StatusSeeOther, f.pay(t, []string{a}, nil).code)
	require.Len(t, f.stripe.StripeSessions(), 1)
}

func TestPortalPayWithoutStripeIsNotThere(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t, 1)
	page := f.page(t, f.path)
	require.NotContains(t, string(page.body), `/pay"`)
	require.Contains(t, string(page.body), "https://billing.example.com/pay/"+f.invoices[0], "the invoice's payment_url instead")
	require.Equal(t, http.StatusNotFound, f.post(t, "pay", url.Values{"invoice": {f.invoices[0]}}).code)
}
