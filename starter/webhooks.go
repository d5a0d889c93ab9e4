package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"go.temporal.io/sdk/client"

	"github.com/dunwell/dunwell/api"
	"github.com/dunwell/dunwell/forwarder"
	"github.com/dunwell/dunwell/internal/config"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

const webhooksUsage = `usage: starter webhooks parked [--held] [--limit N] | starter webhooks retry ID

  starter webhooks parked            payment webhook events parked for an operator
  starter webhooks parked --held     also the events still waiting (for their invoice,
                                     payment or dispute), with what they wait for
  starter webhooks retry ID          send parked event ID (the "id" of the list) back to
                                     be applied, e.g. after issuing its invoice

It calls GET /v1/webhooks/events (read scope) and POST /v1/webhooks/events/ID/retry
(operator scope) with DUNWELL_API_KEY.`

// webhooksCmd runs `starter webhooks ...`.
func webhooksCmd(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 2 && args[0] == "retry" {
		if _, err := strconv.ParseInt(args[1], 10, 64); err != nil {
			return usageError{"starter webhooks retry ID: ID is the number in the list's \"id\" field"}
		}
		return callAPI(ctx, http.MethodPost, "/v1/webhooks/events/"+args[1]+"/retry", nil, out)
	}
	if len(args) == 0 || args[0] != "parked" {
		if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
			_, err := fmt.Fprintln(out, webhooksUsage)
			return err
		}
		return usageError{webhooksUsage}
	}
	fs := flag.NewFlagSet("webhooks parked", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	held := fs.Bool("held", false, "also list held events")
	limit := fs.Int("limit", 100, "at most this many events (1-500)")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return usageError{webhooksUsage}
	}
	q := url.Values{"status": {"parked"}, "limit": {strconv.Itoa(*limit)}}
	if *held {
		q.Set("status", "parked,held")
	}
	return callAPI(ctx, http.MethodGet, "/v1/webhooks/events?"+q.Encode(), nil, out)
}

// setupWebhooks returns the API's webhook configuration and a function that runs the
// forwarder (which applies stored events to the workflows) until its returned stop
// is called.
func setupWebhooks(cfg *config.Config, store *ledger.Store, c client.Client, logger *slog.Logger) (api.Webhooks, func(context.Context) (stop func()), error) {
	fwd, err := forwarder.New(forwarder.Config{Store: store, Workflows: &invoiceapi.Client{Temporal: c, Timeout: forwarder.UpdateTimeout},
		Logger: logger.With("component", "webhook-forwarder"), ParkAfter: cfg.Webhooks.ParkAfter})
	if err != nil {
		return api.Webhooks{}, nil, err
	}
	if cfg.Webhooks.Stripe == nil && cfg.Webhooks.Payments == nil {
		logger.Warn("No payment webhook secret is set (STRIPE_WEBHOOK_SECRET, PAYMENTS_WEBHOOK_SECRET): the webhook endpoints answer 503")
	}
	run := func(ctx context.Context) func() {
		ctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); _ = fwd.Run(ctx) }()
		return func() { cancel(); wg.Wait() }
	}
	return api.Webhooks{Stripe: cfg.Webhooks.Stripe, Payments: cfg.Webhooks.Payments, Stored: fwd.Wake}, run, nil
}
