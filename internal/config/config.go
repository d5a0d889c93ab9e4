// Package config reads Dunwell's configuration from the environment, for the worker
// and the starter alike. Every variable is listed on Load; a bad value is an error that
// names the variable and the problem.
package config

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/dunwell/dunwell/internal/codec"
	"github.com/dunwell/dunwell/letter"
	"github.com/dunwell/dunwell/templates"
)

// Config is the whole configuration.
type Config struct {
	Temporal Temporal
	// DatabaseURL is the PostgreSQL ledger (DATABASE_URL).
	DatabaseURL string
	SendGrid    SendGrid
	Twilio      Twilio
	// ProviderTimeout bounds one call to SendGrid or Twilio (PROVIDER_TIMEOUT).
	ProviderTimeout time.Duration
	// PolicyDir holds policy files; empty means the shipped ones (POLICY_DIR).
	PolicyDir string
	// DefaultPolicy is used when an invoice names none (DEFAULT_POLICY).
	DefaultPolicy string
	// ListenAddr is where `starter serve` listens (LISTEN_ADDR).
	ListenAddr string
	// APIMaxBodyBytes bounds an API request body (API_MAX_BODY_BYTES).
	APIMaxBodyBytes int64
	LogLevel        slog.Level
	LogJSON         bool
	// CodecKeys encrypts and decrypts every Temporal payload (DUNWELL_CODEC_KEYS); nil
	// only when CodecDisabled.
	CodecKeys *codec.KeyRing
	// CodecDisabled turns payload encryption off (DUNWELL_CODEC_DISABLED=true): PII
	// reaches Temporal's history in plain text. Never in production.
	CodecDisabled bool
	// CodecCORSOrigins are the Temporal UI origins allowed to call the codec endpoint
	// from a browser (DUNWELL_CODEC_CORS_ORIGINS); none by default, since the UI under
	// /ui/ is on the API's own origin and needs no CORS.
	CodecCORSOrigins []string
	// PublicURL is where the providers reach `starter serve` (DUNWELL_PUBLIC_URL),
	// e.g. https://dunwell.example.com behind a proxy: Twilio signs the URL it
	// called, so the webhook checks signatures against this, not the Host header.
	PublicURL string
	// PortalLinkTTL is how long a customer's portal link works
	// (DUNWELL_PORTAL_LINK_TTL).
	PortalLinkTTL time.Duration
	// StripeAPIKey, when set, lets customers pay on the portal through Stripe
	// Checkout (STRIPE_API_KEY); StripeBaseURL is Stripe's API (STRIPE_BASE_URL).
	StripeAPIKey, StripeBaseURL string
	// UIUpstream, when set, is the Temporal UI server (started with --ui-public-path
	// /ui) that `starter serve` proxies under /ui/ behind the API keys
	// (DUNWELL_UI_UPSTREAM), so the UI and the codec endpoint share one origin.
	UIUpstream *url.URL
	// Webhooks verifies the payment webhooks (see webhooks.go).
	Webhooks Webhooks
	// TrustedProxies are the reverse proxies whose X-Forwarded-* headers the API
	// believes (DUNWELL_TRUSTED_PROXIES); empty: nobody's.
	TrustedProxies []netip.Prefix
	// APIRateLimit bounds API requests per key (DUNWELL_RATE_LIMIT).
	APIRateLimit APIRateLimit
	// Business is who the reminders come from (DUNWELL_BUSINESS_NAME,
	// DUNWELL_BUSINESS_ADDRESS, DUNWELL_REPLY_TO, DUNWELL_BUSINESS_PHONE); see
	// ParseBusiness.
	Business templates.Business
	// Print is the print-and-mail provider letters go to (DUNWELL_PRINT_*); its URL
	// empty: letters wait in the letter outbox for an operator.
	Print Print
	// Bank is the business's bank account the letters' payment slip names
	// (DUNWELL_BANK_IBAN, DUNWELL_BANK_BIC, DUNWELL_BANK_HOLDER); zero: none.
	Bank letter.Bank
	// WorkflowCacheSize is how many workflows one worker process keeps in memory
	// between their tasks (WORKER_WORKFLOW_CACHE_SIZE). See DefaultWorkflowCacheSize.
	WorkflowCacheSize int
}

