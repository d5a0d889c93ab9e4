// Package metrics exposes Dunwell's Prometheus metrics: the Temporal SDK's own
// (through its tally handler, set as client.Options.MetricsHandler) and Dunwell's:
//
//	dunwell_notices_total{channel,outcome}        notices by channel and outcome (sent, failed, retried)
//	dunwell_payments_applied_total{currency}      payments newly applied to an invoice
//	dunwell_webhook_events_total{provider,outcome} webhook events by outcome
//	dunwell_escalations_total{target}             invoices handed to an agency or legal
//	dunwell_portal_total{event,outcome}           customer portal visits and actions (applied, pending, refused, ...)
//	dunwell_open_invoices{status,currency}        open invoices, read from the ledger
//	dunwell_open_balance_minor_units{status,currency}  their balance in minor units
//
// The counters live in one process-wide registry (Registry) so that activities count
// with a one-line call (Notice, PaymentApplied, ...). The open-invoice gauges are one
// indexed query over the open invoices (closed_at IS NULL), run at most every
// openInvoicesTTL whatever the scrape rate; no workflow is ever queried.
//
// Each process serves /metrics on a listener of its own (Serve): the worker on
// WORKER_METRICS_ADDR (default 127.0.0.1:9090), the starter on STARTER_METRICS_ADDR
// (default 127.0.0.1:9091); "off" disables it.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// Environment variables and defaults of the metrics listeners.
const (
	EnvWorkerAddr      = "WORKER_METRICS_ADDR"
	EnvStarterAddr     = "STARTER_METRICS_ADDR"
	DefaultWorkerAddr  = "127.0.0.1:9090"
	DefaultStarterAddr = "127.0.0.1:9091"
	// Off disables the listener.
	Off = "off"
)

// Ports the metrics listeners must not take: Temporal's frontend and UI and the API.
var reservedPorts = map[string]string{"7233": "the Temporal frontend", "8233": "the Temporal UI", "8080": "the Dunwell API"}

// openInvoicesTTL is how long the open-invoice gauges are reused between scrapes.
const openInvoicesTTL = 15 * time.Second

var registry = newRegistry()

var (
	notices = counterVec("dunwell_notices_total",
		"Notices by channel and outcome (sent, failed, retried).", "channel", "outcome")
	payments = counterVec("dunwell_payments_applied_total",
		"Payments newly applied to an invoice, by currency.", "currency")
	webhooks = counterVec("dunwell_webhook_events_total",
		"Webhook events by provider and outcome.", "provider", "outcome")
	escalations = counterVec("dunwell_escalations_total",
		"Invoices handed off, by target (agency, legal).", "target")
	portal = counterVec("dunwell_portal_total",
		"Customer portal visits and actions, by event (visit, promise, dispute, plan, preferences, pay) and outcome.", "event", "outcome")
)

func newRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// counterVec registers a counter vector with the process's registry.
func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	registry.MustRegister(c)
	return c
}

// Registry returns the process's registry, for tests and extra collectors.
func Registry() *prometheus.Registry { return registry }

// Notice counts one notice outcome on a channel: "sent", "failed" (permanently) or
// "retried" (a transient error).
func Notice(channel, outcome string) { notices.WithLabelValues(channel, outcome).Inc() }

// PaymentApplied counts a payment newly applied to an invoice.
func PaymentApplied(currency string) { payments.WithLabelValues(currency).Inc() }

// WebhookEvent counts a webhook event: provider ("stripe", "payments", "twilio",
// "sendgrid") and outcome ("applied", "stored", "duplicate", "rejected", ...).
func WebhookEvent(provider, outcome string) { webhooks.WithLabelValues(provider, outcome).Inc() }

// Escalation counts an invoice handed off to target.
func Escalation(target string) { escalations.WithLabelValues(target).Inc() }

// Portal counts a customer portal event: a visit or an action ("visit", "promise",
// "dispute", "plan", "preferences", "pay") and its outcome ("shown", "applied",
// "pending", "refused", "failed", "gone", "not_found", "forbidden").
func Portal(event, outcome string) { portal.WithLabelValues(event, outcome).Inc() }

