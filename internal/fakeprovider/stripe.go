package fakeprovider

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/dunwell/dunwell/money"
)

// The fake Stripe: the Checkout Session API the customer's portal calls through
// stripe-go, a hosted "checkout page" a person (or a test) pays on, and the signed
// webhook Stripe sends when a session is paid.
//
//	POST /v1/checkout/sessions        create (form-encoded, as stripe-go sends it:
//	                                  line_items[0][price_data][unit_amount]=..., metadata[k]=v);
//	                                  Idempotency-Key replays the first answer, and a key
//	                                  reused with other parameters is 400 idempotency_error
//	GET  /v1/checkout/sessions/{id}   retrieve
//	GET  /checkout/{id}               the hosted page: what is paid, a Pay button, a way back
//	POST /checkout/{id}/pay           pays the session: checkout.session.completed, signed
//	                                  with Options.StripeWebhookSecret, posted to
//	                                  Options.StripeWebhookURL; then 303 to success_url
//	                                  with {CHECKOUT_SESSION_ID} filled in
//
// Control (besides the faults, with provider "stripe": op "send" is the create call,
// "lookup" the retrieve; rate_limit, server_error, unavailable, hold and stall, where
// hold records the session and then holds the answer, the timeout after Stripe made it):
//
//	GET  /_fake/stripe/sessions             {"sessions":[...]}, oldest first
//	GET  /_fake/stripe/events               {"events":[...]}: what was sent, and the answers
//	POST /_fake/stripe/sessions/{id}/pay    pay as the page does; answers the event
//	POST /_fake/stripe/events/{id}/resend   deliver a sent event again (same id and body)

// Stripe is the fake Stripe's provider name (faults).
const Stripe Provider = "stripe"

// stripeAPIVersion is what the fake's events say they were rendered in: stripe-go
// v85's version.
const stripeAPIVersion = "2026-03-25.dahlia"

// stripeWebhookAttempts is how often a webhook is posted before the fake gives up
// (Stripe keeps trying for days; the fake's Resend does it by hand after that).
const stripeWebhookAttempts = 5

// StripeLineItem is one line of a session.
type StripeLineItem struct {
	Name       string            `json:"name"`
	Currency   string            `json:"currency"`
	UnitAmount int64             `json:"unit_amount"`
	Quantity   int64             `json:"quantity"`
	Metadata   map[string]string `json:"metadata,omitempty"`
}

// StripeSession is a Checkout Session as the fake keeps it. Its JSON is the API's.
type StripeSession struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	Mode              string            `json:"mode"`
	Status            string            `json:"status"`
	PaymentStatus     string            `json:"payment_status"`
	Currency          string            `json:"currency"`
	AmountSubtotal    int64             `json:"amount_subtotal"`
	AmountTotal       int64             `json:"amount_total"`
	Metadata          map[string]string `json:"metadata"`
	ClientReferenceID *string           `json:"client_reference_id"`
	Locale            *string           `json:"locale"`
	SuccessURL        string            `json:"success_url"`
	CancelURL         string            `json:"cancel_url"`
	URL               *string           `json:"url"`
	PaymentIntent     *string           `json:"payment_intent"`
	Created           int64             `json:"created"`
	ExpiresAt         int64             `json:"expires_at"`
	Livemode          bool              `json:"livemode"`
	// LineItems are not part of the session's JSON (Stripe lists them apart).
	LineItems []StripeLineItem `json:"-"`
	// PaymentIntentMetadata is payment_intent_data[metadata] of the create call.
	PaymentIntentMetadata map[string]string `json:"-"`
	// IdempotencyKey is the create call's Idempotency-Key.
	IdempotencyKey string `json:"-"`
}

// StripeEvent is an event the fake sent: its body, where, and how it went.
type StripeEvent struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	SessionID string `json:"session_id"`
	Body      []byte `json:"body"`
	// Status is the last answer of the webhook endpoint (0: not reached).
	Status   int `json:"status"`
	Attempts int `json:"attempts"`
}

// stripeState is the fake Stripe's data, under Server.mu.
type stripeState struct {
	sessions map[string]*StripeSession
	order    []string
	// idem maps an Idempotency-Key to the request's parameters and the session made.
	idem       map[string]stripeIdem
	events     map[string]*StripeEvent
	eventOrder []string
}

type stripeIdem struct {
	params  [32]byte
	session string
}