// DefaultWorkflowCacheSize bounds the worker's sticky workflow cache. An invoice
// sleeps for days between tasks, so keeping every open one in memory (the SDK's
// default is 10 000) buys nothing: a workflow evicted from the cache replays its short
// history on its next task. 1 000 keeps a worker near 150 MB whatever the number of
// open invoices (make bench, row 6), while a month-end spike still runs from the cache.
const DefaultWorkflowCacheSize = 1000

// Temporal is how to reach the Temporal service.
type Temporal struct {
	Address   string
	Namespace string
	APIKey    string
	TLS       *tls.Config // nil: plaintext
	// NoCompression turns the SDK's gzip of gRPC requests off
	// (TEMPORAL_GRPC_COMPRESSION=none): on a local network it only costs CPU on both
	// ends; across the internet (Temporal Cloud) keep the default, gzip.
	NoCompression bool
}

// SendGrid configures email.
type SendGrid struct {
	APIKey   string
	BaseURL  string
	From     string
	FromName string
	// ReplyTo is where replies to reminders go (DUNWELL_REPLY_TO); empty: From.
	ReplyTo string
	// WebhookPublicKey is the Event Webhook's signature verification key: base64 of
	// the DER (PKIX) ECDSA public key SendGrid shows (SENDGRID_WEBHOOK_PUBLIC_KEY).
	WebhookPublicKey string
	// RatePerSecond bounds sends across all workers (SENDGRID_RATE_PER_SECOND).
	RatePerSecond float64
	// TemplateIDs maps Dunwell template names to SendGrid dynamic templates
	// (SENDGRID_TEMPLATE_IDS="overdue=d-...,final_notice=d-..."): those reminders are
	// rendered by SendGrid from the reminder's data instead of by Dunwell.
	TemplateIDs map[string]string
}

// Print configures the print-and-mail provider (see notify.PrintConfig).
type Print struct {
	URL, APIKey, From string
	Color             bool
}

// Twilio configures SMS.
type Twilio struct {
	AccountSID          string
	AuthToken           string
	FromNumber          string
	MessagingServiceSID string
	StatusCallbackURL   string
	BaseURL             string
	// RatePerSecond bounds sends across all workers (TWILIO_RATE_PER_SECOND).
	RatePerSecond float64
}