// TemporalHandler returns a Temporal SDK metrics handler that reports into the
// registry with Prometheus naming (temporal_request, temporal_workflow_task_...), and
// a closer that flushes it. Set it as client.Options.MetricsHandler.
func TemporalHandler(logger *slog.Logger) (client.MetricsHandler, io.Closer) {
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:       registry,
		DefaultTimerType: tallyprom.HistogramTimerType,
		OnRegisterError: func(err error) {
			logger.Warn("Temporal SDK metric not registered", "error", err)
		},
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
	}, time.Second)
	return sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)), closer
}

// openInvoices is a collector of the open invoices by status and currency.
type openInvoices struct {
	pool    *pgxpool.Pool
	log     *slog.Logger
	count   *prometheus.Desc
	balance *prometheus.Desc

	mu      sync.Mutex
	at      time.Time
	samples []prometheus.Metric
}

// openInvoicesSQL reads the open invoices through invoices_closed_at_idx.
const openInvoicesSQL = `
SELECT status, currency, count(*), COALESCE(sum(balance_minor), 0)::float8
FROM invoices WHERE closed_at IS NULL GROUP BY 1, 2`

var registerOpen sync.Once

// RegisterLedger adds the open-invoice gauges, read from the ledger's pool. Only the
// first call in a process registers.
func RegisterLedger(pool *pgxpool.Pool, logger *slog.Logger) {
	registerOpen.Do(func() {
		registry.MustRegister(&openInvoices{pool: pool, log: logger,
			count: prometheus.NewDesc("dunwell_open_invoices", "Open invoices by status and currency (from the ledger).",
				[]string{"status", "currency"}, nil),
			balance: prometheus.NewDesc("dunwell_open_balance_minor_units",
				"Balance of the open invoices in minor units of their currency (from the ledger).",
				[]string{"status", "currency"}, nil),
		})
	})
}

func (o *openInvoices) Describe(ch chan<- *prometheus.Desc) { ch <- o.count; ch <- o.balance }

func (o *openInvoices) Collect(ch chan<- prometheus.Metric) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if time.Since(o.at) >= openInvoicesTTL {
		samples, err := o.read()
		if err != nil {
			o.log.Warn("Reading the open invoices for /metrics failed", "error", err)
		} else {
			o.samples, o.at = samples, time.Now()
		}
	}
	for _, m := range o.samples {
		ch <- m
	}
}

func (o *openInvoices) read() ([]prometheus.Metric, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := o.pool.Query(ctx, openInvoicesSQL)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []prometheus.Metric
	for rows.Next() {
		var (
			status, currency string
			n                int64
			balance          float64
		)
		if err := rows.Scan(&status, &currency, &n, &balance); err != nil {
			return nil, err
		}
		out = append(out,
			prometheus.MustNewConstMetric(o.count, prometheus.GaugeValue, float64(n), status, currency),
			prometheus.MustNewConstMetric(o.balance, prometheus.GaugeValue, balance, status, currency))
	}
	return out, rows.Err()
}

// Addr reads a metrics listen address from getenv(name), defaulting to def: host:port
// with a port that is not Temporal's or the API's, or "off". The error names the
// variable.
func Addr(getenv func(string) string, name, def string) (string, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		v = def
	}
	if v == Off {
		return v, nil
	}
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return "", fmt.Errorf("%s: must be host:port (e.g. %s) or %q, got %q", name, def, Off, v)
	}
	if what, ok := reservedPorts[port]; ok {
		return "", fmt.Errorf("%s: port %s is %s's; choose another (default %s)", name, port, what, def)
	}
	return v, nil
}

// Handler serves the registry in the Prometheus text format.
func Handler() http.Handler {
	return promhttp.HandlerFor(registry, promhttp.HandlerOpts{})
}

// Serve listens on addr and serves /metrics until ctx ends. A listener that cannot be
// opened is logged, not fatal: collections go on without metrics. It returns the bound
// address ("" when off or failed).
func Serve(ctx context.Context, addr string, logger *slog.Logger) string {
	if addr == Off {
		return ""
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		logger.Error("Metrics endpoint not available", "addr", addr, "error", err)
		return ""
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("Metrics endpoint stopped", "error", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	logger.Info("Metrics serving", "addr", "http://"+ln.Addr().String()+"/metrics")
	return ln.Addr().String()
}
