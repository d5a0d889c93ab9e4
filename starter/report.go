package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/dunwell/dunwell/reports"
)

const reportUsage = `usage: starter report kpis  [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--currency C] [--segment S] [--policy P] [--json]
       starter report aging [--as-of YYYY-MM-DD] [--currency C] [--segment S] [--policy P] [--json]
       starter report steps [--from ...] [--to ...] [--within-days N] [--currency C] [--segment S] [--policy P] [--json]
       starter report trend [--to YYYY-MM-DD] [--months N] [--currency C] [--segment S] [--policy P] [--json]
       starter report forecast [--weeks N] [--currency C] [--segment S] [--policy P] [--json]
       starter report collectors [--from ...] [--to ...] [--within-days N] [--json]`

// report prints a report from GET /v1/reports/{kind} as a table, or the API's JSON
// with --json.
func report(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageError{reportUsage}
	}
	kind := args[0]
	fs := flag.NewFlagSet("report "+kind, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	params := map[string]*string{}
	str := func(flagName, param, help string) { params[param] = fs.String(flagName, "", help) }
	switch kind {
	case "kpis", "steps":
		str("from", "from", "first day of the period (default: 30 days ending today)")
		str("to", "to", "last day of the period (default today)")
		if kind == "steps" {
			str("within-days", "within_days", "days after a notice that count as paid by it (default 7)")
		}
	case "aging":
		str("as-of", "as_of", "the day (default today)")
	case "trend":
		str("to", "to", "last day of the last month (default today)")
		str("months", "months", "how many months (default 12)")
	case "forecast":
		str("weeks", "weeks", "how many weeks from today (default 12)")
	case "collectors":
		str("from", "from", "first day of the period (default: 30 days ending today)")
		str("to", "to", "last day of the period (default today)")
		str("within-days", "within_days", "days after a contact that a payment counts for it (default 7)")
	default:
		return usageError{fmt.Sprintf("unknown report %q\n%s", kind, reportUsage)}
	}
	if kind != "collectors" {
		str("currency", "currency", "ISO 4217 currency")
		str("segment", "segment", "customer segment")
		str("policy", "policy", "policy id")
	}
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err.Error() + "\n" + reportUsage}
	}
	if fs.NArg() > 0 {
		return usageError{reportUsage}
	}
	q := url.Values{}
	for name, v := range params {
		if *v != "" {
			q.Set(name, *v)
		}
	}
	path := "/v1/reports/" + kind
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var buf bytes.Buffer
	if err := callAPI(ctx, http.MethodGet, path, nil, &buf); err != nil {
		return err
	}
	if *asJSON {
		_, err := out.Write(buf.Bytes())
		return err
	}
	switch kind {
	case "kpis":
		return kpiTable(buf.Bytes(), out)
	case "aging":
		return agingTable(buf.Bytes(), out)
	case "trend":
		return trendTable(buf.Bytes(), out)
	case "forecast":
		return forecastTable(buf.Bytes(), out)
	case "collectors":
		return collectorsTable(buf.Bytes(), out)
	default:
		return stepsTable(buf.Bytes(), out)
	}
}

// cell renders a JSON value for a table: strings as they are, null as "-".
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		return x
	case float64:
		return fmt.Sprintf("%g", x)
	default:
		return fmt.Sprint(x)
	}
}

func kpiTable(data []byte, out io.Writer) error {
	var r struct {
		From       string           `json:"from"`
		To         string           `json:"to"`
		Currencies []map[string]any `json:"currencies"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("reading the KPIs: %w", err)
	}
	fmt.Fprintf(out, "KPIs %s to %s\n", r.From, r.To)
	if len(r.Currencies) == 0 {
		fmt.Fprintln(out, "no activity in the period")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\t")
	for _, c := range r.Currencies {
		fmt.Fprintf(tw, "%s\t", cell(c["currency"]))
	}
	fmt.Fprintln(tw)
	for _, m := range reports.Measures {
		fmt.Fprintf(tw, "%s\t", m.Name)
		for _, c := range r.Currencies {
			fmt.Fprintf(tw, "%s\t", cell(c[m.Name]))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func agingTable(data []byte, out io.Writer) error {
	var r struct {
		AsOf       string `json:"as_of"`
		Currencies []struct {
			Currency string `json:"currency"`
			Buckets  []struct {
				Bucket   string `json:"bucket"`
				Invoices int64  `json:"invoices"`
				Amount   string `json:"amount"`
			} `json:"buckets"`
			Invoices int64  `json:"invoices"`
			Total    string `json:"total"`
		} `json:"currencies"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("reading the aging: %w", err)
	}
	fmt.Fprintf(out, "Aging of the open balance on %s (days past due)\n", r.AsOf)
	if len(r.Currencies) == 0 {
		fmt.Fprintln(out, "nothing open")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "currency\t")
	for _, b := range r.Currencies[0].Buckets {
		fmt.Fprintf(tw, "%s\t", b.Bucket)
	}
	fmt.Fprintln(tw, "total\tinvoices\t")
	for _, c := range r.Currencies {
		fmt.Fprintf(tw, "%s\t", c.Currency)
		for _, b := range c.Buckets {
			fmt.Fprintf(tw, "%s\t", b.Amount)
		}
		fmt.Fprintf(tw, "%s\t%d\t\n", c.Total, c.Invoices)
	}
	return tw.Flush()
}

