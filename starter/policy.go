package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/policies"
	"github.com/dunwell/dunwell/policy"
)

const policyUsage = `usage: starter policy <validate|preview> ...

  starter policy validate FILE|DIR...              check policy files (and segments.yaml); non-zero exit on any error
  starter policy preview FILE|ID -f invoice.json   print the timeline an unpaid invoice would follow
        [-at YYYY-MM-DD]                           ... and what it owes on that day (customer's date), split
                                                   into compensation and interest per half-year with each rate
        [-json]                                    ... as JSON instead of a table

Both run locally: no server, no database. FILE is a policy file; ID names a shipped
policy (standard, gentle, strict, demo). invoice.json is the body of POST /v1/invoices
("-" reads standard input); its "policy" field is ignored in favour of FILE.`

// policyCmd runs `starter policy ...`.
func policyCmd(args []string, stdin io.Reader, out, errOut io.Writer) error {
	if len(args) == 0 {
		return usageError{policyUsage}
	}
	switch args[0] {
	case "validate":
		return policyValidate(args[1:], out, errOut)
	case "preview":
		return policyPreview(args[1:], stdin, out, errOut)
	case "help", "-h", "--help":
		fmt.Fprintln(out, policyUsage)
		return nil
	default:
		return usageError{fmt.Sprintf("unknown policy command %q\n\n%s", args[0], policyUsage)}
	}
}

// policyValidate checks each file, or each policy file of each directory, and prints
// an OK line per valid file and a "file:line: field: problem" line per problem.
func policyValidate(args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		return usageError{"usage: starter policy validate FILE|DIR..."}
	}
	var files []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return fmt.Errorf("reading %s: %w", a, err)
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		entries, err := os.ReadDir(a)
		if err != nil {
			return fmt.Errorf("reading %s: %w", a, err)
		}
		for _, e := range entries {
			if !e.IsDir() && isPolicyFileName(e.Name()) {
				files = append(files, filepath.Join(a, e.Name()))
			}
		}
		rates, _ := os.ReadDir(filepath.Join(a, policy.RatesDir)) // none: no rates to check
		for _, e := range rates {
			if !e.IsDir() && isPolicyFileName(e.Name()) {
				files = append(files, filepath.Join(a, policy.RatesDir, e.Name()))
			}
		}
	}
	bad := 0
	for _, f := range files {
		summary, err := validateFile(f)
		if err != nil {
			bad++
			printProblems(errOut, f, err)
			continue
		}
		fmt.Fprintf(out, "OK    %s  %s\n", f, summary)
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d files invalid", bad, len(files))
	}
	return nil
}

func isPolicyFileName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// validateFile checks one policy file, or a segments file against the policies of
// its directory, and summarises it.
func validateFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if filepath.Base(filepath.Dir(path)) == policy.RatesDir {
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		t, err := policy.ParseRates(path, name, data)
		if err != nil {
			return "", err
		}
		first, last := t.Changes[0], t.Changes[len(t.Changes)-1]
		return fmt.Sprintf("rates %s: %d changes from %s, %s since %s, through %s", t.Name, len(t.Changes),
			first.Date.Format(time.DateOnly), last.Rate, last.Date.Format(time.DateOnly), t.Through.Format(time.DateOnly)), nil
	}
	if filepath.Base(path) == policy.StatementsFile {
		scheds, err := policy.ParseStatementSchedules(path, data)
		if err != nil {
			return "", err
		}
		var parts []string
		for _, s := range scheds {
			parts = append(parts, s.Name+": "+s.Describe())
		}
		return fmt.Sprintf("statement schedules (%d): %s", len(scheds), strings.Join(parts, "; ")), nil
	}
	if filepath.Base(path) == policy.SegmentsFile {
		set, err := siblingSet(filepath.Dir(path))
		if err != nil {
			return "", err
		}
		if err := set.LoadSegments(path, data); err != nil {
			return "", err
		}
		seg := set.Segments()
		names := make([]string, 0, len(seg))
		for s := range seg {
			names = append(names, s+" -> "+seg[s])
		}
		sort.Strings(names)
		return "segments: " + strings.Join(names, ", "), nil
	}
	rates, err := ratesBeside(path)
	if err != nil {
		return "", err
	}
	p, err := policies.ParseFile(path, data, rates)
	if err != nil {
		return "", err
	}
	return summarise(p), nil
}

