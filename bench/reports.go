package bench

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"time"

	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/reports"
	"github.com/dunwell/dunwell/reports/fixture"
)

// reportRuns is how many timed runs each report query gets (after one warm-up).
const reportRuns = 5

// ReportTarget is the target of each report query's median time.
const ReportTarget = 500 * time.Millisecond

// ReportBench is the reports measurement: the KPI and aging reports over a generated
// ledger of about Config.ReportRows rows (a year of invoices with their payments,
// adjustments, notices, escalations and events), with their times and plans.
type ReportBench struct {
	Rows      int           `json:"rows"`
	Invoices  int           `json:"invoices"`
	LoadSec   float64       `json:"load_sec"`
	Queries   []ReportQuery `json:"queries"`
	Error     string        `json:"error,omitempty"`
	AllFast   bool          `json:"all_fast"`
	AllIndex  bool          `json:"all_index"`
	TargetMs  float64       `json:"target_ms"`
	PlanNotes []string      `json:"plan_notes"`
}

// ReportQuery is one timed report.
type ReportQuery struct {
	Name     string         `json:"name"`
	MedianMs float64        `json:"median_ms"`
	MaxMs    float64        `json:"max_ms"`
	Plans    []reports.Plan `json:"plans"`
	// Timed says whether the query has the target (the year-long KPIs are for
	// information).
	Timed bool `json:"timed"`
}

// RunReports loads the generated ledger into the database at url with COPY (next to
// whatever it holds: the stack's own invoices are a few thousand rows more) and times
// the reports. It needs nothing but PostgreSQL.
func RunReports(ctx context.Context, url string, rows int, log *slog.Logger) ReportBench {
	res := ReportBench{TargetMs: float64(ReportTarget.Milliseconds())}
	if err := benchReports(ctx, url, rows, log, &res); err != nil {
		res.Error = err.Error()
	}
	return res
}

func benchReports(ctx context.Context, url string, rows int, log *slog.Logger, res *ReportBench) error {
	// Size the year so that it writes about `rows` ledger rows.
	opts := fixture.Options{Invoices: 1000, Seed: 2026, Prefix: "RB"}
	perInvoice := float64(fixture.Rows(fixture.Generate(opts))) / float64(opts.Invoices)
	opts.Invoices = max(100, int(float64(rows)/perInvoice))
	invoices := fixture.Generate(opts)
	res.Invoices, res.Rows = len(invoices), fixture.Rows(invoices)

	store, err := ledger.Open(ctx, url, ledger.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return err
	}
	defer store.Close()
	log.Info("Loading the reports ledger", "invoices", res.Invoices, "rows", res.Rows)
	start := time.Now()
	if err := fixture.Copy(ctx, store.Pool(), invoices); err != nil {
		return err
	}
	// What autovacuum does in a running system: statistics and the visibility map
	// (which makes the per-invoice sums index-only scans).
	if _, err := store.Pool().Exec(ctx, "VACUUM (ANALYZE)"); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	res.LoadSec = round2(time.Since(start).Seconds())

	rep := reports.New(store.Pool())
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	month := reports.Period{From: day("2025-06-01"), To: day("2025-06-30")}
	quarter := reports.Period{From: day("2025-07-01"), To: day("2025-09-30")}
	year := reports.Period{From: day("2025-01-01"), To: day("2025-12-31")}
	kpi := func(p reports.Period) func() error {
		return func() error { _, err := rep.KPIs(ctx, p, reports.Filter{}); return err }
	}
	aging := func(d time.Time) func() error {
		return func() error { _, err := rep.Aging(ctx, d, reports.Filter{}); return err }
	}
	kpiPlans := func(p reports.Period) ([]reports.Plan, error) {
		plans, err := rep.ExplainKPIs(ctx, p, reports.Filter{})
		if err != nil {
			return nil, err
		}
		for _, d := range []time.Time{p.From.AddDate(0, 0, -1), p.To} {
			a, err := rep.ExplainAging(ctx, d, reports.Filter{})
			if err != nil {
				return nil, err
			}
			a.Query = "kpis/receivables " + d.Format(time.DateOnly)
			plans = append(plans, a)
		}
		return plans, nil
	}
	agingPlans := func(d time.Time) ([]reports.Plan, error) {
		a, err := rep.ExplainAging(ctx, d, reports.Filter{})
		return []reports.Plan{a}, err
	}
	endOfData := day("2026-03-01")
	cases := []struct {
		name  string
		timed bool
		run   func() error
		plans func() ([]reports.Plan, error)
	}{
		{"KPIs, one month (2025-06)", true, kpi(month), func() ([]reports.Plan, error) { return kpiPlans(month) }},
		{"KPIs, one quarter (2025-Q3)", true, kpi(quarter), func() ([]reports.Plan, error) { return kpiPlans(quarter) }},
		{"KPIs, the whole year 2025", false, kpi(year), func() ([]reports.Plan, error) { return kpiPlans(year) }},
		{"Aging as of 2026-03-01 (now)", true, aging(endOfData), func() ([]reports.Plan, error) { return agingPlans(endOfData) }},
		{"Aging as of 2025-06-30 (past)", true, aging(month.To), func() ([]reports.Plan, error) { return agingPlans(month.To) }},
	}
	res.AllFast, res.AllIndex = true, true
	for _, c := range cases {
		if err := c.run(); err != nil { // warm-up
			return fmt.Errorf("%s: %w", c.name, err)
		}
		var times []float64
		for range reportRuns {
			t0 := time.Now()
			if err := c.run(); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			times = append(times, float64(time.Since(t0).Microseconds())/1000)
		}
		slices.Sort(times)
		plans, err := c.plans()
		if err != nil {
			return err
		}
		q := ReportQuery{Name: c.name, MedianMs: round2(times[len(times)/2]), MaxMs: round2(times[len(times)-1]), Plans: plans, Timed: c.timed}
		res.Queries = append(res.Queries, q)
		if c.timed && q.MedianMs > res.TargetMs {
			res.AllFast = false
		}
		for _, p := range plans {
			if !p.UsesIndexes() {
				res.AllIndex = false
				res.PlanNotes = append(res.PlanNotes, fmt.Sprintf("%s / %s: seq scan of %v", c.name, p.Query, p.SeqScans))
			}
		}
		log.Info("Report timed", "query", c.name, "median_ms", q.MedianMs, "max_ms", q.MaxMs)
	}
	return nil
}

// RunOnlyReports starts only PostgreSQL and runs the reports measurement
// (`dunwell-bench -only-reports`).
func RunOnlyReports(ctx context.Context, cfg Config) (*Results, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	res := &Results{StartedAt: time.Now().UTC(), Config: cfg, Host: Host{
		CPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
		Note: "reports only: a throwaway PostgreSQL cluster on the same CPUs as the loader",
	}}
	pg, err := testenv.StartPostgres(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = pg.Stop() }()
	res.Reports = RunReports(ctx, pg.URL(), cfg.ReportRows, log)
	res.Rows = ReportRows(res.Reports)
	res.DurationSec = round2(time.Since(res.StartedAt).Seconds())
	return res, nil
}
