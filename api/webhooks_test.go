package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/webhooks"
)

const testStripeSecret = "whsec_api_test_stripe_secret"

var testPaymentsSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("api-test-payments-secret-32-bytes"))

// newWebhookServer is a test server with both webhooks configured; woken counts the
// Stored calls.
func newWebhookServer(t testing.TB, woken *int) *testServer {
	t.Helper()
	sv, err := webhooks.NewStripeVerifier([]string{"whsec_old_secret_rotating_out", testStripeSecret})
	require.NoError(t, err)
	pv, err := webhooks.NewStandardVerifier([]string{testPaymentsSecret})
	require.NoError(t, err)
	var mu sync.Mutex
	return newTestServer(t, testStore, func(s *Server) {
		s.MaxBodyBytes = 64 << 10
		s.Webhooks = Webhooks{Stripe: sv, Payments: pv, Stored: func() {
			mu.Lock()
			defer mu.Unlock()
			if woken != nil {
				*woken++
			}
		}}
	})
}

func stripeEventJSON(id, invoiceID string, amount int64) string {
	return fmt.Sprintf(`{"id":%q,"object":"event","type":"payment_intent.succeeded","created":%d,"data":{"object":
		{"id":"pi_%s","object":"payment_intent","amount_received":%d,"currency":"eur","metadata":{"invoice_id":%q}}}}`,
		id, time.Now().Unix(), id, amount, invoiceID)
}

func genericJSON(invoiceID, paymentID, amount string) string {
	return fmt.Sprintf(`{"type":"payment.succeeded","timestamp":"2026-12-03T15:04:05Z","data":{"invoice_id":%q,"payment_id":%q,"amount":%q,"currency":"EUR"}}`,
		invoiceID, paymentID, amount)
}

func postStripe(t testing.TB, srv *testServer, body, sig string) answer {
	t.Helper()
	var h []string
	if sig != "" {
		h = []string{webhooks.HeaderStripeSignature, sig}
	}
	return call(t, srv, "POST", "/v1/webhooks/stripe", body, h...)
}

func standardHeaders(t testing.TB, id string, ts time.Time, body, secret string) []string {
	t.Helper()
	sig, err := webhooks.SignStandard(id, ts, []byte(body), secret)
	require.NoError(t, err)
	return []string{webhooks.HeaderWebhookID, id, webhooks.HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10), webhooks.HeaderWebhookSignature, sig}
}

func requireNotStored(t *testing.T, source, eventID string) {
	t.Helper()
	_, err := testStore.GetWebhookEvent(context.Background(), source, eventID)
	require.ErrorIs(t, err, ledger.ErrNotFound, "%s %s must not be stored", source, eventID)
}

func TestWebhookBadSignaturesAre401AndStoreNothing(t *testing.T) {
	t.Parallel()
	srv := newWebhookServer(t, nil)
	now := time.Now()
	id := uid("evt")
	body := stripeEventJSON(id, "INV-1", 100)
	for name, sig := range map[string]string{
		"missing header": "",
		"forged":         webhooks.SignStripe([]byte(body+" "), testStripeSecret, now),
		"stale":          webhooks.SignStripe([]byte(body), testStripeSecret, now.Add(-6*time.Minute)),
		"wrong secret":   webhooks.SignStripe([]byte(body), "whsec_not_the_configured_one", now),
		"malformed":      "v1=abc",
	} {
		a := postStripe(t, srv, body, sig)
		require.Equal(t, http.StatusUnauthorized, a.code, name)
		var e ErrorBody
		require.NoError(t, json.Unmarshal(a.body, &e), name)
		require.Contains(t, e.Fields, webhooks.HeaderStripeSignature, name)
		require.NotContains(t, string(a.body), "whsec_", name)
	}
	requireNotStored(t, "stripe", id)

	gid := uid("msg")
	gbody := genericJSON("INV-1", "pay-1", "1.00")
	other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("some-other-secret-of-32-bytes!!!"))
	forged := standardHeaders(t, gid, now, gbody, testPaymentsSecret)
	forged[1] = uid("msg") // signed for another id
	for name, h := range map[string][]string{
		"missing headers": nil,
		"forged":          forged,
		"stale":           standardHeaders(t, gid, now.Add(-6*time.Minute), gbody, testPaymentsSecret),
		"wrong secret":    standardHeaders(t, gid, now, gbody, other),
		"tampered body":   standardHeaders(t, gid, now, genericJSON("INV-1", "pay-1", "999.00"), testPaymentsSecret),
	} {
		a := call(t, srv, "POST", "/v1/webhooks/payments", gbody, h...)
		require.Equal(t, http.StatusUnauthorized, a.code, "%s: %s", name, a.body)
		require.Contains(t, a.errorText(t), "invalid webhook signature", name)
	}
	requireNotStored(t, "payments", gid)
	requireNotStored(t, "payments", forged[1])
}

