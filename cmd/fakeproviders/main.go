// Command fakeproviders runs the fake SendGrid and Twilio APIs for local runs: point
// SENDGRID_BASE_URL and TWILIO_BASE_URL at the printed URL and watch the outbox in a
// browser. Faults are programmable over HTTP under /_fake/ (see package
// internal/fakeprovider).
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
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(logger)

	srv, baseURL, err := fakeprovider.Start(*addr, fakeprovider.Options{
		Invalid: splitList(*invalid), Bounce: splitList(*bounce), Logger: logger,
	})
	if err != nil {
		return fmt.Errorf("starting the fake providers: %w", err)
	}
	logger.Info("Fake SendGrid and Twilio are listening",
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
