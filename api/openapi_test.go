package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	valerrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/dunwell/dunwell/activities"
	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/internal/codec"
	"github.com/dunwell/dunwell/internal/fakeprovider"
	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/notify"
	"github.com/dunwell/dunwell/policies"
	"github.com/dunwell/dunwell/portal"
	"github.com/dunwell/dunwell/webhooks"
	"github.com/dunwell/dunwell/worker/assembly"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// The OpenAPI description (openapi.yaml, served at /openapi.yaml) is checked two
// ways: TestOpenAPIListsEveryRoute compares its paths and methods with the routes the
// server registers (Server.Routes), and TestOpenAPIDescribesRealAnswers sends real
// requests to the real API, backed by a Temporal dev server, PostgreSQL and a worker,
// and validates each request and answer against it with libopenapi-validator.

// specOperations reads the description's operations: path -> methods (upper case) ->
// the scopes of its apiKey requirement (nil when it needs no key).
func specOperations(t *testing.T) map[string]map[string][]string {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			Security []map[string][]string `yaml:"security"`
		} `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal(openAPISpec, &doc))
	ops := map[string]map[string][]string{}
	for path, item := range doc.Paths {
		ops[path] = map[string][]string{}
		for method, op := range item {
			var scopes []string
			for _, req := range op.Security {
				if s, ok := req["apiKey"]; ok {
					scopes = append([]string{}, s...)
				}
			}
			ops[path][strings.ToUpper(method)] = scopes
		}
	}
	return ops
}

// TestOpenAPIListsEveryRoute: every route the server registers is described with its
// method and scope, and every described operation is served.
func TestOpenAPIListsEveryRoute(t *testing.T) {
	t.Parallel()
	ring, err := codec.ParseKeyRing(mustKeySpec(t))
	require.NoError(t, err)
	srv := newTestServer(t, testStore)
	s := &Server{Logger: slog.New(slog.DiscardHandler), Auth: mustAuth(t), Codec: codec.HTTPHandler(ring),
		UIUpstream: &url.URL{Scheme: "http", Host: "127.0.0.1:1"}}
	_ = srv
	ops := specOperations(t)
	served := map[string]bool{}
	v1 := 0
	for _, r := range s.Routes() {
		switch {
		case r.Method == "" && r.Path == "/":
			continue // the JSON 404 for every other path
		case r.Method == "" && r.Path == "/ui/":
			continue // the Temporal UI's own pages, described in info.description
		case r.Method == "" && r.Path == "/codec/":
			// The codec answers POST .../encode and .../decode, and CORS preflights.
			for _, p := range []string{"/codec/encode", "/codec/decode"} {
				require.Contains(t, ops, p)
				require.Equal(t, []string{string(r.Scope)}, ops[p]["POST"], "%s POST scope", p)
				require.Contains(t, ops[p], "OPTIONS", p)
				served[p+" POST"], served[p+" OPTIONS"] = true, true
			}
			continue
		}
		require.NotEmpty(t, r.Method, "route %s has no method; describe it or skip it here", r.Path)
		if strings.HasPrefix(r.Path, "/v1/") {
			v1++
		}
		item, ok := ops[r.Path]
		require.True(t, ok, "openapi.yaml has no path %s (served as %s %s)", r.Path, r.Method, r.Path)
		scopes, ok := item[r.Method]
		require.True(t, ok, "openapi.yaml has no %s for %s", r.Method, r.Path)
		if r.Scope != "" {
			require.Equal(t, []string{string(r.Scope)}, scopes, "%s %s: the described scope", r.Method, r.Path)
		} else if r.Path != "/v1/session" { // the session takes a key of any scope
			require.Empty(t, scopes, "%s %s needs no API key, but the description names a scope", r.Method, r.Path)
		}
		served[r.Path+" "+r.Method] = true
	}
	require.Greater(t, v1, 25, "the /v1/ routes")
	for path, item := range ops {
		for method := range item {
			require.True(t, served[path+" "+method], "openapi.yaml describes %s %s, which the server does not register", method, path)
		}
	}
}

func TestOpenAPIIsServed(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore)
	a := call(t, srv, "GET", "/openapi.yaml", "")
	require.Equal(t, http.StatusOK, a.code)
	require.Equal(t, "application/yaml", a.header.Get("Content-Type"))
	require.Equal(t, openAPISpec, a.body)
}

func mustKeySpec(t *testing.T) string {
	t.Helper()
	spec, err := codec.GenerateKeySpec("openapi")
	require.NoError(t, err)
	return spec
}

func mustAuth(t *testing.T) *auth.Middleware {
	t.Helper()
	m, err := auth.New(testStore, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	return m
}

// apiCase is one request sent to the running API, and what it must answer.
type apiCase struct {
	name, method, path string
	body               string
	contentType        string // default application/json when there is a body
	headers            []string
	want               int
	// limited sends the request to the rate-limited server.
	limited bool
	// noRedirect checks a redirect itself rather than the page it leads to.
	noRedirect bool
	// brokenRequest: the request breaks the description on purpose (a missing field
	// or credential the description requires), so the validator must refuse it too.
	brokenRequest bool
}

// liveAPI is the real API on a Temporal dev server with a worker, the package's
// PostgreSQL, and fake providers.
type liveAPI struct {
	url string
	// limitedURL is the same API with a rate limit of one request per key.
	limitedURL string
	validator  validator.Validator
	twilio     string // the Twilio auth token
	sign       func(timestamp string, body []byte) (string, error)
	covered    map[string]bool // "METHOD /path/template" of every operation exercised
}

func startLiveAPI(t *testing.T) *liveAPI {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tmp, err := testenv.StartTemporal(ctx, testenv.TemporalOptions{ExtraArgs: invoiceapi.DevServerFlags()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tmp.Stop() })
	c := tmp.Client()

	const twilioToken = "openapi-twilio-token"
	eventKey, eventPub, err := fakeprovider.NewEventKey()
	require.NoError(t, err)
	fakes := fakeprovider.New(fakeprovider.Options{Logger: logger, TwilioAuthToken: twilioToken})
	fakesSrv := httptest.NewServer(fakes)
	t.Cleanup(func() { fakesSrv.Close(); fakes.Close() })
	email, err := notify.NewSendGrid(notify.SendGridConfig{APIKey: "SG.openapi", From: "billing@dunwell.test", BaseURL: fakesSrv.URL, Timeout: 5 * time.Second})
	require.NoError(t, err)
	sms, err := notify.NewTwilio(notify.TwilioConfig{AccountSID: "AC00000000000000000000000000000000", AuthToken: twilioToken,
		FromNumber: "+15005550006", BaseURL: fakesSrv.URL, Timeout: 5 * time.Second})
	require.NoError(t, err)
	acts := &activities.Activities{Ledger: testStore, Email: email, SMS: sms}
	w := assembly.CollectionWorker(c, acts, assembly.CollectionWorkerOptions())
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	for _, sw := range assembly.ProviderWorkers(c, acts, 20, 20) {
		require.NoError(t, sw.Start())
		t.Cleanup(sw.Stop)
	}

	set, err := policies.Shipped()
	require.NoError(t, err)
	sgKey, err := NewSendGridKey(eventPub)
	require.NoError(t, err)
	sv, err := webhooks.NewStripeVerifier([]string{testStripeSecret})
	require.NoError(t, err)
	pv, err := webhooks.NewStandardVerifier([]string{testPaymentsSecret})
	require.NoError(t, err)
	ring, err := codec.ParseKeyRing(mustKeySpec(t))
	require.NoError(t, err)
	s := &Server{Temporal: c, Ledger: testStore, Policies: set, Logger: logger, Auth: mustAuth(t), MaxBodyBytes: 64 << 10,
		Codec: codec.HTTPHandler(ring), CodecOrigins: []string{"http://localhost:8233"},
		Webhooks: Webhooks{Stripe: sv, Payments: pv, Stored: func() {}}, Bank: BankConfig{MaxBytes: 64 << 10}, Portal: Portal{PublicURL: testPublicURL},
		Inbound: InboundParse{Token: inboundToken, ReplyTo: inboundReply, MaxBytes: 64 << 10}}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	s.Delivery = &DeliveryWebhooks{PublicURL: hs.URL, TwilioAuthToken: twilioToken, SendGridPublicKey: sgKey}
	// The same API with a rate limit of one request per key, for the 429 answers.
	limited := *s
	limited.RateLimit = RateLimit{PerSecond: 0.001, Burst: 1}
	hsLimited := httptest.NewServer(limited.Handler())
	t.Cleanup(hsLimited.Close)

	doc, err := libopenapi.NewDocument(openAPISpec)
	require.NoError(t, err)
	v, errs := validator.NewValidator(doc, config.WithFormatAssertions())
	require.Empty(t, errs, "building the validator")
	ok, docErrs := v.ValidateDocument()
	require.True(t, ok, "openapi.yaml is not a valid OpenAPI 3.1 document: %v", docErrs)
	return &liveAPI{url: hs.URL, limitedURL: hsLimited.URL, validator: v, twilio: twilioToken,
		sign: func(ts string, body []byte) (string, error) {
			return fakeprovider.SendGridSignature(eventKey, ts, body)
		},
		covered: map[string]bool{}}
}

// run sends c and checks the answer's status and that request and answer match the
// description; it returns the answer.
func (l *liveAPI) run(t *testing.T, c apiCase) answer {
	t.Helper()
	base := l.url
	if c.limited {
		base = l.limitedURL
	}
	newReq := func() *http.Request { return newRequest(t, c.method, base+c.path, c.body, c.contentType, c.headers) }
	client := http.DefaultClient
	if c.noRedirect {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	resp, err := client.Do(newReq())
	require.NoError(t, err, c.name)
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.NoError(t, err, c.name)
	// Every mismatch is reported, not only the first, so one run shows all the drift.
	assert.Equal(t, c.want, resp.StatusCode, "%s: %s %s answered %s", c.name, c.method, c.path, body)
	reqOK, reqErrs := l.validator.ValidateHttpRequest(newReq())
	if c.brokenRequest {
		assert.False(t, reqOK, "%s: the request breaks the description on purpose, but the validator accepted it", c.name)
	} else {
		assert.True(t, reqOK, "%s: the request does not match openapi.yaml: %s", c.name, describeErrs(reqErrs))
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	respOK, respErrs := l.validator.ValidateHttpResponse(newReq(), resp)
	assert.True(t, respOK, "%s: the %d answer does not match openapi.yaml: %s\nbody: %s", c.name, resp.StatusCode, describeErrs(respErrs), body)
	if path, ok := templateOf(c.path); ok {
		l.covered[c.method+" "+path] = true
	}
	return answer{code: resp.StatusCode, header: resp.Header, body: body}
}

func describeErrs(errs []*valerrors.ValidationError) string {
	parts := make([]string, 0, len(errs))
	for _, e := range errs {
		part := e.Error()
		for _, se := range e.SchemaValidationErrors {
			part += " [" + se.FieldPath + ": " + se.Reason + "]"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; ")
}

// templateOf maps a concrete path to the description's path template.
func templateOf(p string) (string, bool) {
	p, _, _ = strings.Cut(p, "?")
	segs := strings.Split(p, "/")
	for tpl := range specPaths {
		ts := strings.Split(tpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		match := true
		for i := range ts {
			if ts[i] != segs[i] && !(strings.HasPrefix(ts[i], "{") && segs[i] != "") {
				match = false
				break
			}
		}
		// Prefer the literal path when a template also matches (none overlap today).
		if match {
			return tpl, true
		}
	}
	return "", false
}

// specPaths is the description's path templates.
var specPaths = func() map[string]bool {
	var doc struct {
		Paths map[string]any `yaml:"paths"`
	}
	out := map[string]bool{}
	if yaml.Unmarshal(openAPISpec, &doc) == nil {
		for p := range doc.Paths {
			out[p] = true
		}
	}
	return out
}()

// TestOpenAPIDescribesRealAnswers drives every described operation against the
// running API, on its success path and its main error paths (400 with field errors,
// 401, 403, 404, 409, 413, 415, 422), and validates each request and answer against
// openapi.yaml. It fails if an operation is left out, so a new route needs a case.
func TestOpenAPIDescribesRealAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal dev server")
	}
	l := startLiveAPI(t)
	ctx := context.Background()
	all, allKey := newKey(t, testStore, auth.AllScopes()...)
	replyType, replyBody := inboundPost(t, uid("m")+"@example.com", "ada@example.com", inboundReply, "Re: invoice", "We already paid.")
	reader, _ := newKey(t, testStore, auth.ScopeRead)
	withAll, withRead := bearer(all), bearer(reader)
	today := time.Now().UTC()
	day := func(days int) string { return today.AddDate(0, 0, days).Format(time.DateOnly) }
	customer := uid("C")
	invoice := func(id, amount string) string {
		return fmt.Sprintf(`{"id": %q, "customer": {"id": %q, "name": "Ada", "email": "ada@example.com",
			"timezone": "Europe/Paris"}, "currency": "EUR", "amount_due": %q,
			"issued_at": %q, "due_date": %q}`, id, customer, amount, today.Add(-time.Hour).Format(time.RFC3339), day(30))
	}
	// issue starts a fresh invoice of 120.00 EUR and waits until its workflow answers.
	issue := func(t *testing.T) string {
		t.Helper()
		id := uid("INV")
		l.run(t, apiCase{name: "issue " + id, method: "POST", path: "/v1/invoices", body: invoice(id, "120.00"), headers: withAll, want: http.StatusCreated})
		require.Eventually(t, func() bool {
			_, err := testStore.GetInvoice(ctx, id)
			if err != nil {
				return false
			}
			resp, err := http.DefaultClient.Do(newRequest(t, "GET", l.url+"/v1/invoices/"+id, "", "", withAll))
			if err != nil {
				return false
			}
			_ = resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}, 30*time.Second, 50*time.Millisecond, "invoice %s answers its state", id)
		return id
	}

	inv := issue(t)
	base := "/v1/invoices/" + inv
	unknown := "/v1/invoices/" + uid("NOPE")
	cases := []apiCase{
		{name: "issue again", method: "POST", path: "/v1/invoices", body: invoice(inv, "120.00"), headers: withAll, want: http.StatusOK},
		{name: "issue, same id, other amount", method: "POST", path: "/v1/invoices", body: invoice(inv, "99.00"), headers: withAll, want: http.StatusConflict},
		{name: "issue without fields", method: "POST", path: "/v1/invoices", body: `{"id": "INV-x"}`, headers: withAll, want: http.StatusBadRequest, brokenRequest: true},
		{name: "issue with a bad email", method: "POST", path: "/v1/invoices", body: strings.Replace(invoice(uid("INV"), "1.00"), "ada@example.com", "ada(at)example", 1),
			headers: withAll, want: http.StatusBadRequest, brokenRequest: true},
		{name: "issue with an unknown field", method: "POST", path: "/v1/invoices", body: strings.Replace(invoice(uid("INV"), "1.00"), `"currency"`, `"colour": "red", "currency"`, 1),
			headers: withAll, want: http.StatusBadRequest, brokenRequest: true},
		{name: "issue without a key", method: "POST", path: "/v1/invoices", body: invoice(uid("INV"), "1.00"), want: http.StatusUnauthorized, brokenRequest: true},
		{name: "issue with an unknown key", method: "POST", path: "/v1/invoices", body: invoice(uid("INV"), "1.00"), headers: bearer("dw_" + strings.Repeat("0", 40)), want: http.StatusUnauthorized},
		{name: "issue with a read key", method: "POST", path: "/v1/invoices", body: invoice(uid("INV"), "1.00"), headers: withRead, want: http.StatusForbidden},
		{name: "issue as text", method: "POST", path: "/v1/invoices", body: invoice(uid("INV"), "1.00"), contentType: "text/plain", headers: withAll, want: http.StatusUnsupportedMediaType, brokenRequest: true},
		{name: "issue too large", method: "POST", path: "/v1/invoices", body: `{"id": "` + strings.Repeat("x", 70<<10) + `"}`, headers: withAll, want: http.StatusRequestEntityTooLarge, brokenRequest: true},

		{name: "state", method: "GET", path: base, headers: withAll, want: http.StatusOK},
		{name: "state of an unknown invoice", method: "GET", path: unknown, headers: withAll, want: http.StatusNotFound},
		{name: "audit", method: "GET", path: base + "/audit", headers: withRead, want: http.StatusOK},
		{name: "audit of an unknown invoice", method: "GET", path: unknown + "/audit", headers: withRead, want: http.StatusNotFound},

		{name: "pay", method: "POST", path: base + "/payments", body: paymentJSON("pay-1", "20.00", "EUR"), headers: withAll, want: http.StatusOK},
		{name: "pay again", method: "POST", path: base + "/payments", body: paymentJSON("pay-1", "20.00", "EUR"), headers: withAll, want: http.StatusOK},
		{name: "pay in another currency", method: "POST", path: base + "/payments", body: paymentJSON("pay-2", "20.00", "USD"), headers: withAll, want: http.StatusUnprocessableEntity},
		{name: "pay without an id", method: "POST", path: base + "/payments", body: `{"amount": "1.00", "currency": "EUR"}`, headers: withAll, want: http.StatusBadRequest, brokenRequest: true},
		{name: "pay an unknown invoice", method: "POST", path: unknown + "/payments", body: paymentJSON("pay-1", "1.00", "EUR"), headers: withAll, want: http.StatusNotFound},
		{name: "pay with a read key", method: "POST", path: base + "/payments", body: paymentJSON("pay-3", "1.00", "EUR"), headers: withRead, want: http.StatusForbidden},
		{name: "refund", method: "POST", path: base + "/refunds", body: `{"refund_id": "re-1", "payment_id": "pay-1", "amount": "5.00", "currency": "EUR"}`, headers: withAll, want: http.StatusOK},
		{name: "refund of another kind", method: "POST", path: base + "/refunds", body: `{"refund_id": "re-2", "kind": "gift", "amount": "5.00", "currency": "EUR"}`, headers: withAll, want: http.StatusBadRequest, brokenRequest: true},
		{name: "adjust", method: "POST", path: base + "/adjustments", body: `{"adjustment_id": "adj-1", "kind": "adjustment", "amount": "-10.00", "currency": "EUR", "reason": "goodwill"}`, headers: withAll, want: http.StatusOK},
		{name: "adjust with a bad amount", method: "POST", path: base + "/adjustments", body: `{"adjustment_id": "adj-2", "kind": "adjustment", "amount": "ten", "currency": "EUR", "reason": "x"}`, headers: withAll, want: http.StatusBadRequest, brokenRequest: true},
		{name: "move the due date", method: "POST", path: base + "/due-date", body: fmt.Sprintf(`{"due_date": %q, "reason": "asked"}`, day(45)), headers: withAll, want: http.StatusOK},
		{name: "move the due date to no date", method: "POST", path: base + "/due-date", body: `{"due_date": "soon", "reason": "asked"}`, headers: withAll, want: http.StatusBadRequest, brokenRequest: true},
		{name: "change the policy", method: "POST", path: base + "/policy", body: `{"policy": "gentle", "reason": "review"}`, headers: withAll, want: http.StatusOK},
		{name: "change to an unknown policy", method: "POST", path: base + "/policy", body: `{"policy": "nope", "reason": "review"}`, headers: withAll, want: http.StatusBadRequest},
		{name: "approve with nothing awaiting", method: "POST", path: base + "/approval/approve", body: `{"reason": "ok"}`, headers: withAll, want: http.StatusConflict},
		{name: "reject with nothing awaiting", method: "POST", path: base + "/approval/reject", body: `{}`, headers: withAll, want: http.StatusConflict},
		{name: "approve escalation with nothing awaiting", method: "POST", path: base + "/escalation/approve", body: `{}`, headers: withAll, want: http.StatusConflict},
		{name: "reject escalation with nothing awaiting", method: "POST", path: base + "/escalation/reject", body: `{}`, headers: withAll, want: http.StatusConflict},
		{name: "resolve with no dispute", method: "POST", path: base + "/dispute/resolve", body: `{"outcome": "resolved"}`, headers: withAll, want: http.StatusConflict},
		{name: "resume when not paused", method: "POST", path: base + "/resume", body: `{}`, headers: withAll, want: http.StatusConflict},
		{name: "promise in the past", method: "POST", path: base + "/promise", body: fmt.Sprintf(`{"date": %q, "amount": "10.00"}`, day(-3)), headers: withAll, want: http.StatusUnprocessableEntity},
		{name: "promise", method: "POST", path: base + "/promise", body: fmt.Sprintf(`{"date": %q, "amount": "10.00"}`, day(5)), headers: withAll, want: http.StatusOK},
		{name: "dispute", method: "POST", path: base + "/dispute", body: `{"reason": "never received"}`, headers: withAll, want: http.StatusOK},
		{name: "resolve the dispute", method: "POST", path: base + "/dispute/resolve", body: `{"outcome": "resolved", "reason": "delivered"}`, headers: withAll, want: http.StatusOK},
		{name: "pause", method: "POST", path: base + "/pause", body: fmt.Sprintf(`{"reason": "holiday", "until": %q}`, day(10)), headers: withAll, want: http.StatusOK},
		{name: "resume", method: "POST", path: base + "/resume", body: `{"reason": "back"}`, headers: withAll, want: http.StatusOK},
		{name: "plan", method: "POST", path: base + "/plan", body: fmt.Sprintf(`{"installments": [{"due_date": %q, "amount": "45.00"}, {"due_date": %q, "amount": "50.00"}], "grace_days": 3}`, day(10), day(40)), headers: withAll, want: http.StatusOK},
		{name: "plan without installments", method: "POST", path: base + "/plan", body: `{"installments": [], "grace_days": 3}`, headers: withAll, want: http.StatusBadRequest, brokenRequest: true},
		{name: "write off without a reason", method: "POST", path: base + "/write-off", body: `{}`, headers: withAll, want: http.StatusBadRequest},
		{name: "act with a read key", method: "POST", path: base + "/dispute", body: `{"reason": "x"}`, headers: withRead, want: http.StatusForbidden},
		{name: "act on an unknown invoice", method: "POST", path: unknown + "/dispute", body: `{"reason": "x"}`, headers: withAll, want: http.StatusNotFound},
		{name: "write off", method: "POST", path: base + "/write-off", body: `{"reason": "uncollectable"}`, headers: withAll, want: http.StatusOK},
		{name: "cancel a closed invoice", method: "POST", path: base + "/cancel", body: `{"reason": "late"}`, headers: withAll, want: http.StatusConflict},
		{name: "pay a closed invoice", method: "POST", path: base + "/payments", body: paymentJSON("pay-9", "1.00", "EUR"), headers: withAll, want: http.StatusConflict},
		{name: "state of a closed invoice", method: "GET", path: base, headers: withRead, want: http.StatusOK},
	}
	for _, c := range cases {
		l.run(t, c)
	}
	other := "/v1/invoices/" + issue(t)
	l.run(t, apiCase{name: "cancel", method: "POST", path: other + "/cancel", body: `{"reason": "sent in error"}`, headers: withAll, want: http.StatusOK})

	// Webhooks: signed like the providers sign them.
	now := time.Now()
	generic := fmt.Sprintf(`{"type":"payment.succeeded","timestamp":%q,"data":{"invoice_id":%q,"payment_id":"wh-1","amount":"1.00","currency":"EUR"}}`,
		now.UTC().Format(time.RFC3339), inv)
	evID := uid("evt")
	stripe := stripeEventJSON(uid("evt"), inv, 100)
	twilioForm := url.Values{"MessageSid": {fmt.Sprintf("SM%032x", now.UnixNano())}, "MessageStatus": {"delivered"}, "To": {"+14155550100"}}
	twilioSig := fakeprovider.TwilioSignature(l.twilio, l.url+"/v1/webhooks/twilio", twilioForm)
	sgBody := fmt.Sprintf(`[{"event":"delivered","email":"ada@example.com","timestamp":%d,"sg_event_id":%q}]`, now.Unix(), uid("sg"))
	stamp := strconv.FormatInt(now.Unix(), 10)
	sgSig, err := l.sign(stamp, []byte(sgBody))
	require.NoError(t, err)
	hooks := []apiCase{
		{name: "payments webhook", method: "POST", path: "/v1/webhooks/payments", body: generic, headers: standardHeaders(t, evID, now, generic, testPaymentsSecret), want: http.StatusOK},
		{name: "payments webhook again", method: "POST", path: "/v1/webhooks/payments", body: generic, headers: standardHeaders(t, evID, now, generic, testPaymentsSecret), want: http.StatusOK},
		{name: "payments webhook, same id, other body", method: "POST", path: "/v1/webhooks/payments", body: strings.Replace(generic, `"1.00"`, `"2.00"`, 1),
			headers: standardHeaders(t, evID, now, strings.Replace(generic, `"1.00"`, `"2.00"`, 1), testPaymentsSecret), want: http.StatusConflict},
		{name: "payments webhook, bad amount", method: "POST", path: "/v1/webhooks/payments", body: strings.Replace(generic, `"1.00"`, `"1.001"`, 1),
			headers: standardHeaders(t, uid("evt"), now, strings.Replace(generic, `"1.00"`, `"1.001"`, 1), testPaymentsSecret), want: http.StatusBadRequest},
		{name: "payments webhook, wrong signature", method: "POST", path: "/v1/webhooks/payments", body: generic, headers: standardHeaders(t, uid("evt"), now, generic, "whsec_"+base64.StdEncoding.EncodeToString([]byte("not-the-payments-secret-32-bytes"))), want: http.StatusUnauthorized},
		{name: "payments webhook, unsigned", method: "POST", path: "/v1/webhooks/payments", body: generic, want: http.StatusUnauthorized, brokenRequest: true},
		{name: "stripe webhook", method: "POST", path: "/v1/webhooks/stripe", body: stripe, headers: []string{webhooks.HeaderStripeSignature, webhooks.SignStripe([]byte(stripe), testStripeSecret, now)}, want: http.StatusOK},
		{name: "stripe webhook, wrong signature", method: "POST", path: "/v1/webhooks/stripe", body: stripe, headers: []string{webhooks.HeaderStripeSignature, webhooks.SignStripe([]byte(stripe), "whsec_wrong", now)}, want: http.StatusUnauthorized},
		{name: "twilio status callback", method: "POST", path: "/v1/webhooks/twilio", body: twilioForm.Encode(), contentType: "application/x-www-form-urlencoded",
			headers: []string{"X-Twilio-Signature", twilioSig}, want: http.StatusOK},
		{name: "twilio, unsigned", method: "POST", path: "/v1/webhooks/twilio", body: twilioForm.Encode(), contentType: "application/x-www-form-urlencoded", want: http.StatusUnauthorized, brokenRequest: true},
		{name: "sendgrid events", method: "POST", path: "/v1/webhooks/sendgrid", body: sgBody,
			headers: []string{"X-Twilio-Email-Event-Webhook-Signature", sgSig, "X-Twilio-Email-Event-Webhook-Timestamp", stamp}, want: http.StatusOK},
		{name: "sendgrid, forged", method: "POST", path: "/v1/webhooks/sendgrid", body: strings.Replace(sgBody, "delivered", "bounce", 1),
			headers: []string{"X-Twilio-Email-Event-Webhook-Signature", sgSig, "X-Twilio-Email-Event-Webhook-Timestamp", stamp}, want: http.StatusUnauthorized},
		{name: "stored events", method: "GET", path: "/v1/webhooks/events?status=parked,held,pending,applied&limit=10", headers: withRead, want: http.StatusOK},
		{name: "stored events, bad limit", method: "GET", path: "/v1/webhooks/events?limit=0", headers: withRead, want: http.StatusBadRequest, brokenRequest: true},
		{name: "stored events without a key", method: "GET", path: "/v1/webhooks/events", want: http.StatusUnauthorized, brokenRequest: true},
		{name: "retry an event that is not parked", method: "POST", path: "/v1/webhooks/events/999999999/retry", headers: withAll, want: http.StatusNotFound},
		{name: "retry with a read key", method: "POST", path: "/v1/webhooks/events/1/retry", headers: withRead, want: http.StatusForbidden},
	}
	for _, c := range hooks {
		l.run(t, c)
	}
	parked := parkEvent(t, webhooks.SourcePayments, evID)
	l.run(t, apiCase{name: "retry a parked event", method: "POST", path: fmt.Sprintf("/v1/webhooks/events/%d/retry", parked), headers: withAll, want: http.StatusOK})

	// Cash application: a statement paying a fresh invoice in part, and two credits
	// for the unmatched queue.
	bankInv := issue(t)
	acct := uid("ACCT")
	statement := camtStatement(acct,
		camtEntry{ref: "B1", amount: "20.00", text: "invoice " + bankInv},
		camtEntry{ref: "B2", amount: "5.00"},
		camtEntry{ref: "B3", amount: "6.00"})
	imported := l.run(t, apiCase{name: "import a statement", method: "POST", path: "/v1/bank-statements", body: statement, contentType: "application/xml", headers: withAll, want: http.StatusCreated})
	var bres BankImportResponse
	require.NoError(t, json.Unmarshal(imported.body, &bres))
	tx := func(i int) string { return fmt.Sprintf("/v1/bank-transactions/%d", bres.Items[i].ID) }
	page := func(i int) string { return fmt.Sprintf("/bank/%d", bres.Items[i].ID) }
	form := "application/x-www-form-urlencoded"
	bankCases := []apiCase{
		{name: "import it again", method: "POST", path: "/v1/bank-statements", body: statement, contentType: "application/vnd.iso20022.camt.053+xml", headers: withAll, want: http.StatusOK},
		{name: "import a malformed statement", method: "POST", path: "/v1/bank-statements", body: statement[:200], contentType: "application/xml", headers: withAll, want: http.StatusBadRequest},
		{name: "import an OFX that is not", method: "POST", path: "/v1/bank-statements", body: "hello", contentType: "application/x-ofx", headers: withAll, want: http.StatusBadRequest},
		{name: "import as JSON", method: "POST", path: "/v1/bank-statements", body: "{}", headers: withAll, want: http.StatusUnsupportedMediaType, brokenRequest: true},
		{name: "import too large", method: "POST", path: "/v1/bank-statements", body: camtStatement(acct, camtEntry{ref: "B9", amount: "1.00", text: strings.Repeat("x", 70<<10)}),
			contentType: "application/xml", headers: withAll, want: http.StatusRequestEntityTooLarge},
		{name: "import with a read key", method: "POST", path: "/v1/bank-statements", body: statement, contentType: "application/xml", headers: withRead, want: http.StatusForbidden},
		{name: "unmatched queue", method: "GET", path: "/v1/bank-transactions?status=unmatched&limit=50", headers: withRead, want: http.StatusOK},
		{name: "matched transactions", method: "GET", path: "/v1/bank-transactions?status=matched", headers: withRead, want: http.StatusOK},
		{name: "transactions of no status", method: "GET", path: "/v1/bank-transactions?status=lost", headers: withRead, want: http.StatusBadRequest, brokenRequest: true},
		{name: "one transaction", method: "GET", path: tx(0), headers: withRead, want: http.StatusOK},
		{name: "unknown transaction", method: "GET", path: "/v1/bank-transactions/999999999", headers: withRead, want: http.StatusNotFound},
		{name: "match by hand", method: "POST", path: tx(1) + "/match", body: fmt.Sprintf(`{"invoice_ids": [%q]}`, bankInv), headers: withAll, want: http.StatusOK},
		{name: "match it again", method: "POST", path: tx(1) + "/match", body: fmt.Sprintf(`{"invoice_ids": [%q]}`, bankInv), headers: withAll, want: http.StatusConflict},
		{name: "match to an unknown invoice", method: "POST", path: tx(2) + "/match", body: `{"invoice_ids": ["NOPE-1"]}`, headers: withAll, want: http.StatusUnprocessableEntity},
		{name: "match to nothing", method: "POST", path: tx(2) + "/match", body: `{"invoice_ids": []}`, headers: withAll, want: http.StatusBadRequest, brokenRequest: true},
		{name: "match with a read key", method: "POST", path: tx(2) + "/match", body: fmt.Sprintf(`{"invoice_ids": [%q]}`, bankInv), headers: withRead, want: http.StatusForbidden},
		{name: "ignore without a reason", method: "POST", path: tx(2) + "/ignore", body: `{"reason": ""}`, headers: withAll, want: http.StatusBadRequest, brokenRequest: true},
		{name: "ignore", method: "POST", path: tx(2) + "/ignore", body: `{"reason": "refunded"}`, headers: withAll, want: http.StatusOK},
		{name: "ignore again", method: "POST", path: tx(2) + "/ignore", body: `{"reason": "refunded"}`, headers: withAll, want: http.StatusConflict},
		{name: "cash application report", method: "GET", path: "/v1/reports/bank?from=" + day(-7), headers: withRead, want: http.StatusOK},
		{name: "bank page", method: "GET", path: "/bank", headers: withRead, want: http.StatusOK},
		{name: "bank page without a key", method: "GET", path: "/bank", want: http.StatusUnauthorized, brokenRequest: true},
		{name: "page match of a matched credit", method: "POST", path: page(1) + "/match", body: "invoice_id=" + bankInv, contentType: form, headers: withAll, want: http.StatusConflict},
		{name: "page ignore of an ignored credit", method: "POST", path: page(2) + "/ignore", body: "reason=again", contentType: form, headers: withAll, want: http.StatusConflict},
	}
	for _, c := range bankCases {
		l.run(t, c)
	}

	// The letter outbox: a letter waiting to be printed, as SendLetter leaves it
	// without a print-and-mail provider.
	letterInv := issue(t)
	lc := ledger.LetterClaim{Key: letterInv + "/letter-1/letter", InvoiceID: letterInv, CustomerID: "C-letters", Step: "letter-1",
		Template: "overdue", PDF: []byte("%PDF-1.3 letter")}
	lrow, err := testStore.ClaimLetter(ctx, lc)
	require.NoError(t, err)
	require.NoError(t, testStore.CompleteLetter(ctx, lc.Key, ledger.LetterToPrint, "", "", time.Now()))
	letterPath := fmt.Sprintf("/v1/letters/%d", lrow.ID)
	lc2 := lc
	lc2.Key, lc2.Step = letterInv+"/letter-2/letter", "letter-2"
	sent, err := testStore.ClaimLetter(ctx, lc2)
	require.NoError(t, err)
	require.NoError(t, testStore.CompleteLetter(ctx, lc2.Key, ledger.LetterSent, "ltr_1", "", time.Now()))
	for _, c := range []apiCase{
		{name: "letters to print", method: "GET", path: "/v1/letters?status=to_print&limit=500", headers: withRead, want: http.StatusOK},
		{name: "letters of no status", method: "GET", path: "/v1/letters?status=lost", headers: withRead, want: http.StatusBadRequest, brokenRequest: true},
		{name: "one letter", method: "GET", path: letterPath, headers: withRead, want: http.StatusOK},
		{name: "unknown letter", method: "GET", path: "/v1/letters/999999999", headers: withRead, want: http.StatusNotFound},
		{name: "a letter's PDF", method: "GET", path: letterPath + "/pdf", headers: withRead, want: http.StatusOK},
		{name: "mailed with a read key", method: "POST", path: letterPath + "/mailed", headers: withRead, want: http.StatusForbidden},
		{name: "mailed", method: "POST", path: letterPath + "/mailed", headers: withAll, want: http.StatusOK},
		{name: "mailed again", method: "POST", path: letterPath + "/mailed", headers: withAll, want: http.StatusOK},
		{name: "mailed, unknown letter", method: "POST", path: "/v1/letters/999999999/mailed", headers: withAll, want: http.StatusNotFound},
		{name: "mailed, but the provider mails it", method: "POST", path: fmt.Sprintf("/v1/letters/%d/mailed", sent.ID), headers: withAll, want: http.StatusConflict},
	} {
		l.run(t, c)
	}

	// Reports, the customer view, sessions, pages, the codec and the service routes.
	session := l.run(t, apiCase{name: "start a session", method: "POST", path: "/v1/session", headers: withRead, want: http.StatusOK})
	var cookie string
	for _, ck := range (&http.Response{Header: session.header}).Cookies() {
		if ck.Name == auth.SessionCookie {
			cookie = ck.Name + "=" + ck.Value
		}
	}
	require.NotEmpty(t, cookie, "the session cookie")
	payloads := `{"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "IkFkYSI="}]}`
	rest := []apiCase{
		{name: "KPIs", method: "GET", path: "/v1/reports/kpis?currency=EUR", headers: withRead, want: http.StatusOK},
		{name: "KPIs over a bad period", method: "GET", path: "/v1/reports/kpis?to=yesterday", headers: withRead, want: http.StatusBadRequest, brokenRequest: true},
		{name: "KPIs with an unknown parameter", method: "GET", path: "/v1/reports/kpis?colour=red", headers: withRead, want: http.StatusBadRequest},
		{name: "KPIs without a key", method: "GET", path: "/v1/reports/kpis", want: http.StatusUnauthorized, brokenRequest: true},
		{name: "aging", method: "GET", path: "/v1/reports/aging?as_of=" + day(0), headers: withRead, want: http.StatusOK},
		{name: "steps", method: "GET", path: "/v1/reports/steps?within_days=14", headers: withRead, want: http.StatusOK},
		{name: "steps within no days", method: "GET", path: "/v1/reports/steps?within_days=0", headers: withRead, want: http.StatusBadRequest, brokenRequest: true},
		{name: "trend", method: "GET", path: "/v1/reports/trend?months=3", headers: withRead, want: http.StatusOK},
		{name: "trend over too many months", method: "GET", path: "/v1/reports/trend?months=40", headers: withRead, want: http.StatusBadRequest, brokenRequest: true},
		{name: "forecast", method: "GET", path: "/v1/reports/forecast?weeks=8", headers: withRead, want: http.StatusOK},
		{name: "collectors", method: "GET", path: "/v1/reports/collectors?within_days=3", headers: withRead, want: http.StatusOK},
		{name: "collectors within too many days", method: "GET", path: "/v1/reports/collectors?within_days=366", headers: withRead, want: http.StatusBadRequest, brokenRequest: true},
		{name: "forecast over no weeks", method: "GET", path: "/v1/reports/forecast?weeks=0", headers: withRead, want: http.StatusBadRequest, brokenRequest: true},
		{name: "customer", method: "GET", path: "/v1/customers/" + customer, headers: withRead, want: http.StatusOK},
		{name: "unknown customer", method: "GET", path: "/v1/customers/" + uid("C"), headers: withRead, want: http.StatusNotFound},
		{name: "customer with a parameter", method: "GET", path: "/v1/customers/" + customer + "?all=1", headers: withRead, want: http.StatusBadRequest},
		{name: "note", method: "POST", path: "/v1/customers/" + customer + "/notes", body: fmt.Sprintf(`{"text": "Called: will pay Friday", "invoice_id": %q}`, inv), headers: withAll, want: http.StatusCreated},
		{name: "note about the customer", method: "POST", path: "/v1/customers/" + customer + "/notes", body: `{"text": "Prefers calls"}`, headers: withAll, want: http.StatusCreated},
		{name: "note of white space", method: "POST", path: "/v1/customers/" + customer + "/notes", body: `{"text": "  "}`, headers: withAll, want: http.StatusBadRequest},
		{name: "note without text", method: "POST", path: "/v1/customers/" + customer + "/notes", body: `{}`, headers: withAll, want: http.StatusBadRequest, brokenRequest: true},
		{name: "note on an unknown invoice", method: "POST", path: "/v1/customers/" + customer + "/notes", body: `{"text": "x", "invoice_id": "NOPE-1"}`, headers: withAll, want: http.StatusUnprocessableEntity},
		{name: "note for an unknown customer", method: "POST", path: "/v1/customers/" + uid("C") + "/notes", body: `{"text": "x"}`, headers: withAll, want: http.StatusNotFound},
		{name: "note with a read key", method: "POST", path: "/v1/customers/" + customer + "/notes", body: `{"text": "x"}`, headers: withRead, want: http.StatusForbidden},
		{name: "note as text", method: "POST", path: "/v1/customers/" + customer + "/notes", body: `x`, contentType: "text/plain", headers: withAll, want: http.StatusUnsupportedMediaType, brokenRequest: true},
		{name: "note too large", method: "POST", path: "/v1/customers/" + customer + "/notes", body: `{"text": "` + strings.Repeat("x", 70<<10) + `"}`, headers: withAll, want: http.StatusRequestEntityTooLarge, brokenRequest: true},
		{name: "inbound reply", method: "POST", path: "/v1/webhooks/sendgrid/inbound/" + inboundToken, contentType: replyType, body: string(replyBody), want: http.StatusOK},
		{name: "inbound reply again", method: "POST", path: "/v1/webhooks/sendgrid/inbound/" + inboundToken, contentType: replyType, body: string(replyBody), want: http.StatusOK},
		{name: "inbound reply, wrong token", method: "POST", path: "/v1/webhooks/sendgrid/inbound/nope", contentType: replyType, body: string(replyBody), want: http.StatusUnauthorized},
		{name: "inbound reply, no sender", method: "POST", path: "/v1/webhooks/sendgrid/inbound/" + inboundToken, contentType: replyType, body: strings.Replace(string(replyBody), "ada@example.com", "", -1), want: http.StatusBadRequest},
		{name: "assign", method: "PUT", path: "/v1/customers/" + customer + "/assignee", body: fmt.Sprintf(`{"assignee": %q}`, allKey.Name), headers: withAll, want: http.StatusOK},
		{name: "customer with an assignee", method: "GET", path: "/v1/customers/" + customer, headers: withRead, want: http.StatusOK},
		{name: "assign no collector", method: "PUT", path: "/v1/customers/" + customer + "/assignee", body: `{"assignee": "nobody-such"}`, headers: withAll, want: http.StatusUnprocessableEntity},
		{name: "assign nobody", method: "PUT", path: "/v1/customers/" + customer + "/assignee", body: `{"assignee": ""}`, headers: withAll, want: http.StatusBadRequest},
		{name: "assign for an unknown customer", method: "PUT", path: "/v1/customers/" + uid("C") + "/assignee", body: `{"assignee": "ada"}`, headers: withAll, want: http.StatusNotFound},
		{name: "unassign", method: "DELETE", path: "/v1/customers/" + customer + "/assignee", headers: withAll, want: http.StatusOK},
		{name: "channel order never chosen", method: "GET", path: "/v1/customers/" + customer + "/contact-preferences", headers: withRead, want: http.StatusOK},
		{name: "channel order set", method: "PUT", path: "/v1/customers/" + customer + "/contact-preferences", body: `{"channel_order": ["sms", "email"]}`, headers: withAll, want: http.StatusOK},
		{name: "channel order chosen", method: "GET", path: "/v1/customers/" + customer + "/contact-preferences", headers: withRead, want: http.StatusOK},
		{name: "channel order refused", method: "PUT", path: "/v1/customers/" + customer + "/contact-preferences", body: `{"channel_order": ["letter"]}`, headers: withAll, want: http.StatusBadRequest},
		{name: "channel order of an unknown customer", method: "GET", path: "/v1/customers/" + uid("C") + "/contact-preferences", headers: withRead, want: http.StatusNotFound},
		{name: "timeline", method: "GET", path: "/v1/customers/" + customer + "/timeline", headers: withRead, want: http.StatusOK},
		{name: "timeline page", method: "GET", path: "/v1/customers/" + customer + "/timeline?limit=2&kind=note,payment&before=" + url.QueryEscape(today.Add(time.Hour).Format(time.RFC3339)), headers: withRead, want: http.StatusOK},
		{name: "timeline of an unknown customer", method: "GET", path: "/v1/customers/" + uid("C") + "/timeline", headers: withRead, want: http.StatusNotFound},
		{name: "timeline with a bad limit", method: "GET", path: "/v1/customers/" + customer + "/timeline?limit=0", headers: withRead, want: http.StatusBadRequest, brokenRequest: true},
		{name: "timeline with a bad cursor", method: "GET", path: "/v1/customers/" + customer + "/timeline?before=yesterday", headers: withRead, want: http.StatusBadRequest},
		{name: "statement", method: "GET", path: "/v1/customers/" + customer + "/statement?as_of=" + day(0), headers: withRead, want: http.StatusOK},
		{name: "statement as PDF", method: "GET", path: "/v1/customers/" + customer + "/statement", headers: append([]string{"Accept", "application/pdf", "Accept-Language", "de-DE"}, withRead...), want: http.StatusOK},
		{name: "statement as HTML", method: "GET", path: "/v1/customers/" + customer + "/statement", headers: append([]string{"Accept", "text/html"}, withRead...), want: http.StatusNotAcceptable},
		{name: "statement of an unknown customer", method: "GET", path: "/v1/customers/" + uid("C") + "/statement", headers: withRead, want: http.StatusNotFound},
		{name: "statement with a bad date", method: "GET", path: "/v1/customers/" + customer + "/statement?since=soon", headers: withRead, want: http.StatusBadRequest, brokenRequest: true},
		{name: "state by session cookie", method: "GET", path: base, headers: []string{"Cookie", cookie}, want: http.StatusOK},
		{name: "session without a key", method: "POST", path: "/v1/session", want: http.StatusUnauthorized},
		{name: "sign in with the form", method: "POST", path: "/v1/session", contentType: "application/x-www-form-urlencoded", headers: []string{"Sec-Fetch-Site", "same-origin"},
			body: url.Values{"key": {reader}, "next": {"/worklist?assignee=grace"}}.Encode(), want: http.StatusSeeOther, noRedirect: true},
		{name: "sign in with the form of another site", method: "POST", path: "/v1/session", contentType: "application/x-www-form-urlencoded", headers: []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"},
			body: url.Values{"key": {reader}, "next": {"/reports"}}.Encode(), want: http.StatusForbidden},
		{name: "sign in with the form and a wrong key", method: "POST", path: "/v1/session", contentType: "application/x-www-form-urlencoded", headers: []string{"Sec-Fetch-Site", "same-origin"},
			body: url.Values{"key": {"dw_" + strings.Repeat("0", 40)}, "next": {"/reports"}}.Encode(), want: http.StatusUnauthorized},
		{name: "sign in with the form and the key twice", method: "POST", path: "/v1/session", contentType: "application/x-www-form-urlencoded", headers: []string{"Sec-Fetch-Site", "same-origin"},
			body: url.Values{"key": {reader, reader}}.Encode(), want: http.StatusBadRequest},
		{name: "end the session", method: "DELETE", path: "/v1/session", headers: []string{"Cookie", cookie}, want: http.StatusNoContent},
		{name: "reports page", method: "GET", path: "/reports", headers: withRead, want: http.StatusOK},
		{name: "reports page, bad period", method: "GET", path: "/reports?from=tomorrow", headers: withRead, want: http.StatusBadRequest, brokenRequest: true},
		{name: "reports page without a key", method: "GET", path: "/reports", want: http.StatusUnauthorized, brokenRequest: true},
		{name: "sign-in page", method: "GET", path: "/signin", want: http.StatusOK},
		{name: "codec encode", method: "POST", path: "/codec/encode", body: payloads, headers: withRead, want: http.StatusOK},
		{name: "codec decode, not encrypted", method: "POST", path: "/codec/decode", body: `{"payloads": "none"}`, headers: withRead, want: http.StatusBadRequest, brokenRequest: true},
		{name: "codec without a key", method: "POST", path: "/codec/decode", body: payloads, want: http.StatusUnauthorized, brokenRequest: true},
		{name: "codec preflight", method: "OPTIONS", path: "/codec/encode", headers: []string{"Origin", "http://localhost:8233", "Access-Control-Request-Method", "POST"}, want: http.StatusNoContent},
		{name: "codec preflight from elsewhere", method: "OPTIONS", path: "/codec/decode", headers: []string{"Origin", "https://evil.example"}, want: http.StatusForbidden},
		{name: "health", method: "GET", path: "/healthz", want: http.StatusOK},
		{name: "readiness", method: "GET", path: "/readyz", want: http.StatusOK},
		{name: "description", method: "GET", path: "/openapi.yaml", want: http.StatusOK},
	}
	for _, c := range rest {
		l.run(t, c)
	}
	// The customer's portal: a link, its page and forms (a same-origin browser page
	// posting; the client follows the 303 to the page), the plan a customer asked for
	// beyond the policy's limits, and the revocations.
	portalInvoices := []string{issue(t), issue(t), issue(t)}
	created := l.run(t, apiCase{name: "portal link", method: "POST", path: "/v1/customers/" + customer + "/portal-link", headers: withAll, want: http.StatusCreated})
	var link PortalLinkResponse
	require.NoError(t, json.Unmarshal(created.body, &link))
	portalPage := strings.TrimPrefix(link.URL, testPublicURL)
	tok, err := portal.ParseToken(strings.TrimPrefix(portalPage, portal.PathPrefix))
	require.NoError(t, err)
	browser := []string{"Sec-Fetch-Site", "same-origin"}
	portalForm := func(v url.Values) string {
		v.Set("csrf", tok.CSRF())
		return v.Encode()
	}
	const formType = "application/x-www-form-urlencoded"
	portalCases := []apiCase{
		{name: "portal link of an unknown customer", method: "POST", path: "/v1/customers/" + uid("C") + "/portal-link", headers: withAll, want: http.StatusNotFound},
		{name: "portal link with a read key", method: "POST", path: "/v1/customers/" + customer + "/portal-link", headers: withRead, want: http.StatusForbidden},
		{name: "portal page", method: "GET", path: portalPage, want: http.StatusOK},
		{name: "portal page of a tampered link", method: "GET", path: portal.PathPrefix + strings.Repeat("A", portal.TokenLength), want: http.StatusNotFound},
		{name: "portal statement", method: "GET", path: portalPage + "/" + portal.StatementPath, want: http.StatusOK},
		{name: "portal statement of a tampered link", method: "GET", path: portal.PathPrefix + strings.Repeat("A", portal.TokenLength) + "/" + portal.StatementPath, want: http.StatusNotFound},
		{name: "portal promise", method: "POST", path: portalPage + "/promise", contentType: formType, headers: browser,
			body: portalForm(url.Values{"invoice": {portalInvoices[0]}, "date": {day(5)}, "amount": {"20.00"}}), want: http.StatusOK},
		{name: "portal promise beyond the limit", method: "POST", path: portalPage + "/promise", contentType: formType, headers: browser,
			body: portalForm(url.Values{"invoice": {portalInvoices[1]}, "date": {day(300)}, "amount": {"20.00"}}), want: http.StatusUnprocessableEntity},
		{name: "portal promise without its CSRF token", method: "POST", path: portalPage + "/promise", contentType: formType, headers: browser,
			body: url.Values{"invoice": {portalInvoices[1]}, "date": {day(5)}, "amount": {"20.00"}}.Encode(), want: http.StatusForbidden},
		{name: "portal dispute", method: "POST", path: portalPage + "/dispute", contentType: formType, headers: browser,
			body: portalForm(url.Values{"invoice": {portalInvoices[1]}, "reason": {"wrong_amount"}, "text": {"we ordered three"}}), want: http.StatusOK},
		{name: "portal dispute of another customer's invoice", method: "POST", path: portalPage + "/dispute", contentType: formType, headers: browser,
			body: portalForm(url.Values{"invoice": {uid("INV")}, "reason": {"wrong_amount"}}), want: http.StatusNotFound},
		{name: "portal plan beyond the limits", method: "POST", path: portalPage + "/plan", contentType: formType, headers: browser,
			body: portalForm(url.Values{"invoice": {portalInvoices[2]}, "count": {"6"}, "first_date": {day(3)}}), want: http.StatusOK},
		{name: "portal preferences", method: "POST", path: portalPage + "/preferences", contentType: formType, headers: browser,
			body: portalForm(url.Values{"email": {"on"}, "sms": {"on"}}), want: http.StatusOK},
		{name: "portal pay without Stripe", method: "POST", path: portalPage + "/pay", contentType: formType, headers: browser,
			body: portalForm(url.Values{"invoice": {portalInvoices[0]}}), want: http.StatusNotFound},
		{name: "plan requests", method: "GET", path: "/v1/plan-requests?status=pending", headers: withRead, want: http.StatusOK},
		{name: "plan requests, bad status", method: "GET", path: "/v1/plan-requests?status=maybe", headers: withRead, want: http.StatusBadRequest, brokenRequest: true},
		{name: "approve an unknown plan request", method: "POST", path: "/v1/plan-requests/999999999/approve", headers: withAll, want: http.StatusNotFound},
		{name: "reject an unknown plan request", method: "POST", path: "/v1/plan-requests/999999999/reject", body: `{"reason": "no"}`, headers: withAll, want: http.StatusNotFound},
	}
	for _, c := range portalCases {
		l.run(t, c)
	}
	pending, err := testStore.ListPlanRequests(ctx, ledger.PlanPending)
	require.NoError(t, err)
	var planID int64
	for _, p := range pending {
		if p.InvoiceID == portalInvoices[2] {
			planID = p.ID
		}
	}
	require.NotZero(t, planID, "the plan beyond the limits waits for an operator")
	l.run(t, apiCase{name: "approve a plan request", method: "POST", path: fmt.Sprintf("/v1/plan-requests/%d/approve", planID), body: `{"reason": "fine"}`, headers: withAll, want: http.StatusOK})
	l.run(t, apiCase{name: "reject a decided plan request", method: "POST", path: fmt.Sprintf("/v1/plan-requests/%d/reject", planID), headers: withAll, want: http.StatusConflict})
	l.run(t, apiCase{name: "revoke the portal link", method: "DELETE", path: fmt.Sprintf("/v1/customers/%s/portal-links/%d", customer, link.ID), headers: withAll, want: http.StatusOK})
	l.run(t, apiCase{name: "portal page of a revoked link", method: "GET", path: portalPage, want: http.StatusGone})
	l.run(t, apiCase{name: "revoke an unknown portal link", method: "DELETE", path: fmt.Sprintf("/v1/customers/%s/portal-links/999999999", customer), headers: withAll, want: http.StatusNotFound})
	l.run(t, apiCase{name: "revoke all portal links", method: "DELETE", path: "/v1/customers/" + customer + "/portal-links", headers: withAll, want: http.StatusOK})

	l.runTaskCases(t, customer, issue(t), withAll, withRead)
	l.runWorklistCases(t, customer, withAll, withRead)

	l.run(t, apiCase{name: "first request of a limited key", method: "GET", path: base, headers: withRead, limited: true, want: http.StatusOK})
	l.run(t, apiCase{name: "over the key's rate limit", method: "GET", path: base, headers: withRead, limited: true, want: http.StatusTooManyRequests})
	encoded := l.run(t, apiCase{name: "codec encode for decode", method: "POST", path: "/codec/encode", body: payloads, headers: withRead, want: http.StatusOK})
	l.run(t, apiCase{name: "codec decode", method: "POST", path: "/codec/decode", body: string(encoded.body), headers: withRead, want: http.StatusOK})

	var missing []string
	for path, item := range specOperations(t) {
		for method := range item {
			if !l.covered[method+" "+path] {
				missing = append(missing, method+" "+path)
			}
		}
	}
	slices.Sort(missing)
	require.Empty(t, missing, "operations in openapi.yaml that no case exercises")
}

// parkEvent parks a stored webhook event, as the forwarder does with one it cannot
// apply (no forwarder runs here), and returns its id.
func parkEvent(t *testing.T, source webhooks.Source, eventID string) int64 {
	t.Helper()
	ctx := context.Background()
	e, err := testStore.GetWebhookEvent(ctx, string(source), eventID)
	require.NoError(t, err)
	require.NoError(t, testStore.ParkWebhookEvent(ctx, e.ID, "parked by the test"))
	return e.ID
}