// Load reads the configuration from the environment:
//
//	TEMPORAL_ADDRESS        host:port of the Temporal frontend        (127.0.0.1:7233)
//	TEMPORAL_NAMESPACE      namespace                                 (default)
//	TEMPORAL_API_KEY        API key (Temporal Cloud); implies TLS
//	TEMPORAL_TLS            "true" for TLS with the system roots      (false)
//	TEMPORAL_GRPC_COMPRESSION  gzip or none                           (gzip)
//	TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY   client certificate and key files (mTLS)
//	TEMPORAL_TLS_CA         CA bundle file for the server certificate
//	TEMPORAL_TLS_SERVER_NAME  server name to verify, if not the address host
//	DATABASE_URL            PostgreSQL URL of the ledger              (required)
//	SENDGRID_API_KEY        SendGrid key                              (required for email)
//	SENDGRID_BASE_URL       SendGrid API base URL                     (https://api.sendgrid.com)
//	EMAIL_FROM, EMAIL_FROM_NAME  sender of reminders                  (required / DUNWELL_BUSINESS_NAME, else Dunwell)
//	DUNWELL_BUSINESS_NAME, DUNWELL_BUSINESS_ADDRESS  who reminders come from, and its postal address (none; the worker warns)
//	DUNWELL_REPLY_TO        email address replies reach, read by a person (none: replies go to EMAIL_FROM)
//	DUNWELL_BUSINESS_PHONE  phone number reminders give for questions and disputes (none)
//	TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN   Twilio credentials        (required for SMS)
//	TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID   SMS sender   (one required)
//	TWILIO_STATUS_CALLBACK_URL   delivery status webhook  (DUNWELL_PUBLIC_URL/v1/webhooks/twilio, if set)
//	TWILIO_BASE_URL         Twilio API base URL                       (https://api.twilio.com)
//	SENDGRID_RATE_PER_SECOND, TWILIO_RATE_PER_SECOND   sends per second per provider,
//	                        across all workers                        (10 / 1)
//	SENDGRID_WEBHOOK_PUBLIC_KEY  Event Webhook verification key, base64 (none: webhook answers 503)
//	DUNWELL_PUBLIC_URL      the starter's public base URL, for Twilio signatures and portal links (none: both answer 503)
//	DUNWELL_PORTAL_LINK_TTL how long a customer's portal link works, 1h to 8760h (720h)
//	STRIPE_API_KEY          Stripe secret key: the portal pays through Stripe Checkout (none: the invoices' payment_url)
//	STRIPE_BASE_URL         Stripe API base URL                       (https://api.stripe.com)
//	SENDGRID_TEMPLATE_IDS   name=d-<32 hex>,... SendGrid dynamic templates per Dunwell template (none)
//	DUNWELL_PRINT_URL       print-and-mail provider's API for letters (none: letters wait in the letter outbox)
//	DUNWELL_PRINT_KEY, DUNWELL_PRINT_FROM  its API key and the return address's id there, adr_... (required with the URL)
//	DUNWELL_PRINT_COLOR     "true" to print letters in colour          (false)
//	DUNWELL_BANK_IBAN, DUNWELL_BANK_BIC, DUNWELL_BANK_HOLDER  the account letters' payment slips name (none)
//	PROVIDER_TIMEOUT        timeout of one provider call              (10s)
//	POLICY_DIR              directory of policy files                 (the shipped policies)
//	DEFAULT_POLICY          policy for invoices that name none        (standard)
//	LISTEN_ADDR             starter HTTP address                      (127.0.0.1:8080)
//	API_MAX_BODY_BYTES      largest API request body, in bytes        (1048576)
//	LOG_LEVEL               debug, info, warn or error                (info)
//	LOG_FORMAT              text or json                              (text)
//	DUNWELL_CODEC_KEYS      payload encryption keys, keyid:base64(32 bytes),... the first
//	                        encrypts, all decrypt                     (required)
//	DUNWELL_CODEC_DISABLED  "true" to run without payload encryption  (false; not with keys)
//	DUNWELL_CODEC_CORS_ORIGINS  UI origins allowed to call /codec/    (none; make run sets the local UI)
//	DUNWELL_UI_UPSTREAM     Temporal UI to serve under /ui/, http://host:port (none)
//	STRIPE_WEBHOOK_SECRET   Stripe endpoint secrets, whsec_...,...    (none: the endpoint answers 503)
//	PAYMENTS_WEBHOOK_SECRET generic webhook keys, whsec_<base64>,...  (none: the endpoint answers 503)
//	WEBHOOK_PARK_AFTER      how long an event may wait before it is parked (72h)
//	WORKER_WORKFLOW_CACHE_SIZE  workflows a worker keeps in memory between tasks (1000)
//	DUNWELL_TRUSTED_PROXIES CIDRs of reverse proxies whose X-Forwarded-* headers count (none)
//	DUNWELL_RATE_LIMIT      API requests per second per key, RATE[,BURST] or off (100,200)
func Load() (*Config, error) { return load(os.Getenv) }