func TestWebhookIsStoredOnceAndWakesTheForwarder(t *testing.T) {
	t.Parallel()
	woken := 0
	srv := newWebhookServer(t, &woken)
	id := uid("evt")
	body := stripeEventJSON(id, "INV-W1", 12345)
	sig := webhooks.SignStripe([]byte(body), testStripeSecret, time.Now())

	var wg sync.WaitGroup
	codes := make(chan string, 6)
	for range 6 { // the same delivery, six times at once
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := postStripe(t, srv, body, sig)
			var resp WebhookResponse
			if a.code == http.StatusOK && json.Unmarshal(a.body, &resp) == nil {
				codes <- resp.Status
			} else {
				codes <- fmt.Sprintf("%d %s", a.code, a.body)
			}
		}()
	}
	wg.Wait()
	close(codes)
	count := map[string]int{}
	for c := range codes {
		count[c]++
	}
	require.Equal(t, map[string]int{"accepted": 1, "duplicate": 5}, count)
	require.Equal(t, 1, woken)

	e, err := testStore.GetWebhookEvent(context.Background(), "stripe", id)
	require.NoError(t, err)
	require.Equal(t, ledger.WebhookPending, e.Status)
	require.Equal(t, "INV-W1", e.InvoiceID)
	require.Equal(t, "pi_"+id, e.PaymentID)
	require.Equal(t, int64(12345), e.Amount)
	require.Equal(t, "EUR", e.Currency)
	require.NotContains(t, string(e.Event), "metadata", "the normalized event, not the raw body")

	// The same id with another (validly signed) body: a conflict.
	other := stripeEventJSON(id, "INV-W1", 1)
	a := postStripe(t, srv, other, webhooks.SignStripe([]byte(other), testStripeSecret, time.Now()))
	require.Equal(t, http.StatusConflict, a.code, string(a.body))

	gid := uid("msg")
	gbody := genericJSON("INV-W2", "pay-"+gid, "10.50")
	for i, want := range []string{"accepted", "duplicate", "duplicate"} {
		a := call(t, srv, "POST", "/v1/webhooks/payments", gbody, standardHeaders(t, gid, time.Now(), gbody, testPaymentsSecret)...)
		require.Equal(t, http.StatusOK, a.code, string(a.body))
		var resp WebhookResponse
		require.NoError(t, json.Unmarshal(a.body, &resp))
		require.Equal(t, want, resp.Status, "delivery %d", i+1)
	}
	e, err = testStore.GetWebhookEvent(context.Background(), "payments", gid)
	require.NoError(t, err)
	require.Equal(t, int64(1050), e.Amount)
}

