package metrics

import (
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/internal/ledgertest"
	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/ledger"
)

func TestAddr(t *testing.T) {
	env := func(v string) func(string) string { return func(string) string { return v } }
	addr, err := Addr(env(""), EnvWorkerAddr, DefaultWorkerAddr)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9090", addr)
	addr, err = Addr(env(" off "), EnvWorkerAddr, DefaultWorkerAddr)
	require.NoError(t, err)
	require.Equal(t, Off, addr)
	for _, bad := range []string{"9090", "localhost", ":7233", "0.0.0.0:8233", "127.0.0.1:8080"} {
		_, err := Addr(env(bad), EnvStarterAddr, DefaultStarterAddr)
		require.ErrorContains(t, err, EnvStarterAddr, bad)
	}
}

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestServeExposesDunwellTemporalAndLedgerMetrics(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.DiscardHandler)

	store := ledgertest.Open(t, testenv.NewPostgres(t).URL())
	for _, id := range []string{"M-1", "M-2"} {
		sum := sha256.Sum256([]byte(id))
		_, err := store.IssueInvoice(ctx, ledger.InvoiceRecord{InvoiceID: id, CustomerID: "C", Currency: "KWD",
			AmountDue: 1_250, IssuedAt: time.Now(), DueDate: "2030-01-01", PolicyID: "standard", BodySHA256: sum[:]})
		require.NoError(t, err)
	}
	RegisterLedger(store.Pool(), logger)

	handler, closer := TemporalHandler(logger)
	defer closer.Close()
	handler.Counter("temporal_request").Inc(1)
	Notice("email", "sent")
	PaymentApplied("KWD")
	WebhookEvent("stripe", "applied")
	Escalation("agency")

	addr := Serve(ctx, "127.0.0.1:0", logger)
	require.NotEmpty(t, addr)
	// The tally scope reports every second.
	var text string
	require.Eventually(t, func() bool {
		text = scrape(t, addr)
		return strings.Contains(text, "temporal_request")
	}, 5*time.Second, 100*time.Millisecond)
	for _, want := range []string{
		`dunwell_notices_total{channel="email",outcome="sent"} 1`,
		`dunwell_payments_applied_total{currency="KWD"} 1`,
		`dunwell_webhook_events_total{outcome="applied",provider="stripe"} 1`,
		`dunwell_escalations_total{target="agency"} 1`,
		`dunwell_open_invoices{currency="KWD",status="open"} 2`,
		`dunwell_open_balance_minor_units{currency="KWD",status="open"} 2500`,
		"go_goroutines",
	} {
		require.Contains(t, text, want)
	}
	require.Empty(t, Serve(ctx, Off, logger))
	require.Empty(t, Serve(ctx, addr, logger), "a taken port is logged, not fatal")
}
