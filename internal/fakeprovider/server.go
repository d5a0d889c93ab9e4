// Package fakeprovider is a local stand-in for SendGrid, Twilio, Stripe and a
// print-and-mail provider: one HTTP server that speaks the parts of their APIs Dunwell
// uses (as the official Go SDKs call them; the letters API as notify.PrintClient does,
// see print.go), and keeps everything it accepts in memory (the messages in an outbox).
//
// Served paths (they do not clash, so one server serves both providers):
//
//	POST /v3/mail/send                                         SendGrid Mail Send v3
//	GET  /v3/messages?query=...&limit=N                        SendGrid Email Activity
//	POST /2010-04-01/Accounts/{AccountSid}/Messages.json       Twilio create Message
//	GET  /2010-04-01/Accounts/{AccountSid}/Messages.json       Twilio list Messages
//	GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json Twilio fetch Message
//	POST /v1/checkout/sessions, GET /v1/checkout/sessions/{id}  Stripe Checkout Sessions
//	GET  /checkout/{id}, POST /checkout/{id}/pay               the fake's hosted checkout page (stripe.go)
//	POST /v1/letters, GET /v1/letters[/{id}]                   print-and-mail letters (print.go)
//	GET  /_fake/letters/{id}.pdf                               a letter's PDF
//	/_fake/...                                                 control API (see control.go)
//	GET  /                                                     HTML view of the outbox
//
// Faults (429, 500, 503, invalid recipient) and holds are programmable from Go
// (Server.Inject, Server.Hold, Server.WaitHeld, Server.Release) and over HTTP, so
// tests, `make run` users and other processes can drive the same behaviour.
package fakeprovider

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Provider names a faked provider.
type Provider string

// The faked providers.
const (
	SendGrid Provider = "sendgrid"
	Twilio   Provider = "twilio"
)

// maxBody bounds request bodies; SendGrid allows more, but nothing Dunwell sends
// comes near it, and a bound keeps malformed input cheap.
const maxBody = 4 << 20

// Options configures a Server. The zero value accepts any non-empty credentials.
type Options struct {
	// SendGridAPIKey, when set, is the only accepted SendGrid key; otherwise any
	// non-empty bearer token is accepted.
	SendGridAPIKey string
	// TwilioAuthToken, when set, is the only accepted Twilio password (auth token);
	// otherwise any non-empty basic-auth credentials are accepted.
	TwilioAuthToken string
	// PrintAPIKey, when set, is the only accepted print-and-mail API key; otherwise
	// any non-empty key is accepted.
	PrintAPIKey string
	// Invalid lists recipients (email addresses or phone numbers) the providers
	// reject at send time as invalid.
	Invalid []string
	// Bounce lists recipients that are accepted but never delivered: the lookup APIs
	// report them as not delivered.
	Bounce []string
	// Logger receives one line per accepted message and per fault; nil discards.
	Logger *slog.Logger

	// SendGridEventURL, when set, receives signed Event Webhook posts for every
	// accepted mail (see webhooks.go).
	SendGridEventURL string
	// SendGridEventKey signs the events; nil generates a key (SendGridEventPublicKey
	// tells its public half).
	SendGridEventKey *ecdsa.PrivateKey
	// TwilioInboundURL receives simulated inbound SMS (InboundSMS), signed with
	// TwilioAuthToken.
	TwilioInboundURL string
	// CallbackDelay is how long after accepting a message its delivery reports are
	// posted; 0 means 50ms.
	CallbackDelay time.Duration

	// StripeAPIKey, when set, is the only accepted Stripe key; otherwise any sk_...
	// or rk_... key is accepted.
	StripeAPIKey string
	// StripeWebhookURL receives the signed events of paid Checkout Sessions, signed
	// with StripeWebhookSecret (whsec_...), see stripe.go.
	StripeWebhookURL, StripeWebhookSecret string
}

