package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Row is one line of the results table.
type Row struct {
	Measurement string `json:"measurement"`
	Figure      string `json:"figure"`
	Target      string `json:"target"`
	// Verdict is "pass", "MISS", "info" (no target) or "FAIL" (a hard check broken:
	// something sent twice).
	Verdict string `json:"verdict"`
}

func verdict(ok bool) string {
	if ok {
		return "pass"
	}
	return "MISS"
}

// rows turns the results into the table, each figure with its target.
func rows(r *Results) []Row {
	var out []Row
	add := func(m, fig, target, v string) { out = append(out, Row{m, fig, target, v}) }

	c, d := r.Ceiling, r.Dunwell
	run := r.Config.Runs
	if run("ceiling") {
		add("1. Ceiling: bare workflow, an invoice's least work (2 timers, email + SMS through the fakes, payment update), issued and paid over HTTP",
			withErr(fmt.Sprintf("%.1f invoices/s (%d closed, makespan %.1fs, issue %.1f/s; %.0f ms stack CPU per invoice)", c.PerSecond, c.Closed, c.MakespanSec, c.IssuePerSecond, c.CPUPerInvoiceMs), c.FirstError), "—", "info")
	}
	if run("dunwell") {
		add("2. Dunwell through the API (issue, 2 reminders, pay)",
			withErr(fmt.Sprintf("%.1f invoices/s (%d closed, makespan %.1fs, issue %.1f/s; %.0f ms stack CPU per invoice)", d.PerSecond, d.Closed, d.MakespanSec, d.IssuePerSecond, d.CPUPerInvoiceMs), d.FirstError), "—", "info")
	}
	if run("ceiling") && run("dunwell") {
		add("2. Throughput: Dunwell / ceiling (halves alternated ceiling, Dunwell, Dunwell, ceiling)", fmt.Sprintf("%.2f", r.Ratio), "≥ 0.80 (and ≤ 1: a ceiling)", verdict(r.Ratio >= 0.8 && d.Errors == 0))
		if r.CPURatio > 0 {
			add("2. Stack CPU per invoice: Dunwell / ceiling", fmt.Sprintf("%.2f (%s)", r.CPURatio, cpuSplit(c, d)), "—", "info")
		}
	}

	for _, k := range r.Costs {
		fig := fmt.Sprintf("%d events (min %d, ×%.2f); %d Actions (min %d, ×%.2f)", k.Events, k.MinEvents, k.EventsRatio, k.Actions, k.MinActions, k.ActionsRatio)
		add("3. Cost: "+string(k.Scenario), withErr(fig, k.Error), "events ≤ 1.2× min", verdict(k.Error == "" && k.EventsRatio <= 1.2))
	}

	if run("payments") {
		out = append(out, paymentRows(r.Payments)...)
	}
	if run("spike") {
		out = append(out, spikeRows(r.Spike, r.Config.Cluster)...)
	}
	if run("memory") {
		out = append(out, memoryRow(r.Memory))
	}
	if run("reports") {
		out = append(out, ReportRows(r.Reports)...)
	}
	return out
}

func paymentRows(p PaymentLatency) []Row {
	var out []Row
	add := func(m, fig, target, v string) { out = append(out, Row{m, fig, target, v}) }
	steps := make([]string, 0, len(p.Steps))
	for _, st := range p.Steps {
		steps = append(steps, fmt.Sprintf("%.0f/s: bare p99 %.0f ms%s, Dunwell %.0f ms%s", st.RateHz,
			st.Bare.P99ms, errNote(st.Bare.Errors), st.Dunwell.P99ms, errNote(st.Dunwell.Errors)))
	}
	top := ""
	if !p.Bounded && len(p.Steps) > 0 {
		top = " (the ladder ended before both missed)"
	}
	add(fmt.Sprintf("4. Payments: highest rate with p99 < %.0f ms, bare no-op Update / Dunwell's API, in turn at each rate", p.BoundMs),
		withErr(fmt.Sprintf("bare %.0f req/s, Dunwell %.0f req/s%s [%s]", p.CeilingHz, p.SustainedHz, top, strings.Join(steps, "; ")), p.FirstError), "—", "info")
	if p.CeilingHz > 0 {
		add("4. Payment rate: Dunwell / bare", fmt.Sprintf("%.2f", p.Ratio), "≥ 0.80", verdict(p.Ratio >= 0.8))
	} else {
		add("4. Payment rate: Dunwell / bare", fmt.Sprintf("no ratio: the bare updates missed p99 < %.0f ms at the ladder's first rate", p.BoundMs), "≥ 0.80", "MISS")
	}
	if h := p.AtHalf; h.RateHz > 0 {
		b, d := h.Bare, h.Dunwell
		add(fmt.Sprintf("4. Payment latency at half the bare rate (%.1f req/s): Dunwell / bare", h.RateHz),
			fmt.Sprintf("p50 ×%.2f, p99 ×%.2f (Dunwell p50 %.1f ms, p99 %.1f ms%s; bare p50 %.1f ms, p99 %.1f ms%s)",
				p.P50Ratio, p.P99Ratio, d.P50ms, d.P99ms, errNote(d.Errors), b.P50ms, b.P99ms, errNote(b.Errors)),
			"Dunwell p99 < 100 ms", verdict(d.Count > 0 && d.Errors == 0 && d.P99ms < 100))
	}
	return out
}