func load(getenv func(string) string) (*Config, error) {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := &Config{
		Temporal: Temporal{
			Address:   get("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
			Namespace: get("TEMPORAL_NAMESPACE", "default"),
			APIKey:    get("TEMPORAL_API_KEY", ""),
		},
		DatabaseURL: get("DATABASE_URL", ""),
		SendGrid: SendGrid{
			APIKey: get("SENDGRID_API_KEY", ""), BaseURL: get("SENDGRID_BASE_URL", "https://api.sendgrid.com"),
			From: get("EMAIL_FROM", ""), FromName: get("EMAIL_FROM_NAME", get(EnvBusinessName, "Dunwell")),
			ReplyTo: get(EnvReplyTo, ""),
		},
		Twilio: Twilio{
			AccountSID: get("TWILIO_ACCOUNT_SID", ""), AuthToken: get("TWILIO_AUTH_TOKEN", ""),
			FromNumber: get("TWILIO_FROM_NUMBER", ""), MessagingServiceSID: get("TWILIO_MESSAGING_SERVICE_SID", ""),
			StatusCallbackURL: get("TWILIO_STATUS_CALLBACK_URL", ""), BaseURL: get("TWILIO_BASE_URL", "https://api.twilio.com"),
		},
		PublicURL:     strings.TrimRight(get("DUNWELL_PUBLIC_URL", ""), "/"),
		PolicyDir:     get("POLICY_DIR", ""),
		DefaultPolicy: get("DEFAULT_POLICY", "standard"),
		ListenAddr:    get("LISTEN_ADDR", "127.0.0.1:8080"),
	}
	business, berrs := ParseBusiness(func(name string) string { return get(name, "") })
	c.Business = business
	errs = append(errs, berrs...)
	if _, _, err := net.SplitHostPort(c.Temporal.Address); err != nil {
		bad("TEMPORAL_ADDRESS", "must be host:port, got %q", c.Temporal.Address)
	}
	switch v := get("TEMPORAL_GRPC_COMPRESSION", "gzip"); v {
	case "gzip":
	case "none":
		c.Temporal.NoCompression = true
	default:
		bad("TEMPORAL_GRPC_COMPRESSION", "must be gzip or none, got %q", v)
	}
	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		bad("LISTEN_ADDR", "must be host:port, got %q", c.ListenAddr)
	}
	maxBody, err := strconv.ParseInt(get("API_MAX_BODY_BYTES", "1048576"), 10, 64)
	if err != nil || maxBody < 1024 || maxBody > 64<<20 {
		bad("API_MAX_BODY_BYTES", "must be a number of bytes between 1024 and 67108864")
	}
	c.APIMaxBodyBytes = maxBody
	cache, err := strconv.Atoi(get("WORKER_WORKFLOW_CACHE_SIZE", strconv.Itoa(DefaultWorkflowCacheSize)))
	if err != nil || cache < 10 || cache > 1_000_000 {
		bad("WORKER_WORKFLOW_CACHE_SIZE", "must be a number of workflows between 10 and 1000000")
	}
	c.WorkflowCacheSize = cache
	if c.TrustedProxies, err = ParseTrustedProxies(get("DUNWELL_TRUSTED_PROXIES", "")); err != nil {
		bad("DUNWELL_TRUSTED_PROXIES", "%v", err)
	}
	ttl, err := time.ParseDuration(get("DUNWELL_PORTAL_LINK_TTL", "720h"))
	if err != nil || ttl < time.Hour || ttl > 8760*time.Hour {
		bad("DUNWELL_PORTAL_LINK_TTL", "must be a duration from 1h to 8760h (a year) like \"720h\", got %q", get("DUNWELL_PORTAL_LINK_TTL", ""))
	}
	c.PortalLinkTTL = ttl
	c.StripeAPIKey, c.StripeBaseURL = get("STRIPE_API_KEY", ""), get("STRIPE_BASE_URL", "https://api.stripe.com")
	if c.StripeAPIKey != "" && !strings.HasPrefix(c.StripeAPIKey, "sk_") && !strings.HasPrefix(c.StripeAPIKey, "rk_") {
		bad("STRIPE_API_KEY", "must be a Stripe secret or restricted key (sk_... or rk_...)")
	}
	if c.APIRateLimit, err = ParseAPIRateLimit(get("DUNWELL_RATE_LIMIT", DefaultAPIRateLimit)); err != nil {
		bad("DUNWELL_RATE_LIMIT", "%v", err)
	}
	if c.DatabaseURL == "" {
		bad("DATABASE_URL", "is required (postgres://user:pass@host:5432/db)")
	} else if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		bad("DATABASE_URL", "must be a postgres:// URL")
	}
	for name, v := range map[string]string{"SENDGRID_BASE_URL": c.SendGrid.BaseURL, "TWILIO_BASE_URL": c.Twilio.BaseURL, "STRIPE_BASE_URL": c.StripeBaseURL} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(name, "must be an http(s) URL, got %q", v)
		}
	}
	c.loadSending(get, bad)
	c.loadLetters(get, bad)
	timeout, err := time.ParseDuration(get("PROVIDER_TIMEOUT", "10s"))
	if err != nil || timeout <= 0 || timeout > 5*time.Minute {
		bad("PROVIDER_TIMEOUT", "must be a duration between 0 and 5m like \"10s\"")
	}
	c.ProviderTimeout = timeout
	if err := c.LogLevel.UnmarshalText([]byte(get("LOG_LEVEL", "info"))); err != nil {
		bad("LOG_LEVEL", "must be debug, info, warn or error")
	}
	switch get("LOG_FORMAT", "text") {
	case "text":
	case "json":
		c.LogJSON = true
	default:
		bad("LOG_FORMAT", "must be text or json")
	}
	if err := c.loadCodec(get); err != nil {
		errs = append(errs, err)
	}
	if err := c.loadInbound(get); err != nil {
		errs = append(errs, err)
	}
	if err := c.loadWebhooks(get); err != nil {
		errs = append(errs, err)
	}
	tlsConf, err := temporalTLS(get, c.Temporal.APIKey != "")
	if err != nil {
		errs = append(errs, err)
	}
	c.Temporal.TLS = tlsConf
	if len(errs) > 0 {
		return nil, fmt.Errorf("configuration: %w", errors.Join(errs...))
	}
	return c, nil
}