// resetStripe forgets every session, key and event.
func (s *Server) resetStripe() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stripe = stripeState{sessions: map[string]*StripeSession{}, idem: map[string]stripeIdem{}, events: map[string]*StripeEvent{}}
}

func (s *Server) stripeRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /v1/checkout/sessions", s.stripeCreate)
	m.HandleFunc("GET /v1/checkout/sessions/{id}", s.stripeRetrieve)
	m.HandleFunc("GET /checkout/{id}", s.stripePage)
	m.HandleFunc("POST /checkout/{id}/pay", s.stripePagePay)
	m.HandleFunc("GET /_fake/stripe/sessions", answer(func() any { return map[string]any{"sessions": s.StripeSessions()} }))
	m.HandleFunc("GET /_fake/stripe/events", answer(func() any { return map[string]any{"events": s.StripeEvents()} }))
	m.HandleFunc("POST /_fake/stripe/sessions/{id}/pay", func(w http.ResponseWriter, r *http.Request) {
		ev, err := s.PayStripeSession(r.PathValue("id"))
		if err != nil && ev.ID == "" {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, ev)
	})
	m.HandleFunc("POST /_fake/stripe/events/{id}/resend", func(w http.ResponseWriter, r *http.Request) {
		ev, err := s.ResendStripeEvent(r.PathValue("id"))
		if err != nil && ev.ID == "" {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, ev)
	})
}

// stripeError answers in Stripe's error shape.
func stripeError(w http.ResponseWriter, status int, typ, code, param, format string, args ...any) {
	e := map[string]any{"type": typ, "message": fmt.Sprintf(format, args...)}
	if code != "" {
		e["code"] = code
	}
	if param != "" {
		e["param"] = param
	}
	writeJSON(w, status, map[string]any{"error": e})
}

// stripeAuth checks the secret key (Authorization: Bearer sk_... or rk_...).
func (s *Server) stripeAuth(w http.ResponseWriter, r *http.Request) bool {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case !ok || key == "":
		stripeError(w, http.StatusUnauthorized, "invalid_request_error", "", "", "You did not provide an API key.")
		return false
	case s.stripeKey != "" && key != s.stripeKey, s.stripeKey == "" && !strings.HasPrefix(key, "sk_") && !strings.HasPrefix(key, "rk_"):
		stripeError(w, http.StatusUnauthorized, "invalid_request_error", "", "", "Invalid API Key provided.")
		return false
	}
	return true
}

// stripeFault answers an injected fault; true when it did.
func stripeFault(w http.ResponseWriter, f *Fault) bool {
	switch f.Kind {
	case FaultRateLimit:
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		stripeError(w, http.StatusTooManyRequests, "invalid_request_error", "rate_limit", "", "Too many requests hit the API too quickly.")
	case FaultServerError:
		w.Header().Set("Stripe-Should-Retry", "true")
		stripeError(w, http.StatusInternalServerError, "api_error", "", "", "An unknown error occurred.")
	case FaultUnavailable:
		stripeError(w, http.StatusServiceUnavailable, "api_error", "", "", "The service is temporarily unavailable.")
	default:
		return false
	}
	return true
}

var metadataKeyRE = regexp.MustCompile(`^metadata\[([^\]]*)\]$`)

