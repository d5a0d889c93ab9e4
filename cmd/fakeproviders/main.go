// Command fakeproviders runs the fake SendGrid, Twilio, Stripe and print-and-mail APIs
// for local runs: point SENDGRID_BASE_URL, TWILIO_BASE_URL, STRIPE_BASE_URL and
// DUNWELL_PRINT_URL at the printed URL and watch the outbox in a browser (letters with
// a link to their PDF). With -stripe-webhook-url, paying on the fake's checkout page
// posts checkout.session.completed there, signed with -stripe-webhook-secret. Faults
// are programmable over HTTP under /_fake/ (see package
// internal/fakeprovider).
//
// With -sendgrid-event-url and -twilio-inbound-url it posts delivery events and
// inbound SMS back, signed like the real providers: Twilio's with -twilio-auth-token
// (or the token each send used), SendGrid's with the ECDSA key in
// FAKE_SENDGRID_EVENT_KEY (base64 PKCS #8; a new key when unset, whose public half is
// at GET /_fake/sendgrid/public-key).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/dunwell/dunwell/internal/fakeprovider"
)

func main() {
	if err := run(); err != nil {
		slog.Error("fakeproviders failed", "err", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8025", "listen address (host:port)")
	invalid := flag.String("invalid", "", "comma-separated recipients rejected as invalid")
	bounce := flag.String("bounce", "", "comma-separated recipients accepted but never delivered")
	eventURL := flag.String("sendgrid-event-url", "", "where to post signed SendGrid events (e.g. http://127.0.0.1:8080/v1/webhooks/sendgrid)")
	inboundURL := flag.String("twilio-inbound-url", "", "where to post signed inbound SMS (e.g. http://127.0.0.1:8080/v1/webhooks/twilio)")
	authToken := flag.String("twilio-auth-token", "", "the only Twilio auth token accepted, and the one inbound SMS are signed with")
	stripeURL := flag.String("stripe-webhook-url", "", "where to post signed Stripe events of paid checkout sessions (e.g. http://127.0.0.1:8080/v1/webhooks/stripe)")
	stripeSecret := flag.String("stripe-webhook-secret", "", "the whsec_... secret Stripe events are signed with")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(logger)

	opts := fakeprovider.Options{
		Invalid: splitList(*invalid), Bounce: splitList(*bounce), Logger: logger,
		SendGridEventURL: *eventURL, TwilioInboundURL: *inboundURL, TwilioAuthToken: *authToken,
		StripeWebhookURL: *stripeURL, StripeWebhookSecret: *stripeSecret,
	}
	if (*stripeURL == "") != (*stripeSecret == "") {
		return fmt.Errorf("-stripe-webhook-url and -stripe-webhook-secret go together")
	}
	if k := os.Getenv("FAKE_SENDGRID_EVENT_KEY"); k != "" {
		key, err := fakeprovider.ParseEventKey(k)
		if err != nil {
			return fmt.Errorf("FAKE_SENDGRID_EVENT_KEY: %w", err)
		}
		opts.SendGridEventKey = key
	}
	srv, baseURL, err := fakeprovider.Start(*addr, opts)
	if err != nil {
		return fmt.Errorf("starting the fake providers: %w", err)
	}
	logger.Info("Fake SendGrid, Twilio and Stripe are listening",
		"base_url", baseURL, "outbox", baseURL+"/", "outbox_json", baseURL+"/_fake/outbox")
	fmt.Printf("Outbox: %s/\n", baseURL)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	stop() // a second signal kills the process the default way

	logger.Info("Shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