// Default send rates: conservative for a new account (SendGrid) and one long-code
// number (Twilio); set your account's limits.
const (
	DefaultSendGridRate = 10
	DefaultTwilioRate   = 1
	maxRatePerSecond    = 10_000
)

// loadSending reads the webhook and rate limit settings.
func (c *Config) loadSending(get func(string, string) string, bad func(name, format string, args ...any)) {
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			bad("DUNWELL_PUBLIC_URL", "must be an http(s) base URL like https://dunwell.example.com, without credentials, query or fragment")
		} else if c.Twilio.StatusCallbackURL == "" {
			c.Twilio.StatusCallbackURL = c.PublicURL + "/v1/webhooks/twilio"
		}
	}
	if c.Twilio.StatusCallbackURL != "" {
		if u, err := url.Parse(c.Twilio.StatusCallbackURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("TWILIO_STATUS_CALLBACK_URL", "must be an absolute http(s) URL")
		}
	}
	if k := get("SENDGRID_WEBHOOK_PUBLIC_KEY", ""); k != "" {
		if err := CheckECDSAPublicKey(k); err != nil {
			bad("SENDGRID_WEBHOOK_PUBLIC_KEY", "%v", err)
		}
		c.SendGrid.WebhookPublicKey = k
	}
	rate := func(name string, def float64) float64 {
		v := get(name, "")
		if v == "" {
			return def
		}
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || !(r > 0 && r <= maxRatePerSecond) {
			bad(name, "must be a number of sends per second above 0 and at most %d, got %q", maxRatePerSecond, v)
			return def
		}
		return r
	}
	c.SendGrid.RatePerSecond = rate("SENDGRID_RATE_PER_SECOND", DefaultSendGridRate)
	if v := get("SENDGRID_TEMPLATE_IDS", ""); v != "" {
		c.SendGrid.TemplateIDs = map[string]string{}
		for _, pair := range strings.Split(v, ",") {
			name, id, ok := strings.Cut(strings.TrimSpace(pair), "=")
			name, id = strings.TrimSpace(name), strings.TrimSpace(id)
			switch {
			case !ok || !templates.Known(name):
				bad("SENDGRID_TEMPLATE_IDS", "%q must be <template>=<dynamic template id> with a template of %s", pair, strings.Join(templates.Names(), ", "))
			case !dynamicTemplateRE.MatchString(id):
				bad("SENDGRID_TEMPLATE_IDS", "%q: the id must be d- followed by 32 hex digits", pair)
			default:
				c.SendGrid.TemplateIDs[name] = id
			}
		}
	}
	c.Twilio.RatePerSecond = rate("TWILIO_RATE_PER_SECOND", DefaultTwilioRate)
}