// readSession reads a create call's form into a session, or names the bad parameter.
func readSession(form url.Values) (*StripeSession, string, string) {
	sess := &StripeSession{Object: "checkout.session", Status: "open", PaymentStatus: "unpaid",
		Mode: form.Get("mode"), SuccessURL: form.Get("success_url"), CancelURL: form.Get("cancel_url"),
		Metadata: map[string]string{}, PaymentIntentMetadata: map[string]string{}}
	if v := form.Get("client_reference_id"); v != "" {
		sess.ClientReferenceID = &v
	}
	if v := form.Get("locale"); v != "" {
		sess.Locale = &v
	}
	switch {
	case sess.Mode != "payment":
		return nil, "mode", "the fake supports mode=payment only"
	case !httpURL(sess.SuccessURL):
		return nil, "success_url", "Not a valid URL"
	case sess.CancelURL != "" && !httpURL(sess.CancelURL):
		return nil, "cancel_url", "Not a valid URL"
	}
	for k, v := range form {
		if m := metadataKeyRE.FindStringSubmatch(k); m != nil {
			if len(m[1]) == 0 || len(m[1]) > 40 || len(v[0]) > 500 {
				return nil, k, "Metadata keys are 1 to 40 characters and values at most 500"
			}
			sess.Metadata[m[1]] = v[0]
		}
		if key, ok := strings.CutPrefix(k, "payment_intent_data[metadata]["); ok {
			sess.PaymentIntentMetadata[strings.TrimSuffix(key, "]")] = v[0]
		}
	}
	if len(sess.Metadata) > 50 {
		return nil, "metadata", "You can specify up to 50 keys"
	}
	for i := 0; ; i++ {
		p := fmt.Sprintf("line_items[%d]", i)
		if form.Get(p+"[price_data][currency]") == "" && form.Get(p+"[quantity]") == "" && form.Get(p+"[price]") == "" {
			break
		}
		if i == 100 {
			return nil, "line_items", "At most 100 line items"
		}
		it := StripeLineItem{Name: form.Get(p + "[price_data][product_data][name]"), Currency: strings.ToLower(form.Get(p + "[price_data][currency]")),
			Metadata: map[string]string{}}
		var err error
		if it.UnitAmount, err = strconv.ParseInt(form.Get(p+"[price_data][unit_amount]"), 10, 64); err != nil || it.UnitAmount < 0 {
			return nil, p + "[price_data][unit_amount]", "Invalid non-negative integer"
		}
		if it.Quantity, err = strconv.ParseInt(form.Get(p+"[quantity]"), 10, 64); err != nil || it.Quantity < 1 {
			return nil, p + "[quantity]", "Invalid positive integer"
		}
		switch {
		case it.Name == "":
			return nil, p + "[price_data][product_data][name]", "Missing required param"
		case !money.ValidCurrency(strings.ToUpper(it.Currency)):
			return nil, p + "[price_data][currency]", "Invalid currency"
		case sess.Currency != "" && it.Currency != sess.Currency:
			return nil, p + "[price_data][currency]", "All line items must be in one currency"
		}
		for k, v := range form {
			if key, ok := strings.CutPrefix(k, p+"[metadata]["); ok {
				it.Metadata[strings.TrimSuffix(key, "]")] = v[0]
			}
		}
		sess.Currency = it.Currency
		sess.AmountTotal += it.UnitAmount * it.Quantity
		sess.LineItems = append(sess.LineItems, it)
	}
	if len(sess.LineItems) == 0 {
		return nil, "line_items", "line_items is required in payment mode"
	}
	sess.AmountSubtotal = sess.AmountTotal
	return sess, "", ""
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// stripeCreate serves POST /v1/checkout/sessions.
func (s *Server) stripeCreate(w http.ResponseWriter, r *http.Request) {
	if !s.stripeAuth(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "", "", "Invalid request body: %v", err)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	params := sha256.Sum256([]byte(r.PostForm.Encode())) // Encode sorts by name
	s.mu.Lock()
	if prev, ok := s.stripe.idem[key]; ok && key != "" {
		sess := *s.stripe.sessions[prev.session]
		s.mu.Unlock()
		if prev.params != params {
			stripeError(w, http.StatusBadRequest, "idempotency_error", "", "",
				"Keys for idempotent requests can only be used with the same parameters they were first used with.")
			return
		}
		w.Header().Set("Idempotent-Replayed", "true")
		writeJSON(w, http.StatusOK, sess)
		return
	}
	s.mu.Unlock()
	f := s.takeFault(Stripe, OpSend, nil)
	if f != nil && stripeFault(w, f) {
		return
	}
	if f != nil && f.Kind == FaultStall && !s.hold(r.Context(), Message{Provider: Stripe}) {
		return // the client went away before Stripe made anything
	}
	sess, param, msg := readSession(r.PostForm)
	if sess == nil {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid", param, "%s", msg)
		return
	}
	now := time.Now().UTC()
	sess.ID = "cs_test_" + randomHex(24)
	sess.Created, sess.ExpiresAt = now.Unix(), now.Add(24*time.Hour).Unix()
	sess.IdempotencyKey = key
	page := s.baseURL(r) + "/checkout/" + sess.ID
	sess.URL = &page
	s.mu.Lock()
	if prev, ok := s.stripe.idem[key]; ok && key != "" { // the same key raced in
		sess = s.stripe.sessions[prev.session]
	} else {
		s.stripe.sessions[sess.ID] = sess
		s.stripe.order = append(s.stripe.order, sess.ID)
		if key != "" {
			s.stripe.idem[key] = stripeIdem{params: params, session: sess.ID}
		}
	}
	out := *sess
	s.mu.Unlock()
	s.log.Info("Fake Stripe checkout session created", "id", out.ID, "amount_total", out.AmountTotal, "currency", out.Currency)
	if f != nil && f.Kind == FaultHold && !s.hold(r.Context(), Message{Provider: Stripe, ID: out.ID}) {
		return // Stripe made it; the client never heard
	}
	writeJSON(w, http.StatusOK, out)
}

// baseURL is the fake's own URL as the client reached it.
func (s *Server) baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// stripeRetrieve serves GET /v1/checkout/sessions/{id}.
func (s *Server) stripeRetrieve(w http.ResponseWriter, r *http.Request) {
	if !s.stripeAuth(w, r) {
		return
	}
	f := s.takeFault(Stripe, OpLookup, nil)
	if f != nil && stripeFault(w, f) {
		return
	}
	if f != nil && (f.Kind == FaultHold || f.Kind == FaultStall) && !s.hold(r.Context(), Message{Provider: Stripe, ID: r.PathValue("id")}) {
		return
	}
	sess, ok := s.stripeSession(r.PathValue("id"))
	if !ok {
		stripeError(w, http.StatusNotFound, "invalid_request_error", "resource_missing", "id", "No such checkout.session: '%s'", r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, sess)
}

func (s *Server) stripeSession(id string) (StripeSession, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.stripe.sessions[id]
	if !ok {
		return StripeSession{}, false
	}
	return *sess, true
}

// StripeSessions returns the sessions made, oldest first.
func (s *Server) StripeSessions() []StripeSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]StripeSession, 0, len(s.stripe.order))
	for _, id := range s.stripe.order {
		out = append(out, *s.stripe.sessions[id])
	}
	return out
}

