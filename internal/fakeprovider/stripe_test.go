package fakeprovider

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v85"

	"github.com/dunwell/dunwell/webhooks"
)

const testStripeSecret = "whsec_fake-stripe-test-secret"

// stripeClient is stripe-go pointed at the fake, retrying as Dunwell's does but
// without pauses worth waiting for.
func stripeClient(baseURL string, retries int64) *stripe.Client {
	cfg := &stripe.BackendConfig{URL: stripe.String(baseURL), MaxNetworkRetries: stripe.Int64(retries),
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}}
	return stripe.NewClient("sk_test_fake", stripe.WithBackends(stripe.NewBackendsWithConfig(cfg)))
}

func sessionParams(amount int64, key string) *stripe.CheckoutSessionCreateParams {
	p := &stripe.CheckoutSessionCreateParams{
		Mode:       stripe.String("payment"),
		SuccessURL: stripe.String("http://shop.test/back?checkout={CHECKOUT_SESSION_ID}"),
		CancelURL:  stripe.String("http://shop.test/back?checkout=cancelled"),
		LineItems: []*stripe.CheckoutSessionCreateLineItemParams{{Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionCreateLineItemPriceDataParams{Currency: stripe.String("eur"), UnitAmount: stripe.Int64(amount),
				ProductData: &stripe.CheckoutSessionCreateLineItemPriceDataProductDataParams{Name: stripe.String("Invoice INV-1")}}}},
		Metadata: map[string]string{webhooks.CheckoutMetaCustomer: "C-1", webhooks.CheckoutMetaLink: "3", webhooks.CheckoutMetaCount: "1",
			webhooks.CheckoutMetaInvoice(1): "INV-1", webhooks.CheckoutMetaAmount(1): "1250"},
	}
	p.SetIdempotencyKey(key)
	return p
}

// The fake speaks Checkout Sessions as stripe-go calls them: create (idempotent),
// retrieve, pay on the hosted page, and the signed webhook Dunwell verifies and reads.
func TestFakeStripeCheckoutThroughStripeGo(t *testing.T) {
	var mu sync.Mutex
	var got [][]byte
	verifier, err := webhooks.NewStripeVerifier([]string{testStripeSecret})
	require.NoError(t, err)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if verifier.Verify(body, r.Header.Get("Stripe-Signature")) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		got = append(got, body)
		mu.Unlock()
	}))
	defer hook.Close()
	s, base := newTestServer(t, Options{StripeWebhookURL: hook.URL, StripeWebhookSecret: testStripeSecret})
	c := stripeClient(base, 0)
	ctx := testCtx(t)

	sess, err := c.V1CheckoutSessions.Create(ctx, sessionParams(1250, "key-1"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(sess.ID, "cs_test_"))
	require.Equal(t, int64(1250), sess.AmountTotal)
	require.Equal(t, stripe.CheckoutSessionStatusOpen, sess.Status)
	require.Equal(t, "INV-1", sess.Metadata[webhooks.CheckoutMetaInvoice(1)])
	require.Equal(t, base+"/checkout/"+sess.ID, sess.URL)

	again, err := c.V1CheckoutSessions.Create(ctx, sessionParams(1250, "key-1"))
	require.NoError(t, err)
	require.Equal(t, sess.ID, again.ID, "the same key and parameters: the same session")
	_, err = c.V1CheckoutSessions.Create(ctx, sessionParams(999, "key-1"))
	var se *stripe.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, stripe.ErrorType("idempotency_error"), se.Type)
	require.Len(t, s.StripeSessions(), 1)

	_, err = c.V1CheckoutSessions.Create(ctx, &stripe.CheckoutSessionCreateParams{Mode: stripe.String("payment"), SuccessURL: stripe.String("http://x.test/")})
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusBadRequest, se.HTTPStatusCode)
	require.Equal(t, "line_items", se.Param)

	// The hosted page pays it, posts the signed event and sends the customer back.
	page, err := http.Get(sess.URL)
	require.NoError(t, err)
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	require.Contains(t, string(html), "12.50 EUR")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Post(base+"/checkout/"+sess.ID+"/pay", "application/x-www-form-urlencoded", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "http://shop.test/back?checkout="+sess.ID, resp.Header.Get("Location"))

	mu.Lock()
	require.Len(t, got, 1)
	events, err := webhooks.ParseStripeEvents(got[0])
	mu.Unlock()
	require.NoError(t, err)
	require.Len(t, events, 1)
	require.Equal(t, "INV-1", events[0].InvoiceID)
	require.Equal(t, int64(1250), events[0].Amount)
	require.Equal(t, "EUR", events[0].Currency)
	require.Equal(t, webhooks.CheckoutPaymentID(sess.ID, "INV-1"), events[0].PaymentID)

	paid, err := c.V1CheckoutSessions.Retrieve(ctx, sess.ID, nil)
	require.NoError(t, err)
	require.Equal(t, stripe.CheckoutSessionPaymentStatusPaid, paid.PaymentStatus)
	_, err = s.PayStripeSession(sess.ID)
	require.True(t, errors.Is(err, ErrStripeSession), "a session is paid once")

	// A resend is the same event, body and all.
	ev, err := s.ResendStripeEvent(strings.TrimSuffix(events[0].ID, ":INV-1"))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ev.Status)
	mu.Lock()
	require.Len(t, got, 2)
	require.Equal(t, got[0], got[1])
	mu.Unlock()

	_, err = c.V1CheckoutSessions.Retrieve(ctx, "cs_test_nothing", nil)
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusNotFound, se.HTTPStatusCode)
}

// Faults: a 429 or a 503 reaches the caller (stripe-go retries only connection errors
// and lock timeouts), and the next try works; a session made while the answer was
// lost comes back on the retry with the same key.
func TestFakeStripeFaults(t *testing.T) {
	s, base := newTestServer(t, Options{})
	ctx := testCtx(t)

	_, err := s.Inject(Fault{Kind: FaultRateLimit, Provider: Stripe})
	require.NoError(t, err)
	_, err = stripeClient(base, 2).V1CheckoutSessions.Create(ctx, sessionParams(100, "k-429"))
	var se *stripe.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusTooManyRequests, se.HTTPStatusCode)

	_, err = s.Inject(Fault{Kind: FaultUnavailable, Provider: Stripe})
	require.NoError(t, err)
	_, err = stripeClient(base, 2).V1CheckoutSessions.Create(ctx, sessionParams(100, "k-503"))
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusServiceUnavailable, se.HTTPStatusCode)
	sess, err := stripeClient(base, 2).V1CheckoutSessions.Create(ctx, sessionParams(100, "k-503"))
	require.NoError(t, err, "the fault is spent")
	require.NotEmpty(t, sess.ID)

	_, err = s.Inject(Fault{Kind: FaultHold, Provider: Stripe})
	require.NoError(t, err)
	lost := make(chan error, 1)
	hctx, cancel := context.WithCancel(ctx)
	go func() {
		_, err := stripeClient(base, 0).V1CheckoutSessions.Create(hctx, sessionParams(100, "k-held"))
		lost <- err
	}()
	held, err := s.WaitHeld(ctx)
	require.NoError(t, err)
	cancel() // the caller times out after Stripe made the session
	require.Error(t, <-lost)
	again, err := stripeClient(base, 0).V1CheckoutSessions.Create(ctx, sessionParams(100, "k-held"))
	require.NoError(t, err)
	require.Equal(t, held.ID, again.ID, "the retry with the same key gets the session made before")

	_, err = s.Inject(Fault{Kind: FaultInvalidRecipient, Provider: Stripe})
	require.Error(t, err)
}