// loadLetters reads the print-and-mail provider and the bank details of the letters.
func (c *Config) loadLetters(get func(string, string) string, bad func(name, format string, args ...any)) {
	c.Print = Print{URL: strings.TrimRight(get("DUNWELL_PRINT_URL", ""), "/"), APIKey: get("DUNWELL_PRINT_KEY", ""), From: get("DUNWELL_PRINT_FROM", "")}
	if v := get("DUNWELL_PRINT_COLOR", "false"); v != "true" && v != "false" {
		bad("DUNWELL_PRINT_COLOR", "must be true or false, got %q", v)
	} else {
		c.Print.Color = v == "true"
	}
	switch p := c.Print; {
	case p.URL == "" && (p.APIKey != "" || p.From != ""):
		bad("DUNWELL_PRINT_URL", "is required with DUNWELL_PRINT_KEY or DUNWELL_PRINT_FROM (or unset both: letters then wait in the outbox)")
	case p.URL == "":
	default:
		if u, err := url.Parse(p.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			bad("DUNWELL_PRINT_URL", "must be an http(s) base URL without credentials or query, got %q", p.URL)
		}
		if p.APIKey == "" {
			bad("DUNWELL_PRINT_KEY", "is required with DUNWELL_PRINT_URL")
		}
		if !printFromRE.MatchString(p.From) {
			bad("DUNWELL_PRINT_FROM", "must be the return address's id at the provider, like adr_0123abcd, got %q", p.From)
		}
	}
	bank, err := letter.ParseBank(get("DUNWELL_BANK_HOLDER", ""), get("DUNWELL_BANK_IBAN", ""), get("DUNWELL_BANK_BIC", ""))
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			name, problem, _ := strings.Cut(line, ": ")
			bad(name, "%s", problem)
		}
	}
	c.Bank = bank
}

var printFromRE = regexp.MustCompile(`^adr_[0-9A-Za-z]{1,40}$`)

var dynamicTemplateRE = regexp.MustCompile(`^d-[0-9a-f]{32}$`)

// CheckECDSAPublicKey checks a base64 DER ECDSA public key as SendGrid shows it, so a
// wrong key stops start-up instead of failing every webhook. Its errors read after a
// name for the key ("SENDGRID_WEBHOOK_PUBLIC_KEY: must be ...", "the key is a ...").
// api.NewSendGridKey uses it too.
func CheckECDSAPublicKey(b64 string) error {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return errors.New("must be the base64 public key SendGrid shows for the signed Event Webhook")
	}
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return fmt.Errorf("is not a DER public key: %w", err)
	}
	if _, ok := key.(*ecdsa.PublicKey); !ok {
		return fmt.Errorf("is a %T, want an ECDSA public key", key)
	}
	return nil
}