// Server is the fake SendGrid and Twilio API. It is safe for concurrent use. Create
// it with New and serve Handler (or the Server itself) with any http.Server or
// httptest.Server.
type Server struct {
	log     *slog.Logger
	sgKey   string
	twToken string
	// printKey is Options.PrintAPIKey.
	printKey string
	mux      *http.ServeMux

	mu       sync.Mutex
	seq      int64
	outbox   []Message
	faults   []*Fault
	faultSeq int
	invalid  map[string]bool
	bounce   map[string]bool
	held     []*heldRequest
	// heldChanged is closed and replaced whenever a request is held, so WaitHeld
	// can sleep on it instead of polling.
	heldChanged chan struct{}
	closed      bool

	httpServer *http.Server // set by Start only

	eventURL, inboundURL string
	eventKey             *ecdsa.PrivateKey
	callbackDelay        time.Duration
	// optedOut are the numbers that texted STOP (Twilio answers 21610 to sends).
	optedOut map[string]bool
	// pending counts delivery reports still to be posted.
	pending sync.WaitGroup

	stripe                                 stripeState
	stripeKey, stripeHookURL, stripeSecret string
}

// New returns a Server with an empty outbox.
func New(opts Options) *Server {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		log:         logger,
		sgKey:       opts.SendGridAPIKey,
		twToken:     opts.TwilioAuthToken,
		printKey:    opts.PrintAPIKey,
		invalid:     recipientSet(opts.Invalid),
		bounce:      recipientSet(opts.Bounce),
		heldChanged: make(chan struct{}),
		eventURL:    opts.SendGridEventURL, inboundURL: opts.TwilioInboundURL,
		eventKey: opts.SendGridEventKey, callbackDelay: opts.CallbackDelay, optedOut: map[string]bool{},
		stripeKey: opts.StripeAPIKey, stripeHookURL: opts.StripeWebhookURL, stripeSecret: opts.StripeWebhookSecret,
	}
	s.resetStripe()
	if s.callbackDelay <= 0 {
		s.callbackDelay = 50 * time.Millisecond
	}
	if s.eventKey == nil {
		key, _, err := NewEventKey()
		if err != nil { // crypto/rand does not fail on supported platforms
			panic(err)
		}
		s.eventKey = key
	}
	s.mux = s.routes()
	return s
}

// Start listens on addr (host:port; port 0 picks a free one) and serves a new
// Server in the background. It returns the server and its base URL, e.g. "http://127.0.0.1:8025",
// to use as both the SendGrid and the Twilio base URL. Stop it with Shutdown.
func Start(addr string, opts Options) (*Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("fakeprovider: listening on %s: %w", addr, err)
	}
	s := New(opts)
	s.httpServer = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.httpServer.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("Fake provider server stopped", "err", err)
		}
	}()
	return s, "http://" + ln.Addr().String(), nil
}

// Handler returns the HTTP handler serving both providers, the control API and the
// outbox page.
func (s *Server) Handler() http.Handler { return s }

// ServeHTTP serves both providers, the control API and the outbox page. A panic in a
// handler answers 500 instead of killing the connection: the fake must survive any
// input a test throws at it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("Fake provider handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	s.mux.ServeHTTP(w, r)
}

// Close releases every held request and stops holding new ones, so an
// httptest.Server serving s can close without waiting on them. The outbox stays
// readable.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.Release()
	s.pending.Wait()
}

// Shutdown releases held requests and, for a server made by Start, stops
// listening and waits for in-flight requests until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.Close()
	if s.httpServer == nil {
		return nil
	}
	if err := s.httpServer.Shutdown(ctx); err != nil {
		return fmt.Errorf("fakeprovider: shutting down: %w", err)
	}
	return nil
}

func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("POST /v3/mail/send", s.sendGridMailSend)
	m.HandleFunc("GET /v3/messages", s.sendGridActivity)
	m.HandleFunc("POST /2010-04-01/Accounts/{account}/Messages.json", s.twilioCreate)
	m.HandleFunc("GET /2010-04-01/Accounts/{account}/Messages.json", s.twilioList)
	m.HandleFunc("GET /2010-04-01/Accounts/{account}/Messages/{file}", s.twilioFetch)
	s.stripeRoutes(m)
	s.printRoutes(m)
	s.controlRoutes(m)
	m.HandleFunc("GET /{$}", s.outboxPage)
	return m
}

// normRecipient makes recipient comparisons case-insensitive for email addresses
// and whitespace-insensitive for both kinds.
func normRecipient(r string) string { return strings.ToLower(strings.TrimSpace(r)) }

func recipientSet(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, r := range list {
		if n := normRecipient(r); n != "" {
			m[n] = true
		}
	}
	return m
}

// randomHex returns n random bytes as lowercase hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// sendGridMessageID looks like SendGrid's X-Message-Id: 22 URL-safe base64 chars.
func sendGridMessageID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// readBody reads at most maxBody bytes of r's body.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("reading request body: %w", err)
	}
	return b, nil
}
