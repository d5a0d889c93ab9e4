package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
)

const bankUsage = `usage: starter bank import FILE [-format camt|ofx] [--json]
       starter bank unmatched [--json]
       starter bank match ID INV [INV ...]
       starter bank ignore ID -reason TEXT`

// bankCmd imports bank statements and works the unmatched queue (docs/bank.md).
func bankCmd(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usageError{bankUsage}
	}
	switch args[0] {
	case "import":
		return bankImport(ctx, args[1:], out)
	case "unmatched":
		return bankUnmatched(ctx, args[1:], out)
	case "match":
		if len(args) < 3 {
			return usageError{bankUsage}
		}
		body, _ := json.Marshal(map[string][]string{"invoice_ids": args[2:]}) // plain strings
		return callAPI(ctx, http.MethodPost, "/v1/bank-transactions/"+url.PathEscape(args[1])+"/match", body, out)
	case "ignore":
		fs := flag.NewFlagSet("bank ignore", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		reason := fs.String("reason", "", "why the transfer is no invoice's (refunded, a loan, ...)")
		if len(args) < 2 || fs.Parse(args[2:]) != nil || *reason == "" || fs.NArg() > 0 {
			return usageError{bankUsage}
		}
		body, _ := json.Marshal(map[string]string{"reason": *reason}) // plain strings
		return callAPI(ctx, http.MethodPost, "/v1/bank-transactions/"+url.PathEscape(args[1])+"/ignore", body, out)
	}
	return usageError{bankUsage}
}

// bankImport streams FILE to POST /v1/bank-statements and prints what became of each
// transaction. The format comes from -format, else the file's extension (.ofx, .qfx:
// OFX; anything else camt, whose namespace says 053 or 054).
func bankImport(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bank import", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "", "camt or ofx (default: from the file's extension)")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error() + "\n" + bankUsage}
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 || file == "" {
		return usageError{bankUsage}
	}
	ct := "application/xml"
	switch f := strings.ToLower(*format); {
	case f == "ofx", f == "" && (strings.EqualFold(filepath.Ext(file), ".ofx") || strings.EqualFold(filepath.Ext(file), ".qfx")):
		ct = "application/x-ofx"
	case f == "camt", f == "":
	default:
		return usageError{"-format: must be camt or ofx\n" + bankUsage}
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	defer f.Close()
	c, err := newAPIClient()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := c.send(ctx, http.MethodPost, "/v1/bank-statements", ct, f, &buf); err != nil {
		return err
	}
	if *asJSON {
		_, err := out.Write(buf.Bytes())
		return err
	}
	var res struct {
		ImportID     int64  `json:"import_id"`
		Format       string `json:"format"`
		MessageID    string `json:"message_id"`
		Transactions int    `json:"transactions"`
		New          int    `json:"new"`
		Duplicates   int    `json:"duplicates"`
		Applied      int    `json:"applied"`
		Unmatched    int    `json:"unmatched"`
		Recorded     int    `json:"recorded"`
		Items        []struct {
			ID          int64  `json:"id"`
			Entry       string `json:"entry"`
			Status      string `json:"status"`
			Duplicate   bool   `json:"duplicate"`
			Why         string `json:"why"`
			Allocations []struct {
				InvoiceID string `json:"invoice_id"`
				Amount    string `json:"amount"`
			} `json:"allocations"`
		} `json:"items"`
	}
	if err := json.Unmarshal(buf.Bytes(), &res); err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	fmt.Fprintf(out, "import %d (%s %s): %d transactions, %d new, %d already imported; %d applied, %d unmatched, %d recorded only\n",
		res.ImportID, res.Format, res.MessageID, res.Transactions, res.New, res.Duplicates, res.Applied, res.Unmatched, res.Recorded)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tENTRY\tSTATUS\tWHAT")
	for _, it := range res.Items {
		status := it.Status
		if it.Duplicate {
			status += " (already imported)"
		}
		what := it.Why
		if len(it.Allocations) > 0 {
			var parts []string
			for _, a := range it.Allocations {
				parts = append(parts, a.Amount+" to "+a.InvoiceID)
			}
			what = strings.Join(parts, ", ") + ": " + what
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", it.ID, it.Entry, status, what)
	}
	return tw.Flush()
}

// bankUnmatched prints the unmatched queue with its suggestions.
func bankUnmatched(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bank unmatched", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return usageError{bankUsage}
	}
	var list struct {
		Transactions []struct {
			ID       int64  `json:"id"`
			Amount   string `json:"amount"`
			Currency string `json:"currency"`
			Payer    struct {
				Name, Account string
			} `json:"payer"`
			Remittance  string `json:"remittance"`
			Why         string `json:"why"`
			Suggestions []struct {
				InvoiceID string `json:"invoice_id"`
				Why       string `json:"why"`
			} `json:"suggestions"`
		} `json:"transactions"`
	}
	if printed, err := fetchView(ctx, http.MethodGet, "/v1/bank-transactions?status=unmatched&limit=500", nil, *asJSON, out, "the answer", &list); printed || err != nil {
		return err
	}
	if len(list.Transactions) == 0 {
		fmt.Fprintln(out, "Nothing waits for a decision.")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAMOUNT\tPAYER\tREMITTANCE\tWHY\tSUGGESTED")
	for _, t := range list.Transactions {
		var sugg []string
		for _, s := range t.Suggestions {
			sugg = append(sugg, s.InvoiceID)
		}
		fmt.Fprintf(tw, "%d\t%s %s\t%s\t%s\t%s\t%s\n", t.ID, t.Amount, t.Currency, strings.TrimSpace(t.Payer.Name+" "+t.Payer.Account),
			t.Remittance, t.Why, strings.Join(sugg, ", "))
	}
	return tw.Flush()
}