// StripeEvents returns the events the fake sent (or tried to), oldest first.
func (s *Server) StripeEvents() []StripeEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]StripeEvent, 0, len(s.stripe.events))
	for _, id := range s.stripe.eventOrder {
		out = append(out, *s.stripe.events[id])
	}
	return out
}

// ErrStripeSession is a session the fake cannot pay: unknown, or not open.
var ErrStripeSession = errors.New("fakeprovider: no open checkout session")

// PayStripeSession pays an open session as its hosted page does: the session is
// complete and paid, and checkout.session.completed is posted to the webhook URL
// (retried in the background if the endpoint does not answer 2xx). It returns the
// event with the endpoint's first answer; an error with an event means the first
// delivery failed.
func (s *Server) PayStripeSession(id string) (StripeEvent, error) {
	s.mu.Lock()
	sess, ok := s.stripe.sessions[id]
	if !ok || sess.Status != "open" {
		s.mu.Unlock()
		return StripeEvent{}, fmt.Errorf("%w: %q", ErrStripeSession, id)
	}
	pi := "pi_" + randomHex(12)
	sess.Status, sess.PaymentStatus, sess.PaymentIntent, sess.URL = "complete", "paid", &pi, nil
	snapshot := *sess
	ev := &StripeEvent{ID: "evt_" + randomHex(12), Type: "checkout.session.completed", SessionID: id}
	body, err := json.Marshal(map[string]any{"id": ev.ID, "object": "event", "api_version": stripeAPIVersion,
		"created": time.Now().Unix(), "livemode": false, "pending_webhooks": 1, "type": ev.Type,
		"request": map[string]any{"id": nil, "idempotency_key": nil}, "data": map[string]any{"object": snapshot}})
	if err != nil { // plain data: cannot fail
		s.mu.Unlock()
		return StripeEvent{}, err
	}
	ev.Body = body
	s.stripe.events[ev.ID] = ev
	s.stripe.eventOrder = append(s.stripe.eventOrder, ev.ID)
	s.mu.Unlock()
	s.log.Info("Fake Stripe checkout session paid", "id", id, "event", ev.ID)
	return s.deliverStripe(ev.ID, true)
}

// ResendStripeEvent delivers a sent event again, with the same id and body (as
// Stripe's retries and the dashboard's "resend" do), newly signed.
func (s *Server) ResendStripeEvent(id string) (StripeEvent, error) {
	s.mu.Lock()
	_, ok := s.stripe.events[id]
	s.mu.Unlock()
	if !ok {
		return StripeEvent{}, fmt.Errorf("fakeprovider: no stripe event %q", id)
	}
	return s.deliverStripe(id, false)
}

