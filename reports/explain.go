package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Plan summarises PostgreSQL's plan of one report query, for the benchmark: which
// indexes it reads and which tables it scans whole.
type Plan struct {
	Query    string   `json:"query"`
	Indexes  []string `json:"indexes"`
	SeqScans []string `json:"seq_scans"`
}

// historyTables grow with every notice, payment and adjustment: a report must reach
// their rows through an index. (A scan of invoices is PostgreSQL's right choice when
// a large share of them qualifies, e.g. every invoice open on a date.)
var historyTables = []string{"payments", "adjustments", "notices", "lifecycle_events", "invoice_events"}

// UsesIndexes reports whether the plan reads at least one index and scans none of
// the history tables whole.
func (p Plan) UsesIndexes() bool {
	if len(p.Indexes) == 0 {
		return false
	}
	for _, t := range p.SeqScans {
		if slices.Contains(historyTables, t) {
			return false
		}
	}
	return true
}

// ExplainKPIs returns the plans of the KPI queries (the aging query runs twice in the
// KPIs, for the opening and closing receivables; ExplainAging covers it).
func (r *Reporter) ExplainKPIs(ctx context.Context, p Period, f Filter) ([]Plan, error) {
	args := []any{p.Start(), p.End(), f.Currency, f.Segment, f.Policy}
	var out []Plan
	for _, q := range []struct{ name, sql string }{
		{"kpis/cohort", cohortSQL}, {"kpis/paid_in_period", paidInPeriodSQL}, {"kpis/cash", cashSQL},
	} {
		plan, err := r.explain(ctx, q.name, q.sql, args)
		if err != nil {
			return nil, err
		}
		out = append(out, plan)
	}
	return out, nil
}

// ExplainAging returns the plan of the aging query as of the end of day asOf.
func (r *Reporter) ExplainAging(ctx context.Context, asOf time.Time, f Filter) (Plan, error) {
	asOf = Day(asOf)
	return r.explain(ctx, "aging", agingSQL, []any{asOf, asOf.AddDate(0, 0, 1), f.Currency, f.Segment, f.Policy})
}

func (r *Reporter) explain(ctx context.Context, name, sql string, args []any) (Plan, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	var raw []byte
	if err := r.pool.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+sql, args...).Scan(&raw); err != nil {
		return Plan{}, fmt.Errorf("reports: explain %s: %w", name, err)
	}
	var doc []struct {
		Plan map[string]any `json:"Plan"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || len(doc) == 0 {
		return Plan{}, fmt.Errorf("reports: explain %s: unexpected plan %s", name, raw)
	}
	plan := Plan{Query: name}
	var walk func(node map[string]any)
	walk = func(node map[string]any) {
		if idx, ok := node["Index Name"].(string); ok && !slices.Contains(plan.Indexes, idx) {
			plan.Indexes = append(plan.Indexes, idx)
		}
		if node["Node Type"] == "Seq Scan" {
			if rel, ok := node["Relation Name"].(string); ok && !slices.Contains(plan.SeqScans, rel) {
				plan.SeqScans = append(plan.SeqScans, rel)
			}
		}
		if kids, ok := node["Plans"].([]any); ok {
			for _, k := range kids {
				if m, ok := k.(map[string]any); ok {
					walk(m)
				}
			}
		}
	}
	walk(doc[0].Plan)
	slices.Sort(plan.Indexes)
	slices.Sort(plan.SeqScans)
	return plan, nil
}