// ratesBeside loads the rates files of the rates/ directory beside a policy file, or
// the shipped ones when there is none.
func ratesBeside(path string) (map[string]*policy.RateTable, error) {
	dir := filepath.Dir(path)
	if st, err := os.Stat(filepath.Join(dir, policy.RatesDir)); err == nil && st.IsDir() {
		return policies.LoadRates(dir)
	}
	return policies.LoadRates("")
}

// siblingSet is every valid policy of dir, for checking a segments file.
func siblingSet(dir string) (*policy.Set, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ps []*policy.Policy
	rates, err := ratesBeside(filepath.Join(dir, policy.SegmentsFile))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() || !isPolicyFileName(e.Name()) || e.Name() == policy.SegmentsFile || e.Name() == policy.StatementsFile {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if p, err := policies.ParseFile(e.Name(), data, rates); err == nil {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("%s: no valid policy beside it to check its segments against", dir)
	}
	return policy.NewSet(ps[0].ID, ps...)
}

func summarise(p *policy.Policy) string {
	parts := []string{fmt.Sprintf("%s v%d: %d steps", p.ID, p.Version, len(p.Steps))}
	if p.LateFee != nil {
		parts = append(parts, "late fee")
	}
	if in := p.Interest; in.IsReference() {
		parts = append(parts, fmt.Sprintf("interest %s + %s", in.Reference, in.Margin))
	} else if in != nil {
		parts = append(parts, "interest "+in.Rate.String())
	}
	if c := p.Compensation; c != nil {
		parts = append(parts, "compensation in "+strings.Join(c.Currencies(), ", "))
	}
	if p.Discount != nil {
		parts = append(parts, "discount "+p.Discount.Percent.String())
	}
	if e := p.Escalation; e != nil {
		s := fmt.Sprintf("%s at %s", e.To, e.After)
		if e.Approval != nil && e.Approval.Required {
			s += " with approval"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// printProblems writes one "file:line: field: problem" line per problem.
func printProblems(w io.Writer, file string, err error) {
	var ve *policy.ValidationError
	if !errors.As(err, &ve) {
		fmt.Fprintf(w, "%s: %v\n", file, err)
		return
	}
	if ve.What != "" && ve.Source != "" {
		file = ve.Source // a rates file the policy needs
	}
	for _, f := range ve.Fields {
		loc := file
		if f.Line > 0 {
			loc = fmt.Sprintf("%s:%d", file, f.Line)
		}
		fmt.Fprintf(w, "%s: %s: %s\n", loc, f.Field, f.Problem)
	}
}

// policyPreview prints the timeline of an invoice under a policy.
func policyPreview(args []string, stdin io.Reader, out, errOut io.Writer) error {
	fset := flag.NewFlagSet("policy preview", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	invoiceFile := fset.String("f", "", "invoice JSON file (- for standard input)")
	asJSON := fset.Bool("json", false, "print the timeline as JSON")
	atDay := fset.String("at", "", "show what the invoice owes on this day (YYYY-MM-DD, customer's date) if unpaid")
	// Flags may come before or after the policy: "preview standard -f inv.json".
	var positional []string
	for rest := args; ; {
		if err := fset.Parse(rest); err != nil {
			return usageError{err.Error() + "\nusage: starter policy preview FILE|ID -f invoice.json [-at YYYY-MM-DD] [-json]"}
		}
		if fset.NArg() == 0 {
			break
		}
		positional = append(positional, fset.Arg(0))
		rest = fset.Args()[1:]
	}
	if len(positional) != 1 || *invoiceFile == "" {
		return usageError{"usage: starter policy preview FILE|ID -f invoice.json [-at YYYY-MM-DD] [-json]"}
	}
	p, err := loadPolicyArg(positional[0])
	if err != nil {
		printProblems(errOut, positional[0], err)
		return errors.New("invalid policy")
	}
	data, err := readInput(*invoiceFile, stdin)
	if err != nil {
		return err
	}
	inv, fe, err := parsePreviewInvoice(*invoiceFile, data, p)
	if err != nil {
		return err
	}
	if len(fe) > 0 {
		for _, f := range fe.Fields() {
			fmt.Fprintf(errOut, "%s: %s: %s\n", *invoiceFile, f, fe[f])
		}
		return errors.New("invalid invoice")
	}
	tl := collection.BuildTimeline(p, &inv)
	if *atDay != "" {
		d, err := time.ParseInLocation(time.DateOnly, *atDay, inv.Location())
		if err != nil {
			return usageError{fmt.Sprintf("-at: %q is not a date like 2025-07-25", *atDay)}
		}
		// The last instant of that local day: every charge of the day is in.
		tl.Final = collection.ComputeCharges(p, &inv, nil, d.AddDate(0, 0, 1).Add(-time.Nanosecond))
	}
	if err := collection.CheckRates(p, &inv); err != nil {
		fmt.Fprintf(errOut, "warning: the API refuses this invoice (due_date): %v\n", err)
	}
	for _, ln := range tl.Final.InterestLines {
		switch {
		case ln.Missing:
			fmt.Fprintf(errOut, "warning: no %s rate for %s in %s: no interest is charged for its %d days late (missing_rate: refuse)\n",
				ln.Reference, ln.Half, p.Interest.Rates.File, ln.Days)
		case ln.Fallback:
			fmt.Fprintf(errOut, "warning: no %s rate for %s in %s: the policy's fallback %s is used\n",
				ln.Reference, ln.Half, p.Interest.Rates.File, ln.ReferenceRate)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(tl)
	}
	return printTimeline(out, p, &inv, tl)
}

// loadPolicyArg reads a policy file, or falls back to a shipped policy by id.
func loadPolicyArg(arg string) (*policy.Policy, error) {
	data, err := os.ReadFile(arg)
	if err == nil {
		rates, err := ratesBeside(arg)
		if err != nil {
			return nil, err
		}
		return policies.ParseFile(arg, data, rates)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading %s: %w", arg, err)
	}
	set, serr := policies.Shipped()
	if serr != nil {
		return nil, serr
	}
	if p, ok := set.Get(arg); ok {
		return p, nil
	}
	return nil, fmt.Errorf("%s: no such file, nor a shipped policy (%s)", arg, strings.Join(set.IDs(), ", "))
}

// parsePreviewInvoice validates invoice.json exactly as the API does, naming each bad
// field, and checks that the policy can price its currency.
func parsePreviewInvoice(name string, data []byte, p *policy.Policy) (collection.Invoice, collection.FieldErrors, error) {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var req collection.InvoiceRequest
	if err := dec.Decode(&req); err != nil {
		return collection.Invoice{}, nil, fmt.Errorf("%s: not an invoice like the body of POST /v1/invoices: %w", name, err)
	}
	// A preview may look at an invoice issued at any time, so issued_at is not held
	// to "not in the future" here.
	inv, fe := req.Validate(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
	if len(fe) == 0 {
		if err := p.CheckCurrency(inv.Currency); err != nil {
			fe = collection.FieldErrors{"currency": err.Error()}
		}
	}
	return inv, fe, nil
}

// printTimeline writes the timeline as a table in the customer's local time.
func printTimeline(out io.Writer, p *policy.Policy, inv *collection.Invoice, tl collection.Timeline) error {
	loc := inv.Location()
	cur := inv.Currency
	const when = "2006-01-02 Mon 15:04:05 MST"
	fmt.Fprintf(out, "Policy %s v%d for invoice %s: %s %s, issued %s, due %s.\nTimes are the customer's (%s); amounts in %s.\n",
		p.ID, p.Version, inv.ID, money.Format(inv.AmountDue, cur), cur, inv.IssuedAt.In(loc).Format(when),
		inv.DueDate, inv.Customer.Timezone, cur)
	if inv.PolicyID != "" && inv.PolicyID != p.ID {
		fmt.Fprintf(out, "(The invoice names policy %q; this preview uses %s.)\n", inv.PolicyID, p.ID)
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tEVENT\tSTEP / TEMPLATE\tCHANNELS\tFEES\tINTEREST\tDUE\tNOTE")
	for _, e := range tl.Events {
		what, chans := "", ""
		switch e.Kind {
		case collection.EventReminder:
			what, chans = e.Step+" / "+e.Template, collection.ChannelLabel(e.Channels)
		case collection.EventSkipped:
			what = e.Step
		case collection.EventLateFee:
			what = "+" + money.Format(e.Amount, cur)
		}
		var notes []string
		if !e.MovedFrom.IsZero() {
			notes = append(notes, fmt.Sprintf("moved from %s: %s", e.MovedFrom.In(loc).Format("Mon 15:04"), e.MoveReason))
		}
		if e.Note != "" {
			notes = append(notes, e.Note)
		}
		if c := e.Charges; c.DiscountOffered > 0 {
			notes = append(notes, fmt.Sprintf("or %s with the early-payment discount", money.Format(c.PayNow(), cur)))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.In(loc).Format(when), e.Kind, what, chans,
			money.Format(e.Charges.LateFeesTotal+e.Charges.Compensation, cur), money.Format(e.Charges.Interest, cur),
			money.Format(e.Charges.Balance, cur), strings.Join(notes, "; "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range tl.Notes {
		fmt.Fprintf(out, "\nNote: %s.", n)
	}
	if len(tl.Notes) > 0 {
		fmt.Fprintln(out)
	}
	return printOwed(out, p, inv, tl.Final)
}

// printOwed writes what the invoice owes at c.At: principal, late fees, the
// compensation and each interest line with its period and rate.
func printOwed(out io.Writer, p *policy.Policy, inv *collection.Invoice, c collection.Charges) error {
	if c.LateFeesTotal == 0 && c.Compensation == 0 && c.Interest == 0 {
		return nil
	}
	loc, cur := inv.Location(), inv.Currency
	at := c.At.In(loc)
	late := ""
	if !at.Before(inv.DueEnd()) {
		day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
		late = fmt.Sprintf(", %d days late", int(day.Sub(inv.DueDate.In(time.UTC)).Hours()/24))
	}
	fmt.Fprintf(out, "\nOwed on %s%s, if nothing is paid:\n", at.Format(time.DateOnly), late)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	row := func(what, detail string, amount int64) {
		fmt.Fprintf(tw, "  %s\t%s\t%14s %s\n", what, detail, money.Format(amount, cur), cur)
	}
	row("principal", "", c.UnpaidPrincipal)
	if c.LateFeesTotal > 0 {
		row("late fees", fmt.Sprintf("%d charged", len(c.LateFees)), c.LateFeesTotal)
	}
	if c.Compensation > 0 {
		row("compensation", "fixed, charged "+c.CompensationAt.In(loc).Format(time.DateOnly), c.Compensation)
	}
	if len(c.InterestLines) == 0 && c.Interest > 0 {
		row("interest", p.Interest.Describe(), c.Interest)
	}
	for _, ln := range c.InterestLines {
		detail := fmt.Sprintf("%s to %s, %d days, %s %s + %s = %s", ln.From, ln.Through, ln.Days, ln.Reference, ln.ReferenceRate, ln.Margin, ln.Rate)
		switch {
		case ln.Missing:
			detail = fmt.Sprintf("%s to %s, %d days, no %s rate: none charged", ln.From, ln.Through, ln.Days, ln.Reference)
		case ln.Fallback:
			detail += " (fallback)"
		}
		if ln.Capped {
			detail += " (capped)"
		}
		row("interest "+ln.Half.String(), detail, ln.Amount)
	}
	if c.DiscountTaken > 0 {
		row("discount", "", -c.DiscountTaken)
	}
	row("total", "", c.Balance)
	return tw.Flush()
}