// spikeRows: on a cluster, with its send queues on one partition, the sends must go at
// R once they start (the steady rate: the first send's wait is the timers and the
// accounts gathering, which no R changes); on the dev server the spike is judged
// against its same-shape ceiling.
func spikeRows(sp Spike, cluster bool) []Row {
	var out []Row
	add := func(m, fig, target, v string) { out = append(out, Row{m, fig, target, v}) }
	target, v := "≥ 0.95 R while sending, on a cluster", "info"
	if cluster {
		v = verdict(sp.Complete && sp.SteadyRatio >= 0.95)
	}
	add(fmt.Sprintf("5. Spike: %d invoices of %d customers due at once, provider limit R = %d/s, email queue limit %.0f/s", sp.Invoices, sp.Customers, sp.Rate, sp.QueueRate),
		withErr(fmt.Sprintf("%d messages drained in %.1fs vs %d/R %.1fs → %.1f/s = %.2f R (first send %.1fs after the accounts' gathering, then %.2f R)",
			sp.Sent, sp.DrainSec, sp.Customers, sp.IdealSec, sp.EffectiveRate, sp.RateRatio, sp.FirstSendSec, sp.SteadyRatio), sp.Error),
		target, v)
	if c := sp.Ceiling; c.Sent > 0 || c.Error != "" {
		fig := fmt.Sprintf("%d emails drained in %.1fs → %.2f R (first send %.1fs after the accounts' gathering, then %.2f R)", c.Sent, c.DrainSec, c.RateRatio, c.FirstSendSec, c.SteadyRatio)
		add(fmt.Sprintf("5. Spike ceiling: %d bare invoices hand their reminder to %d bare accounts (a signal), each account sends one email through the same fake at R", sp.Invoices, sp.Customers), withErr(fig, c.Error), "—", "info")
		if c.RateRatio > 0 && sp.RateRatio > 0 {
			v := verdict(sp.Complete && sp.SpikeRatio() >= 0.95)
			if cluster {
				v = "info"
			}
			add("5. Spike drain: Dunwell / ceiling", fmt.Sprintf("%.2f", sp.SpikeRatio()), "≥ 0.95 on the dev server", v)
		}
	}
	add("5. Spike: messages sent, per customer and step (fake outbox)", fmt.Sprintf("%d messages to %d of %d customers, at most %d per customer; %d of %d invoices listed, %d in two messages",
		sp.Messages, sp.Reached, sp.Customers, sp.MaxPerCustomer, sp.Covered, sp.Invoices, sp.CoveredTwice),
		"≤ 1 per customer, each invoice once (hard check)", hardVerdict(sp.MaxPerCustomer <= 1 && sp.CoveredTwice == 0, sp.Complete && sp.Covered == sp.Invoices))
	add("5. Spike: duplicates", fmt.Sprintf("%d", sp.Duplicates), "0 (hard check)", hardVerdict(sp.Duplicates == 0, sp.Complete))
	add("5. Spike: 429s seen by the provider", fmt.Sprintf("%d (%d to a message refused just before)", sp.Provider429, sp.Repeat429), "no 429 twice in a row", verdict(sp.Repeat429 == 0))
	if sp.LateIssued > 0 {
		add("5. Spike: invoices issued after the due instant", fmt.Sprintf("%d", sp.LateIssued), "0 (harness)", "info")
	}

	return out
}

// hardVerdict is a correctness check's verdict: "FAIL" when it is broken (the run
// fails), else "pass" when complete, or "MISS" when the measurement did not finish.
func hardVerdict(holds, complete bool) string {
	switch {
	case !holds:
		return "FAIL"
	case complete:
		return "pass"
	}
	return "MISS"
}

// Failures are the table's broken hard checks (verdict FAIL).
func (r *Results) Failures() []string {
	var out []string
	for _, row := range r.Rows {
		if row.Verdict == "FAIL" {
			out = append(out, row.Measurement+": "+row.Figure)
		}
	}
	return out
}

