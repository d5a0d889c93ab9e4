package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
)

const lettersUsage = `usage: starter letters [-status to_print|sent|mailed|failed|sending|all] [-customer ID] [--json]
       starter letter pdf ID -o letter.pdf
       starter letter mailed ID`

// lettersCmd lists letters (GET /v1/letters), by default those waiting to be printed.
func lettersCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("letters", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	status := fs.String("status", "to_print", "which letters: to_print, sent, mailed, failed, sending or all")
	customer := fs.String("customer", "", "only this customer's letters")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return usageError{lettersUsage}
	}
	q := url.Values{"limit": {"500"}}
	if *status != "all" {
		q.Set("status", *status)
	}
	if *customer != "" {
		q.Set("customer_id", *customer)
	}
	var list struct {
		Letters []struct {
			ID                  int64
			InvoiceID           string `json:"invoice_id"`
			CustomerID          string `json:"customer_id"`
			Step, Status, Error string
			ProviderID          string `json:"provider_id"`
			ClaimedAt           string `json:"claimed_at"`
			MailedBy            string `json:"mailed_by"`
		} `json:"letters"`
	}
	if printed, err := fetchView(ctx, http.MethodGet, "/v1/letters?"+q.Encode(), nil, *asJSON, out, "the answer", &list); printed || err != nil {
		return err
	}
	if len(list.Letters) == 0 {
		fmt.Fprintln(out, "No letters.")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tINVOICE\tCUSTOMER\tSTEP\tCREATED\tNOTE")
	for _, l := range list.Letters {
		note := l.Error
		switch {
		case l.ProviderID != "":
			note = "provider " + l.ProviderID
		case l.MailedBy != "":
			note = "mailed by " + l.MailedBy
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", l.ID, l.Status, l.InvoiceID, l.CustomerID, l.Step, l.ClaimedAt, note)
	}
	return tw.Flush()
}

// letterCmd downloads a letter's PDF or says it was mailed.
func letterCmd(ctx context.Context, args []string, out io.Writer) error {
	if len(args) < 2 {
		return usageError{lettersUsage}
	}
	id := args[1]
	if n, err := strconv.ParseInt(id, 10, 64); err != nil || n < 1 {
		return usageError{fmt.Sprintf("letter id %q: must be a letter's number (starter letters lists them)\n%s", id, lettersUsage)}
	}
	switch args[0] {
	case "pdf":
		fs := flag.NewFlagSet("letter pdf", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		file := fs.String("o", "", "write the PDF to this file")
		if err := fs.Parse(args[2:]); err != nil || fs.NArg() > 0 || *file == "" {
			return usageError{lettersUsage}
		}
		c, err := newAPIClient()
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := c.do(ctx, http.MethodGet, "/v1/letters/"+id+"/pdf", nil, &buf, "Accept", "application/pdf"); err != nil {
			return err
		}
		if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
			return fmt.Errorf("the API did not answer a PDF for letter %s", id)
		}
		if err := writeFileAtomic(*file, buf.Bytes()); err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "wrote %s (%d bytes)\n", *file, buf.Len())
		return err
	case "mailed":
		if len(args) > 2 {
			return usageError{lettersUsage}
		}
		return callAPI(ctx, http.MethodPost, "/v1/letters/"+id+"/mailed", nil, out)
	}
	return usageError{strings.TrimSpace(lettersUsage)}
}