// TestWebhookStripeRefundsWithoutTheListAreStored: a charge.refunded without its
// refunds list, partial or full, is stored as a refund total (never a 400, which
// would make Stripe give up on it), and a pending refund.created is ignored.
func TestWebhookStripeRefundsWithoutTheListAreStored(t *testing.T) {
	t.Parallel()
	srv := newWebhookServer(t, nil)
	for _, refunded := range []int{1200, 5000} {
		id := uid("evt")
		body := fmt.Sprintf(`{"id":%q,"object":"event","type":"charge.refunded","data":{"object":{"id":"ch_%s","object":"charge",
			"amount":5000,"amount_refunded":%d,"currency":"eur","payment_intent":"pi_%s","refunded":%t}}}`, id, id, refunded, id, refunded == 5000)
		a := postStripe(t, srv, body, webhooks.SignStripe([]byte(body), testStripeSecret, time.Now()))
		require.Equal(t, http.StatusOK, a.code, string(a.body))
		e, err := testStore.GetWebhookEvent(context.Background(), "stripe", id)
		require.NoError(t, err)
		require.Equal(t, string(webhooks.KindRefundTotal), e.Kind)
		require.Equal(t, int64(refunded), e.Amount)
		require.Equal(t, "pi_"+id, e.PaymentID)
	}
	pending := `{"id":"evt_pending_re","object":"event","type":"refund.created","data":{"object":{"id":"re_p","object":"refund",
		"amount":100,"charge":"ch_1","currency":"eur","status":"pending"}}}`
	a := postStripe(t, srv, pending, webhooks.SignStripe([]byte(pending), testStripeSecret, time.Now()))
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	require.Contains(t, string(a.body), `"ignored"`)
	requireNotStored(t, "stripe", "evt_pending_re")
}

func TestWebhookBadAndIgnoredEvents(t *testing.T) {
	t.Parallel()
	srv := newWebhookServer(t, nil)
	now := time.Now()
	ignored := `{"id":"evt_ign_1","object":"event","type":"customer.created","data":{"object":{"id":"cus_1"}}}`
	a := postStripe(t, srv, ignored, webhooks.SignStripe([]byte(ignored), testStripeSecret, now))
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	require.Contains(t, string(a.body), `"ignored"`)
	requireNotStored(t, "stripe", "evt_ign_1")

	bad := `{"id":"evt_bad_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","amount_received":"12","currency":"eur","metadata":{"invoice_id":"I"}}}}`
	a = postStripe(t, srv, bad, webhooks.SignStripe([]byte(bad), testStripeSecret, now))
	require.Equal(t, http.StatusBadRequest, a.code)
	var e ErrorBody
	require.NoError(t, json.Unmarshal(a.body, &e))
	require.Contains(t, e.Fields, "data.object.amount_received")

	gid := uid("msg")
	gbad := `{"type":"payment.succeeded","timestamp":"2026-12-03T15:04:05Z","data":{"invoice_id":"I","payment_id":"p","amount":"1.001","currency":"usd"}}`
	a = call(t, srv, "POST", "/v1/webhooks/payments", gbad, standardHeaders(t, gid, now, gbad, testPaymentsSecret)...)
	require.Equal(t, http.StatusBadRequest, a.code)
	e = ErrorBody{}
	require.NoError(t, json.Unmarshal(a.body, &e))
	require.Contains(t, e.Fields, "data.currency")
	requireNotStored(t, "payments", gid)

	big := strings.Repeat(" ", 70<<10)
	a = postStripe(t, srv, big, "t=1,v1=00")
	require.Equal(t, http.StatusRequestEntityTooLarge, a.code)

	plain := newTestServer(t, testStore) // no secrets configured: closed, not open
	require.Equal(t, http.StatusServiceUnavailable, postStripe(t, plain, ignored, webhooks.SignStripe([]byte(ignored), testStripeSecret, now)).code)
	require.Equal(t, http.StatusServiceUnavailable, call(t, plain, "POST", "/v1/webhooks/payments", gbad).code)
}

