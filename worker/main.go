// Command worker runs Dunwell's collection workflows and their activities. It reads
// its configuration from the environment (see internal/config), migrates the ledger,
// registers any missing search attributes on the namespace, and runs until SIGINT or
// SIGTERM, finishing the tasks in hand before it exits.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	_ "time/tzdata" // customer timezones must resolve on minimal images too

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/dunwell/dunwell/activities"
	"github.com/dunwell/dunwell/internal/config"
	"github.com/dunwell/dunwell/internal/metrics"
	"github.com/dunwell/dunwell/internal/temporalx"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/notify"
	"github.com/dunwell/dunwell/worker/assembly"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

func main() {
	if err := run(); err != nil {
		slog.Error("Worker stopped", "error", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.Load()
	if err == nil {
		err = cfg.RequireProviders()
	}
	if err != nil {
		return err
	}
	metricsAddr, err := metrics.Addr(os.Getenv, metrics.EnvWorkerAddr, metrics.DefaultWorkerAddr)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	logger := cfg.Logger()
	slog.SetDefault(logger)
	cfg.WarnIfCodecDisabled(logger)
	ctx := context.Background()

	store, err := ledger.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("opening the ledger: %w", err)
	}
	defer store.Close()
	email, sms, err := notify.New(senderConfig(cfg))
	if err != nil {
		return err
	}
	metrics.RegisterLedger(store.Pool(), logger)
	opts := cfg.ClientOptions(logger)
	var closeMetrics io.Closer
	opts.MetricsHandler, closeMetrics = metrics.TemporalHandler(logger)
	defer closeMetrics.Close()
	metricsCtx, stopMetrics := context.WithCancel(ctx)
	defer stopMetrics()
	metrics.Serve(metricsCtx, metricsAddr, logger)
	c, err := client.Dial(opts)
	if err != nil {
		return fmt.Errorf("connecting to Temporal at %s: %w", cfg.Temporal.Address, err)
	}
	defer c.Close()
	added, err := temporalx.EnsureSearchAttributes(ctx, c, cfg.Temporal.Namespace, invoiceapi.SearchAttributes)
	if err != nil {
		return fmt.Errorf("registering search attributes: %w", err)
	}
	if len(added) > 0 {
		logger.Info("Registered search attributes", "namespace", cfg.Temporal.Namespace, "added", added)
	}

	acts := &activities.Activities{Ledger: store, Email: email, SMS: sms, EmailTemplateIDs: cfg.SendGrid.TemplateIDs, Business: cfg.Business, Bank: cfg.Bank}
	if acts.Portal, err = portalLinks(cfg); err != nil {
		return err
	}
	if acts.Portal == nil && cfg.PublicURL != "" {
		logger.Warn("Messages carry no portal link: payload encryption is off, and the links' tokens are derived from its key (docs/portal.md)")
	}
	if p := cfg.Print; p.URL != "" {
		letters, err := notify.NewPrintClient(notify.PrintConfig{BaseURL: p.URL, APIKey: p.APIKey, From: p.From, Color: p.Color, Timeout: cfg.ProviderTimeout})
		if err != nil {
			return fmt.Errorf("configuration: DUNWELL_PRINT_*: %w", err)
		}
		acts.Letters = letters
	} else {
		logger.Info("No print-and-mail provider (DUNWELL_PRINT_URL): letters wait in the letter outbox, GET /v1/letters?status=to_print")
	}
	if missing := config.MissingBusiness(cfg.Business); len(missing) > 0 {
		logger.Warn("Reminders cannot say who sends them or where a reply reaches a person: set these variables", "unset", missing)
	}
	// Process-wide, before the first worker: sleeping invoices need not stay in memory.
	worker.SetStickyWorkflowCacheSize(cfg.WorkflowCacheSize)
	w := assembly.CollectionWorker(c, acts, assembly.CollectionWorkerOptions())
	// One queue per provider, rate-limited by the Temporal server across all workers.
	senders := assembly.ProviderWorkers(c, acts, cfg.SendGrid.RatePerSecond, cfg.Twilio.RatePerSecond)
	for _, sw := range senders {
		if err := sw.Start(); err != nil {
			return fmt.Errorf("starting a send worker: %w", err)
		}
		defer sw.Stop()
	}
	logger.Info("Worker starting", "temporal", cfg.Temporal.Address, "namespace", cfg.Temporal.Namespace, "task_queue", invoiceapi.TaskQueue,
		"email_queue", invoiceapi.EmailTaskQueue, "email_per_second", cfg.SendGrid.RatePerSecond,
		"sms_queue", invoiceapi.SMSTaskQueue, "sms_per_second", cfg.Twilio.RatePerSecond, "payload_keys", cfg.CodecKeys,
		"workflow_cache", cfg.WorkflowCacheSize)
	if err := w.Run(worker.InterruptCh()); err != nil {
		return fmt.Errorf("running the worker: %w", err)
	}
	logger.Info("Worker stopped cleanly")
	return nil
}

// senderConfig is the providers' part of the configuration (SENDGRID_*, EMAIL_FROM*,
// TWILIO_*, PROVIDER_TIMEOUT).
func senderConfig(cfg *config.Config) notify.Config {
	return notify.Config{
		SendGrid: notify.SendGridConfig{
			APIKey: cfg.SendGrid.APIKey, From: cfg.SendGrid.From, FromName: cfg.SendGrid.FromName, ReplyTo: cfg.SendGrid.ReplyTo,
			BaseURL: cfg.SendGrid.BaseURL, Timeout: cfg.ProviderTimeout,
		},
		Twilio: notify.TwilioConfig{
			AccountSID: cfg.Twilio.AccountSID, AuthToken: cfg.Twilio.AuthToken,
			FromNumber: cfg.Twilio.FromNumber, MessagingServiceSID: cfg.Twilio.MessagingServiceSID,
			StatusCallbackURL: cfg.Twilio.StatusCallbackURL, BaseURL: cfg.Twilio.BaseURL, Timeout: cfg.ProviderTimeout,
		},
	}
}

// portalLinks configures the portal link of every message: with DUNWELL_PUBLIC_URL and
// a payload key ring (the tokens' key is derived from its primary key); nil without
// either.
func portalLinks(cfg *config.Config) (*activities.PortalLinks, error) {
	if cfg.PublicURL == "" || cfg.CodecKeys == nil {
		return nil, nil
	}
	key, err := cfg.CodecKeys.DeriveKey(activities.LinkKeyPurpose)
	if err != nil {
		return nil, fmt.Errorf("deriving the portal link key: %w", err)
	}
	return &activities.PortalLinks{PublicURL: cfg.PublicURL, TTL: cfg.PortalLinkTTL, Key: key}, nil
}