// loadCodec reads the payload codec settings. Keys are required unless encryption is
// explicitly disabled, so that a forgotten variable never means PII in plain text.
func (c *Config) loadCodec(get func(string, string) string) error {
	var errs []error
	disabled, err := strconv.ParseBool(get("DUNWELL_CODEC_DISABLED", "false"))
	if err != nil {
		errs = append(errs, errors.New("DUNWELL_CODEC_DISABLED: must be true or false"))
	}
	c.CodecDisabled = disabled
	switch keys := get(codec.EnvKeys, ""); {
	case disabled && keys != "":
		errs = append(errs, fmt.Errorf("DUNWELL_CODEC_DISABLED and %s: set one, not both", codec.EnvKeys))
	case disabled:
	case keys == "":
		errs = append(errs, fmt.Errorf("%s: is required (keyid:base64 of 32 random bytes, e.g. k1:$(openssl rand -base64 32)); "+
			"set DUNWELL_CODEC_DISABLED=true to run without payload encryption", codec.EnvKeys))
	default:
		ring, err := codec.ParseKeyRing(keys)
		if err != nil {
			errs = append(errs, err)
		}
		c.CodecKeys = ring
	}
	origins, err := codec.ParseCORSOrigins(get(codec.EnvCORSOrigins, ""))
	if err != nil {
		errs = append(errs, err)
	}
	c.CodecCORSOrigins = origins
	if v := get("DUNWELL_UI_UPSTREAM", ""); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			errs = append(errs, fmt.Errorf("DUNWELL_UI_UPSTREAM: must be the Temporal UI's base URL like http://127.0.0.1:8233, got %q", v))
		} else {
			u.Path = ""
			c.UIUpstream = u
		}
	}
	return errors.Join(errs...)
}

// WarnIfCodecDisabled logs a loud warning when payload encryption is off.
func (c *Config) WarnIfCodecDisabled(logger *slog.Logger) {
	if c.CodecDisabled {
		logger.Warn("PAYLOAD ENCRYPTION IS DISABLED (DUNWELL_CODEC_DISABLED=true): customer names, emails and phones " +
			"reach Temporal's history in plain text. Never run like this in production; set DUNWELL_CODEC_KEYS.")
	}
}

func temporalTLS(get func(string, string) string, apiKey bool) (*tls.Config, error) {
	on, err := strconv.ParseBool(get("TEMPORAL_TLS", "false"))
	if err != nil {
		return nil, errors.New("TEMPORAL_TLS: must be true or false")
	}
	cert, key, ca := get("TEMPORAL_TLS_CERT", ""), get("TEMPORAL_TLS_KEY", ""), get("TEMPORAL_TLS_CA", "")
	if !on && !apiKey && cert == "" && ca == "" {
		return nil, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: get("TEMPORAL_TLS_SERVER_NAME", "")}
	if (cert == "") != (key == "") {
		return nil, errors.New("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: set both or neither")
	}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY: %w", err)
		}
		conf.Certificates = []tls.Certificate{pair}
	}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("TEMPORAL_TLS_CA: no PEM certificate in the file")
		}
		conf.RootCAs = pool
	}
	return conf, nil
}

// RequireProviders checks that the provider settings the worker needs are present.
func (c *Config) RequireProviders() error {
	var errs []error
	if c.SendGrid.APIKey == "" {
		errs = append(errs, errors.New("SENDGRID_API_KEY: is required"))
	}
	if c.SendGrid.From == "" {
		errs = append(errs, errors.New("EMAIL_FROM: is required"))
	}
	if c.Twilio.AccountSID == "" || c.Twilio.AuthToken == "" {
		errs = append(errs, errors.New("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN: are required"))
	}
	if c.Twilio.FromNumber == "" && c.Twilio.MessagingServiceSID == "" {
		errs = append(errs, errors.New("TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID: one is required"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("configuration: %w", errors.Join(errs...))
	}
	return nil
}

// Logger builds the process logger.
func (c *Config) Logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogJSON {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// ClientOptions returns the Temporal client options for this configuration, with the
// encrypting data and failure converters unless the codec is disabled.
func (c *Config) ClientOptions(logger *slog.Logger) client.Options {
	opts := client.Options{
		HostPort:  c.Temporal.Address,
		Namespace: c.Temporal.Namespace,
		Logger:    tlog.NewStructuredLogger(logger),
	}
	if c.Temporal.TLS != nil {
		opts.ConnectionOptions.TLS = c.Temporal.TLS
	}
	if c.Temporal.NoCompression {
		opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	}
	if c.Temporal.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(c.Temporal.APIKey)
	}
	if c.CodecKeys != nil {
		opts.DataConverter = codec.NewDataConverter(c.CodecKeys)
		opts.FailureConverter = codec.NewFailureConverter(c.CodecKeys)
	}
	return opts
}