// deliverStripe posts the event once now; with retry, failures are retried in the
// background with a doubling pause.
func (s *Server) deliverStripe(id string, retry bool) (StripeEvent, error) {
	if s.stripeHookURL == "" || s.stripeSecret == "" {
		s.mu.Lock()
		out := *s.stripe.events[id]
		s.mu.Unlock()
		return out, errors.New("fakeprovider: stripe webhooks need Options.StripeWebhookURL and Options.StripeWebhookSecret")
	}
	out, err := s.postStripe(id)
	if err != nil && retry {
		s.background(func() {
			pause := time.Second
			for range stripeWebhookAttempts - 1 {
				time.Sleep(pause)
				pause *= 2
				s.mu.Lock()
				closed := s.closed
				s.mu.Unlock()
				if closed {
					return
				}
				if _, err := s.postStripe(id); err == nil {
					return
				}
			}
		})
	}
	return out, err
}

func (s *Server) postStripe(id string) (StripeEvent, error) {
	s.mu.Lock()
	body := s.stripe.events[id].Body
	s.mu.Unlock()
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: s.stripeSecret, Timestamp: time.Now()})
	var status int
	req, err := http.NewRequest(http.MethodPost, s.stripeHookURL, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		req.Header.Set("Stripe-Signature", signed.Header)
		req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
		status, err = s.post(req)
	}
	s.mu.Lock()
	ev := s.stripe.events[id]
	ev.Attempts++
	ev.Status = status
	out := *ev
	s.mu.Unlock()
	if err != nil {
		s.log.Warn("Fake Stripe webhook failed", "event", id, "status", status, "err", err)
	}
	return out, err
}

var stripePageTemplate = template.Must(template.New("checkout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fake Stripe Checkout</title>
<style>body{font:17px/1.5 system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
table{width:100%;border-collapse:collapse}td{padding:.4rem 0;border-bottom:1px solid #ddd}td.n{text-align:right}
button{font:inherit;font-weight:600;padding:.6rem 1.2rem;border:0;border-radius:6px;background:#635bff;color:#fff;min-height:44px}
.note{color:#555;font-size:.9rem}</style></head><body>
<p class="note">Local fake of Stripe Checkout: no card, no money. Paying sends a signed checkout.session.completed webhook.</p>
<h1>Pay {{.Total}}</h1>
<table>{{range .Items}}<tr><td>{{.Name}}</td><td class="n">{{.Amount}}</td></tr>{{end}}</table>
{{if .Open}}<form method="post" action="/checkout/{{.ID}}/pay"><p><button type="submit">Pay {{.Total}}</button></p></form>
{{with .Cancel}}<p><a href="{{.}}">Back without paying</a></p>{{end}}
{{else}}<p>This checkout session is {{.Status}}.</p>{{with .Success}}<p><a href="{{.}}">Back to the merchant</a></p>{{end}}{{end}}
</body></html>`))

// stripePage serves the hosted checkout page.
func (s *Server) stripePage(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.stripeSession(r.PathValue("id"))
	if !ok {
		http.Error(w, "no such checkout session", http.StatusNotFound)
		return
	}
	cur := strings.ToUpper(sess.Currency)
	type line struct{ Name, Amount string }
	data := struct {
		ID, Total, Status, Cancel, Success string
		Open                               bool
		Items                              []line
	}{ID: sess.ID, Total: money.Format(sess.AmountTotal, cur) + " " + cur, Status: sess.Status, Open: sess.Status == "open",
		Cancel: sess.CancelURL, Success: successURL(sess)}
	for _, it := range sess.LineItems {
		data.Items = append(data.Items, line{Name: it.Name, Amount: money.Format(it.UnitAmount*it.Quantity, cur) + " " + cur})
	}
	var buf bytes.Buffer
	if err := stripePageTemplate.Execute(&buf, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

func successURL(sess StripeSession) string {
	return strings.ReplaceAll(sess.SuccessURL, "{CHECKOUT_SESSION_ID}", sess.ID)
}

// stripePagePay serves the hosted page's Pay button: pay, then back to the merchant.
func (s *Server) stripePagePay(w http.ResponseWriter, r *http.Request) {
	_, err := s.PayStripeSession(r.PathValue("id"))
	if errors.Is(err, ErrStripeSession) {
		http.Error(w, "this checkout session cannot be paid", http.StatusConflict)
		return
	}
	sess, _ := s.stripeSession(r.PathValue("id"))
	http.Redirect(w, r, successURL(sess), http.StatusSeeOther)
}
