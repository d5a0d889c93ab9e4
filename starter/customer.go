package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
)

// customer prints GET /v1/customers/{id}: a summary and the open invoices, or the
// API's JSON with --json.
func customer(ctx context.Context, args []string, out io.Writer) error {
	const usage = "usage: starter customer CUSTOMER_ID [--json]"
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("customer", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error() + "\n" + usage}
	}
	if id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageError{usage}
	}
	if id == "" {
		return usageError{usage}
	}
	var v struct {
		CustomerID      string           `json:"customer_id"`
		Band            string           `json:"band"`
		Invoices        int64            `json:"invoices"`
		InvoicesPaid    int64            `json:"invoices_paid"`
		AverageDaysLate any              `json:"average_days_late"`
		OnTimeShare     any              `json:"on_time_share"`
		LastContact     any              `json:"last_contact"`
		WrittenOff      int64            `json:"written_off"`
		Escalated       int64            `json:"escalated"`
		Balances        []map[string]any `json:"balances"`
		OpenInvoices    []map[string]any `json:"open_invoices"`
		OptOuts         []map[string]any `json:"opt_outs"`
	}
	if printed, err := fetchView(ctx, http.MethodGet, "/v1/customers/"+url.PathEscape(id), nil, *asJSON, out, "the customer", &v); printed || err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "customer\t%s\n", v.CustomerID)
	fmt.Fprintf(tw, "band\t%s\n", v.Band)
	fmt.Fprintf(tw, "invoices\t%d (paid %d, written off %d, escalated %d)\n", v.Invoices, v.InvoicesPaid, v.WrittenOff, v.Escalated)
	fmt.Fprintf(tw, "average_days_late\t%s\n", cell(v.AverageDaysLate))
	fmt.Fprintf(tw, "on_time_share\t%s\n", cell(v.OnTimeShare))
	fmt.Fprintf(tw, "last_contact\t%s\n", cell(v.LastContact))
	for _, b := range v.Balances {
		fmt.Fprintf(tw, "open %s\t%s in %s invoice(s)\n", cell(b["currency"]), cell(b["balance"]), cell(b["invoices"]))
	}
	for _, o := range v.OptOuts {
		fmt.Fprintf(tw, "opted out\t%s since %s\n", cell(o["channel"]), cell(o["at"]))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(v.OpenInvoices) == 0 {
		return nil
	}
	fmt.Fprintln(out)
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "invoice\tcurrency\tbalance\tdue_date\tdays_past_due\tstatus\t")
	for _, o := range v.OpenInvoices {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", cell(o["invoice_id"]), cell(o["currency"]), cell(o["balance"]),
			cell(o["due_date"]), cell(o["days_past_due"]), cell(o["status"]))
	}
	return tw.Flush()
}
