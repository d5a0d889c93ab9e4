// Command dunwell-bench runs Dunwell's benchmark (`make bench`, `make bench SHORT=1`):
// it starts its own Temporal dev server, PostgreSQL, fake providers, API and worker,
// prints a markdown table of the figures against their targets and writes them as
// JSON. Every size is a flag; zero keeps the preset of the mode.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/dunwell/dunwell/bench"
)

func main() {
	if err := run(); err != nil {
		slog.Error("Benchmark failed", "error", err)
		os.Exit(1)
	}
}

func run() error {
	short := flag.Bool("short", false, "quick sizes (about 2 minutes) instead of the default (about 10)")
	out := flag.String("out", "", "JSON results file (default bench/results/latest.json)")
	profDir := flag.String("profile-dir", "", "directory for pprof files and the stack log (default bench/results)")
	invoices := flag.Int("invoices", 0, "invoices in each throughput run (ceiling and Dunwell)")
	conc := flag.Int("concurrency", 0, "concurrent issuing clients")
	payFrom := flag.Float64("payment-rate-from", 0, "first rate of the payment ladder, req/s (it rises by half each step)")
	payInv := flag.Int("payment-invoices", 0, "open invoices the payments are spread over")
	ladderStep := flag.Duration("ladder-step", 0, "length of each ladder step")
	spikeN := flag.Int("spike-invoices", 0, "invoices due at the same instant in the spike")
	spikeR := flag.Int("spike-rate", 0, "fake SendGrid limit during the spike, sends/s")
	open := flag.Int("open-workflows", 0, "open workflows for the memory measurement")
	cache := flag.Int("workflow-cache", 0, "the worker's sticky workflow cache size (default: the worker's, WORKER_WORKFLOW_CACHE_SIZE)")
	reportRows := flag.Int("report-rows", 0, "ledger rows the KPI and aging reports are timed over")
	onlyReports := flag.Bool("only-reports", false, "start only PostgreSQL and time the reports (step 7)")
	only := flag.String("only", "", "comma-separated steps to run, of "+strings.Join(bench.Steps, ",")+" (default: all)")
	onCluster := flag.Bool("cluster", false, "run on a Temporal cluster (frontend, history, matching, worker on PostgreSQL, as make cluster) instead of the dev server")
	timeout := flag.Duration("timeout", 30*time.Minute, "abort the whole run after this long")
	flag.Parse()

	cfg := bench.Defaults(*short, *onCluster)
	setInt := func(dst *int, v int) {
		if v > 0 {
			*dst = v
		}
	}
	setInt(&cfg.Invoices, *invoices)
	setInt(&cfg.Concurrency, *conc)
	setInt(&cfg.PaymentInvoices, *payInv)
	setInt(&cfg.SpikeInvoices, *spikeN)
	setInt(&cfg.SpikeRate, *spikeR)
	setInt(&cfg.OpenWorkflows, *open)
	setInt(&cfg.WorkflowCache, *cache)
	setInt(&cfg.ReportRows, *reportRows)
	if *payFrom > 0 {
		cfg.PaymentRateFrom = *payFrom
	}
	if *ladderStep > 0 {
		cfg.LadderStep = *ladderStep
	}
	if *only != "" {
		steps, err := bench.ParseSteps(*only)
		if err != nil {
			return fmt.Errorf("-only: %w", err)
		}
		cfg.Only = steps
	}
	if *out != "" {
		cfg.Out = *out
	}
	if *profDir != "" {
		cfg.ProfileDir = *profDir
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	slog.SetDefault(logger)
	cfg.Logger = logger

	// A reader that goes away (`make bench | head`) must not kill the run before it
	// stops its dev server and PostgreSQL: writes then fail instead of raising SIGPIPE.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	run := bench.Run
	if *onlyReports || slices.Equal(cfg.Only, []string{"reports"}) {
		run = bench.RunOnlyReports
	}
	res, runErr := run(ctx, cfg)
	if res == nil {
		return runErr
	}
	if err := bench.WriteJSON(cfg.Out, res); err != nil {
		return fmt.Errorf("writing %s: %w", cfg.Out, err)
	}
	if err := bench.WriteMarkdown(os.Stdout, res); err != nil {
		return err
	}
	fmt.Printf("\nJSON: %s; profiles and the stack's log: %s\n", cfg.Out, cfg.ProfileDir)
	if f := res.Failures(); len(f) > 0 && runErr == nil {
		return fmt.Errorf("hard checks failed: %s", strings.Join(f, "; "))
	}
	return runErr
}