func stepsTable(data []byte, out io.Writer) error {
	var r struct {
		From       string           `json:"from"`
		To         string           `json:"to"`
		WithinDays int              `json:"within_days"`
		Steps      []map[string]any `json:"steps"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("reading the steps: %w", err)
	}
	fmt.Fprintf(out, "Step effectiveness %s to %s: invoices paid within %d days of the notice\n", r.From, r.To, r.WithinDays)
	if len(r.Steps) == 0 {
		fmt.Fprintln(out, "no notice sent in the period")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	cols := []string{"policy", "step", "channel", "segment", "sent", "paid_within", "paid_within_rate", "average_days_to_pay"}
	fmt.Fprintln(tw, strings.Join(cols, "\t")+"\t")
	for _, s := range r.Steps {
		for _, c := range cols {
			fmt.Fprintf(tw, "%s\t", cell(s[c]))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func trendTable(data []byte, out io.Writer) error {
	var r struct {
		From       string `json:"from"`
		To         string `json:"to"`
		Currencies []struct {
			Currency string           `json:"currency"`
			Months   []map[string]any `json:"months"`
		} `json:"currencies"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("reading the trend: %w", err)
	}
	fmt.Fprintf(out, "DSO and collection rate by month, %s to %s\n", r.From, r.To)
	if len(r.Currencies) == 0 {
		fmt.Fprintln(out, "no receivables in the period")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	cols := []string{"amount_issued", "closing_receivables", "dso", "amount_due", "collected_on_due", "collection_rate"}
	fmt.Fprintln(tw, "currency\tmonth\t"+strings.Join(cols, "\t")+"\t")
	for _, c := range r.Currencies {
		for _, m := range c.Months {
			month := cell(m["month"])
			if m["partial"] == true {
				month += " (to " + cell(m["to"]) + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t", c.Currency, month)
			for _, col := range cols {
				fmt.Fprintf(tw, "%s\t", cell(m[col]))
			}
			fmt.Fprintln(tw)
		}
	}
	return tw.Flush()
}

func forecastTable(data []byte, out io.Writer) error {
	var r struct {
		From       string `json:"from"`
		To         string `json:"to"`
		Currencies []struct {
			Currency        string           `json:"currency"`
			Weeks           []map[string]any `json:"weeks"`
			InWeeks         string           `json:"in_weeks"`
			AfterWeeks      string           `json:"after_weeks"`
			PastExpected    string           `json:"past_expected"`
			PromiseDiscount string           `json:"promise_discount"`
			Held            string           `json:"held"`
			Open            string           `json:"open"`
		} `json:"currencies"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("reading the forecast: %w", err)
	}
	fmt.Fprintf(out, "Cash-in forecast by week, %s to %s (per currency)\n", r.From, r.To)
	if len(r.Currencies) == 0 {
		fmt.Fprintln(out, "nothing open")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	cols := []string{"promises", "plans", "due", "total"}
	fmt.Fprintln(tw, "currency\tweek\tfrom\tto\t"+strings.Join(cols, "\t")+"\t")
	for _, c := range r.Currencies {
		for _, w := range c.Weeks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t", c.Currency, cell(w["week"]), cell(w["from"]), cell(w["to"]))
			for _, col := range cols {
				fmt.Fprintf(tw, "%s\t", cell(w[col]))
			}
			fmt.Fprintln(tw)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range r.Currencies {
		fmt.Fprintf(out, "%s: open %s = in the weeks %s + after them %s + expected before today %s + promise discount %s + held %s\n",
			c.Currency, c.Open, c.InWeeks, c.AfterWeeks, c.PastExpected, c.PromiseDiscount, c.Held)
	}
	return nil
}

func collectorsTable(data []byte, out io.Writer) error {
	var r struct {
		From       string `json:"from"`
		To         string `json:"to"`
		WithinDays int    `json:"within_days"`
		Collectors []struct {
			Collector        string   `json:"collector"`
			Customers        int64    `json:"customers"`
			TasksDone        int64    `json:"tasks_done"`
			Conversations    int64    `json:"conversations"`
			PromisesObtained int64    `json:"promises_obtained"`
			PromisesKept     int64    `json:"promises_kept"`
			PromisesBroken   int64    `json:"promises_broken"`
			PromiseKeptRate  *float64 `json:"promise_kept_rate"`
			Collected        []struct {
				Currency string `json:"currency"`
				Invoices int64  `json:"invoices"`
				Amount   string `json:"amount"`
			} `json:"collected"`
		} `json:"collectors"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("reading the collectors: %w", err)
	}
	fmt.Fprintf(out, "Collectors %s to %s: paid within %d days of a contact\n", r.From, r.To, r.WithinDays)
	if len(r.Collectors) == 0 {
		fmt.Fprintln(out, "no collector")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "collector\tcustomers\ttasks_done\tconversations\tpromises\tkept\tbroken\tkept_rate\tcollected\t")
	for _, c := range r.Collectors {
		var cash []string
		for _, m := range c.Collected {
			cash = append(cash, m.Amount+" "+m.Currency)
		}
		rate := "-"
		if c.PromiseKeptRate != nil {
			rate = fmt.Sprintf("%g", *c.PromiseKeptRate)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t\n", c.Collector, c.Customers, c.TasksDone, c.Conversations,
			c.PromisesObtained, c.PromisesKept, c.PromisesBroken, rate, cmp.Or(strings.Join(cash, ", "), "-"))
	}
	return tw.Flush()
}