func memoryRow(m Memory) Row {
	fig := fmt.Sprintf("%.0f MB RSS with %d open, %d in the workflow cache of %d (baseline %.0f MB, +%.1f KB per cached workflow; Go heap %.0f MB; %d goroutines)",
		m.RSSMB, m.Instantiated, m.Cached, m.WorkflowCache, m.BaselineRSSMB, m.PerWorkflowKB, m.HeapMB, m.Goroutines)
	if m.Projected {
		fig += fmt.Sprintf("; projected %.0f MB at 10 000", m.ProjectedRSSMB)
	}
	return Row{"6. Worker RSS, open workflows asleep on timers", withErr(fig, m.Error), "≤ 200 MB at 10 000", verdict(m.Error == "" && m.ProjectedRSSMB > 0 && m.ProjectedRSSMB <= 200)}
}

// withErr appends a measurement's error, if any, to its figure.
func withErr(fig, err string) string {
	if err != "" {
		return fig + " (error: " + truncate(err, 80) + ")"
	}
	return fig
}

func errNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d errors", n)
}

func truncate(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// WriteMarkdown prints the results table and the profiles' top functions.
func WriteMarkdown(w io.Writer, r *Results) error {
	var b strings.Builder
	mode := "default"
	if r.Config.Short {
		mode = "SHORT"
	}
	if r.Config.Cluster {
		mode += ", Temporal cluster"
	}
	fmt.Fprintf(&b, "\n## Dunwell benchmark (%s, %d CPUs, %s, %.0fs)\n\n", mode, r.Host.CPUs, r.Host.GoVersion, r.DurationSec)
	b.WriteString("| measurement | figure | target | result |\n|---|---|---|---|\n")
	for _, row := range r.Rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", row.Measurement, strings.ReplaceAll(row.Figure, "|", "/"), row.Target, row.Verdict)
	}
	fmt.Fprintf(&b, "\n%s.\n", r.Host.Note)
	if len(r.Costs) > 0 {
		b.WriteString("\nEvents beyond the minimum:\n\n")
		for _, k := range r.Costs {
			fmt.Fprintf(&b, "- %s: %s\n", k.Scenario, k.Extra)
		}
	}
	for _, p := range r.Profiles {
		fmt.Fprintf(&b, "\n### Profile: %s — %s\n\n", p.Name, p.File)
		if p.Error != "" {
			fmt.Fprintf(&b, "(%s)\n", p.Error)
			continue
		}
		b.WriteString("```\n      flat  flat%   sum%        cum   cum%\n")
		for _, l := range p.Top {
			b.WriteString(l + "\n")
		}
		b.WriteString("```\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the results to path, creating its directory.
func WriteJSON(path string, r *Results) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReportRows are the reports measurement's lines of the table.
func ReportRows(rb ReportBench) []Row {
	var out []Row
	if rb.Error != "" {
		return append(out, Row{"7. Reports", "error: " + truncate(rb.Error, 120), "—", "MISS"})
	}
	for _, q := range rb.Queries {
		fig := fmt.Sprintf("median %.0f ms, max %.0f ms over %d rows", q.MedianMs, q.MaxMs, rb.Rows)
		indexes := []string{}
		seq := []string{}
		indexed := true
		for _, p := range q.Plans {
			indexes = append(indexes, p.Indexes...)
			seq = append(seq, p.SeqScans...)
			indexed = indexed && p.UsesIndexes()
		}
		fig += "; indexes: " + strings.Join(uniq(indexes), ", ")
		if len(seq) > 0 {
			fig += "; seq scan of " + strings.Join(uniq(seq), ", ")
		}
		target, v := "—", "info"
		if q.Timed {
			target = fmt.Sprintf("< %.0f ms; history tables through indexes", rb.TargetMs)
			v = verdict(q.MedianMs < rb.TargetMs && indexed)
		}
		out = append(out, Row{"7. Reports: " + q.Name, fig, target, v})
	}
	return out
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// cpuSplit says, for each part of the stack, its CPU per invoice in the ceiling and in
// Dunwell: "postgres 3→41 ms, temporal 80→95 ms, bench 20→40 ms".
func cpuSplit(c, d Throughput) string {
	parts := map[string]bool{}
	for k := range c.CPUPerInvoiceMsBy {
		parts[k] = true
	}
	for k := range d.CPUPerInvoiceMsBy {
		parts[k] = true
	}
	names := slices.Sorted(maps.Keys(parts))
	out := make([]string, 0, len(names))
	for _, k := range names {
		out = append(out, fmt.Sprintf("%s %.0f→%.0f ms", k, c.CPUPerInvoiceMsBy[k], d.CPUPerInvoiceMsBy[k]))
	}
	return "ceiling→Dunwell per invoice: " + strings.Join(out, ", ")
}