func TestWebhookEventsListNeedsReadScope(t *testing.T) {
	t.Parallel()
	srv := newWebhookServer(t, nil)
	gid := uid("msg")
	gbody := genericJSON(uid("INV"), "pay-"+gid, "3.00")
	require.Equal(t, http.StatusOK, call(t, srv, "POST", "/v1/webhooks/payments", gbody, standardHeaders(t, gid, time.Now(), gbody, testPaymentsSecret)...).code)
	e, err := testStore.GetWebhookEvent(context.Background(), "payments", gid)
	require.NoError(t, err)
	require.NoError(t, testStore.ParkWebhookEvent(context.Background(), e.ID, "currency: test"))

	require.Equal(t, http.StatusUnauthorized, call(t, srv, "GET", "/v1/webhooks/events", "").code)
	writer, _ := newKey(t, testStore, auth.ScopePaymentsWrite)
	require.Equal(t, http.StatusForbidden, call(t, srv, "GET", "/v1/webhooks/events", "", bearer(writer)...).code)
	reader, _ := newKey(t, testStore, auth.ScopeRead)
	a := call(t, srv, "GET", "/v1/webhooks/events?status=parked&limit=500", "", bearer(reader)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	var list WebhookEventsResponse
	require.NoError(t, json.Unmarshal(a.body, &list))
	found := false
	for _, ev := range list.Events {
		if ev.EventID == gid {
			found = true
			require.Equal(t, "parked", ev.Status)
			require.Equal(t, "3.00", ev.Amount)
			require.Equal(t, "currency: test", ev.LastError)
		}
	}
	require.True(t, found, string(a.body))

	// An operator sends it back to the forwarder; readers may not.
	retry := fmt.Sprintf("/v1/webhooks/events/%d/retry", e.ID)
	require.Equal(t, http.StatusForbidden, call(t, srv, "POST", retry, "", bearer(reader)...).code)
	operator, _ := newKey(t, testStore, auth.ScopeOperator)
	a = call(t, srv, "POST", retry, "", bearer(operator)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	require.Contains(t, string(a.body), `"status": "pending"`)
	require.Equal(t, http.StatusNotFound, call(t, srv, "POST", retry, "", bearer(operator)...).code, "no longer parked")
	require.Equal(t, http.StatusNotFound, call(t, srv, "POST", "/v1/webhooks/events/x/retry", "", bearer(operator)...).code)

	a = call(t, srv, "GET", "/v1/webhooks/events?status=lost&limit=0&x=1", "", bearer(reader)...)
	require.Equal(t, http.StatusBadRequest, a.code)
	var eb ErrorBody
	require.NoError(t, json.Unmarshal(a.body, &eb))
	require.Contains(t, eb.Fields, "status")
	require.Contains(t, eb.Fields, "limit")
	require.Contains(t, eb.Fields, "x")
}

// FuzzStripeWebhookHTTP and FuzzPaymentsWebhookHTTP sign arbitrary bodies correctly
// and send them through the real router, verifier, parser and ledger: the answer is
// always JSON and never a 5xx (a panic would be the recoverer's 500).
func FuzzStripeWebhookHTTP(f *testing.F) {
	srv := newWebhookServer(f, nil)
	for _, seed := range []string{
		stripeEventJSON("evt_fuzz_1", "INV-F", 100),
		`{"id":"evt_fuzz_2","object":"event","type":"charge.refunded","data":{"object":{"id":"ch_1","currency":"usd","refunds":{"data":[{"id":"re_1","amount":5}]}}}}`,
		`{"id":"evt_fuzz_4","object":"event","type":"charge.refunded","data":{"object":{"id":"ch_2","amount":500,"amount_refunded":200,"currency":"usd","payment_intent":"pi_2"}}}`,
		`{"id":"evt_fuzz_5","object":"event","type":"refund.created","data":{"object":{"id":"re_5","object":"refund","amount":200,"charge":"ch_2","payment_intent":"pi_2","currency":"usd","status":"succeeded"}}}`,
		`{"id":"evt_fuzz_3","object":"event","type":"charge.dispute.closed","data":{"object":{"id":"dp_1","amount":5,"currency":"usd","charge":"ch_1","status":"lost"}}}`,
		``, `{}`, `[]`, `null`, "\xff", `{"id":"evt_x","object":"event","type":"invoice.paid","data":{"object":[]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a := postStripe(t, srv, string(body), webhooks.SignStripe(body, testStripeSecret, time.Now()))
		checkFuzzAnswer(t, a)
	})
}

func FuzzPaymentsWebhookHTTP(f *testing.F) {
	srv := newWebhookServer(f, nil)
	for _, seed := range []string{
		genericJSON("INV-F", "pay-f", "1.00"),
		`{"type":"chargeback.closed","timestamp":"2026-12-03T15:04:05Z","data":{"chargeback_id":"c","payment_id":"p","amount":"1","currency":"JPY","outcome":"won"}}`,
		``, `{}`, `{"type":1}`, `{"data":{"amount":"1e9"}}`,
	} {
		f.Add("msg_seed", []byte(seed))
	}
	f.Fuzz(func(t *testing.T, id string, body []byte) {
		if id == "" || len(id) > 300 || strings.IndexFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 ||
			strings.TrimSpace(id) != id {
			id = "msg_" + strconv.Itoa(len(body)) // a header cannot carry it as it is
		}
		a := call(t, srv, "POST", "/v1/webhooks/payments", string(body), standardHeaders(t, id, time.Now(), string(body), testPaymentsSecret)...)
		checkFuzzAnswer(t, a)
	})
}

func checkFuzzAnswer(t *testing.T, a answer) {
	t.Helper()
	if a.code >= 500 || (a.code != http.StatusOK && a.code != http.StatusBadRequest && a.code != http.StatusConflict) {
		t.Fatalf("answer %d: %s", a.code, a.body)
	}
	var v map[string]any
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("answer is not JSON: %q", a.body)
	}
}

// TestOpenAPIDocumentsTheWebhooks keeps api/openapi.yaml in step with the code: it
// parses, has the webhook routes, and lists exactly the generic event types.
func TestOpenAPIDocumentsTheWebhooks(t *testing.T) {
	data, err := os.ReadFile("openapi.yaml")
	require.NoError(t, err)
	var doc struct {
		Paths      map[string]map[string]any `yaml:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Enum []string `yaml:"enum"`
				} `yaml:"properties"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	require.NoError(t, yaml.Unmarshal(data, &doc))
	require.Contains(t, doc.Paths["/v1/webhooks/stripe"], "post")
	require.Contains(t, doc.Paths["/v1/webhooks/payments"], "post")
	require.Contains(t, doc.Paths["/v1/webhooks/events"], "get")
	require.ElementsMatch(t, []string{webhooks.TypePaymentSucceeded, webhooks.TypePaymentRefunded, webhooks.TypeChargebackOpened, webhooks.TypeChargebackClosed},
		doc.Components.Schemas["PaymentEvent"].Properties["type"].Enum)
	stored := doc.Components.Schemas["StoredEvent"].Properties
	require.ElementsMatch(t, []webhooks.Kind{webhooks.KindPayment, webhooks.KindRefund, webhooks.KindRefundTotal, webhooks.KindPaymentTotal,
		webhooks.KindChargebackOpened, webhooks.KindChargebackClosed}, toKinds(stored["kind"].Enum))
	require.ElementsMatch(t, []string{ledger.WaitInvoice, ledger.WaitWorkflow, ledger.WaitPayment, ledger.WaitDispute, ledger.WaitRefunds, ledger.WaitPayments},
		stored["waiting_for"].Enum)
	stripe, err := yaml.Marshal(doc.Paths["/v1/webhooks/stripe"])
	require.NoError(t, err)
	for _, typ := range []string{"refund.created", "refund.updated", "charge.refunded", "refund_total", "invoice_payment.paid"} {
		require.Contains(t, string(stripe), typ, "the Stripe mapping names %s", typ)
	}
}

func toKinds(names []string) []webhooks.Kind {
	out := make([]webhooks.Kind, len(names))
	for i, n := range names {
		out[i] = webhooks.Kind(n)
	}
	return out
}
