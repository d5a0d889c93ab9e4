package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/dunwell/dunwell/api"
	"github.com/dunwell/dunwell/internal/codec"
	"github.com/dunwell/dunwell/internal/config"
	"github.com/dunwell/dunwell/internal/metrics"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/policies"
	"github.com/dunwell/dunwell/portal"
)

// shutdownGrace lets requests in flight (a payment update waits for the workflow)
// finish before the process exits.
const shutdownGrace = 20 * time.Second

func serve(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return usageError{"serve takes no arguments; it is configured from the environment"}
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	logger := cfg.Logger()
	cfg.WarnIfCodecDisabled(logger)
	metricsAddr, err := metrics.Addr(os.Getenv, metrics.EnvStarterAddr, metrics.DefaultStarterAddr)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	set, err := policies.Load(cfg.PolicyDir, cfg.DefaultPolicy)
	if err != nil {
		return fmt.Errorf("loading policies: %w", err)
	}
	store, err := ledger.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("opening the ledger: %w", err)
	}
	defer store.Close()
	authn, err := setupAuth(ctx, store, logger)
	if err != nil {
		return err
	}
	metrics.RegisterLedger(store.Pool(), logger)
	opts := cfg.ClientOptions(logger)
	var closeMetrics io.Closer
	opts.MetricsHandler, closeMetrics = metrics.TemporalHandler(logger)
	defer closeMetrics.Close()
	metrics.Serve(ctx, metricsAddr, logger)
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("connecting to Temporal at %s: %w", cfg.Temporal.Address, err)
	}
	defer c.Close()
	// The statement schedules follow statements.yaml (create, update, delete).
	sched, _, err := ensureStatementSchedules(ctx, cfg, c)
	if err != nil {
		return fmt.Errorf("statement schedules: %w", err)
	}
	logger.Info("Statement schedules ensured", "created", sched.Created, "updated", sched.Updated, "deleted", sched.Deleted)

	hooks, runForwarder, err := setupWebhooks(cfg, store, c, logger)
	if err != nil {
		return err
	}
	stopForwarder := runForwarder(ctx)
	defer stopForwarder()

	apiServer := &api.Server{Temporal: c, Ledger: store, Policies: set, Logger: logger, Auth: authn,
		MaxBodyBytes: cfg.APIMaxBodyBytes, CodecOrigins: cfg.CodecCORSOrigins, Webhooks: hooks, UIUpstream: cfg.UIUpstream, Namespace: cfg.Temporal.Namespace,
		TrustedProxies: cfg.TrustedProxies, RateLimit: cfg.APIRateLimit,
		Business: cfg.Business,
		Portal:   api.Portal{PublicURL: cfg.PublicURL, LinkTTL: cfg.PortalLinkTTL}}
	if cfg.PublicURL == "" {
		logger.Warn("POST /v1/customers/{id}/portal-link answers 503: set DUNWELL_PUBLIC_URL")
	}
	if cfg.StripeAPIKey != "" {
		if cfg.Webhooks.Stripe == nil {
			return errors.New("STRIPE_API_KEY is set but STRIPE_WEBHOOK_SECRET is not: portal payments would never be applied")
		}
		if apiServer.Portal.Checkout, err = portal.NewCheckout(portal.CheckoutConfig{APIKey: cfg.StripeAPIKey,
			BaseURL: cfg.StripeBaseURL, PublicURL: cfg.PublicURL, Logger: logger}); err != nil {
			return fmt.Errorf("STRIPE_API_KEY: %w", err)
		}
		logger.Info("Portal payments through Stripe Checkout", "stripe", cfg.StripeBaseURL)
	}
	if cfg.CodecKeys != nil {
		apiServer.Codec = codec.HTTPHandler(cfg.CodecKeys)
	}
	in := cfg.Webhooks.Inbound
	apiServer.Inbound = api.InboundParse{Token: in.Token, User: in.User, Password: in.Password, MaxBytes: in.MaxBytes,
		ReplyTo: cfg.SendGrid.ReplyTo}
	if in.Token == "" {
		logger.Warn("POST /v1/webhooks/sendgrid/inbound/{token} answers 503: set SENDGRID_INBOUND_TOKEN")
	}
	if apiServer.Delivery, err = deliveryWebhooks(cfg); err != nil {
		return err
	}
	if apiServer.Delivery.PublicURL == "" || apiServer.Delivery.TwilioAuthToken == "" {
		logger.Warn("POST /v1/webhooks/twilio answers 503: set DUNWELL_PUBLIC_URL and TWILIO_AUTH_TOKEN")
	}
	if apiServer.Delivery.SendGridPublicKey == nil {
		logger.Warn("POST /v1/webhooks/sendgrid answers 503: set SENDGRID_WEBHOOK_PUBLIC_KEY")
	}
	srv := newHTTPServer(apiServer.Handler(), apiTimeouts)
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.ListenAddr, err)
	}
	logger.Info("API serving", "addr", "http://"+ln.Addr().String(), "policies", set.IDs(), "payload_keys", cfg.CodecKeys)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	logger.Info("API shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

// deliveryWebhooks builds the provider webhooks' settings from the configuration.
func deliveryWebhooks(cfg *config.Config) (*api.DeliveryWebhooks, error) {
	d := &api.DeliveryWebhooks{PublicURL: cfg.PublicURL, TwilioAuthToken: cfg.Twilio.AuthToken}
	if cfg.SendGrid.WebhookPublicKey != "" {
		key, err := api.NewSendGridKey(cfg.SendGrid.WebhookPublicKey)
		if err != nil {
			return nil, fmt.Errorf("SENDGRID_WEBHOOK_PUBLIC_KEY: %w", err)
		}
		d.SendGridPublicKey = key
	}
	return d, nil
}

// httpTimeouts bounds each phase of a request, so a slow or stalled client (one that
// trickles its headers, or never reads the answer) cannot hold a connection forever.
type httpTimeouts struct {
	readHeader, read, write, idle time.Duration
}

// apiTimeouts are the API's: headers within 5 s, the whole request within 30 s.
var apiTimeouts = httpTimeouts{readHeader: 5 * time.Second, read: 30 * time.Second, write: 30 * time.Second, idle: 2 * time.Minute}

func newHTTPServer(h http.Handler, t httpTimeouts) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: t.readHeader, ReadTimeout: t.read, WriteTimeout: t.write, IdleTimeout: t.idle}
}
