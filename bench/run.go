// Package bench is Dunwell's performance benchmark (`make bench`). It starts its own
// Temporal dev server, PostgreSQL, fake SendGrid/Twilio (behind a rate limiter), the
// HTTP API and an in-process worker, then measures: the throughput ceiling of a bare
// workflow of an invoice's shape; Dunwell's throughput through the API and its ratio
// to the ceiling; history events and Temporal Actions per invoice against a
// hand-computed minimum; payment API latency; a month-end spike against a provider
// rate limit; and the memory of many open invoice workflows. See bench/README.md.
package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// Results is everything one run measured; it is what the JSON file holds.
type Results struct {
	StartedAt   time.Time `json:"started_at"`
	DurationSec float64   `json:"duration_sec"`
	Host        Host      `json:"host"`
	Config      Config    `json:"config"`

	Ceiling Throughput `json:"ceiling"`
	Dunwell Throughput `json:"dunwell"`
	// Ratio is Dunwell.PerSecond / Ceiling.PerSecond; CPURatio is
	// Dunwell.CPUPerInvoiceMs / Ceiling.CPUPerInvoiceMs (how much more CPU the whole
	// stack spends on one of Dunwell's invoices than on a bare one).
	Ratio    float64        `json:"ratio"`
	CPURatio float64        `json:"cpu_ratio,omitempty"`
	Costs    []Cost         `json:"costs"`
	Payments PaymentLatency `json:"payments"`
	Spike    Spike          `json:"spike"`
	Memory   Memory         `json:"memory"`
	Reports  ReportBench    `json:"reports"`
	Profiles []Profile      `json:"profiles"`
	Rows     []Row          `json:"rows"`
}

// Host describes where the run happened.
type Host struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
	Note      string `json:"note"`
}

// Run starts the stack, runs every measurement in turn and returns the results. A
// failed measurement is recorded in its section; only a stack that cannot start is
// an error.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
		return nil, err
	}
	res := &Results{StartedAt: time.Now().UTC(), Config: cfg, Host: Host{
		CPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
		Note: "one process holds the worker, the API, the fakes and the load generator; the Temporal dev server (in-memory store) and PostgreSQL are child processes on the same CPUs",
	}}
	if cfg.Cluster {
		res.Host.Note = "one process holds the worker, the API, the fakes and the load generator; the Temporal cluster (frontend, history, matching and worker processes on PostgreSQL, the send queues on one partition) and the ledger's PostgreSQL are child processes on the same CPUs"
	}
	pols, err := benchPolicies(cfg)
	if err != nil {
		return nil, err
	}
	stackLog, err := os.Create(filepath.Join(cfg.ProfileDir, "stack.log"))
	if err != nil {
		return nil, err
	}
	defer stackLog.Close()
	log.Info("Starting PostgreSQL, Temporal, the fakes, the API and the worker", "cluster", cfg.Cluster)
	s, err := startStack(ctx, log, pols, stackLog, cfg.WorkflowCache, cfg.Cluster)
	if err != nil {
		return nil, err
	}
	defer s.close()
	prof := &profiler{dir: cfg.ProfileDir, log: log}

	if cfg.Runs("ceiling") || cfg.Runs("dunwell") {
		log.Info("1-2/6 Throughput: bare workflows (ceiling) and Dunwell through the API", "invoices", cfg.Invoices)
		res.Ceiling, res.Dunwell, err = runThroughput(ctx, s, cfg, prof.cpu)
		if err != nil {
			log.Warn("Throughput run failed", "error", err)
		}
		if res.Ceiling.PerSecond > 0 && res.Dunwell.PerSecond > 0 {
			res.Ratio = round2(res.Dunwell.PerSecond / res.Ceiling.PerSecond)
		}
		if res.Ceiling.CPUPerInvoiceMs > 0 && res.Dunwell.CPUPerInvoiceMs > 0 {
			res.CPURatio = round2(res.Dunwell.CPUPerInvoiceMs / res.Ceiling.CPUPerInvoiceMs)
		}
		log.Info("Throughput done", "ceiling_per_second", res.Ceiling.PerSecond, "dunwell_per_second", res.Dunwell.PerSecond,
			"ratio", res.Ratio, "cpu_ratio", res.CPURatio, "errors", res.Ceiling.Errors+res.Dunwell.Errors)
	}

	if cfg.Runs("cost") {
		log.Info("3/6 Cost: history events and Actions per scenario")
		res.Costs = runCosts(ctx, s)
	}

	if cfg.Runs("payments") {
		log.Info("4/6 Payment API latency against bare updates", "from_rate", cfg.PaymentRateFrom, "step", cfg.LadderStep)
		if res.Payments, err = runPayments(ctx, s, cfg, prof.cpu); err != nil {
			res.Payments.FirstError = err.Error()
		}
	}

	if cfg.Runs("spike") {
		log.Info("5/6 Month-end spike", "invoices", cfg.SpikeInvoices, "provider_limit_per_sec", cfg.SpikeRate)
		res.Spike = runSpike(ctx, s, cfg, res.Dunwell.IssuePerSecond)
	}

	if cfg.Runs("memory") {
		log.Info("6/6 Memory with open workflows", "workflows", cfg.OpenWorkflows)
		res.Memory = runMemory(ctx, s, cfg, prof.heap)
	}

	if cfg.Runs("reports") {
		// The reports need PostgreSQL only: time them on a quiet machine, as a finance
		// user would see them, over a ledger of the generated year alone (as
		// -only-reports does): the earlier steps' own invoices in the same tables
		// change the planner's choices (a quarter's KPIs then read payments whole).
		s.quiet()
		log.Info("7. Reports over a generated ledger (Temporal stopped, a database of their own)", "rows", cfg.ReportRows)
		if url, err := s.pg.CreateDatabase(ctx, "dunwell_reports"); err != nil {
			res.Reports = ReportBench{Error: err.Error()}
		} else {
			res.Reports = RunReports(ctx, url, cfg.ReportRows, log)
		}
	}

	res.Profiles = prof.summarize(ctx, 10)
	res.Rows = rows(res)
	res.DurationSec = round2(time.Since(res.StartedAt).Seconds())
	if ctx.Err() != nil {
		return res, fmt.Errorf("benchmark interrupted: %w", ctx.Err())
	}
	return res, nil
}
