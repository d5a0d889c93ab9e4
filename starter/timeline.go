package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// customerArgs splits "ID [flags]" or "[flags] ID" into the id and the parsed flags.
func customerArgs(fs *flag.FlagSet, args []string, usage string) (string, error) {
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return "", usageError{err.Error() + "\n" + usage}
	}
	if id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return "", usageError{usage}
	}
	if id == "" {
		return "", usageError{usage}
	}
	return id, nil
}

// timelineCmd prints GET /v1/customers/{id}/timeline as a table, newest first, or the
// API's JSON with --json.
func timelineCmd(ctx context.Context, args []string, out io.Writer) error {
	const usage = "usage: starter timeline CUSTOMER_ID [-limit N] [-kind note,payment,...] [-before CURSOR|RFC3339] [--json]"
	fs := flag.NewFlagSet("timeline", flag.ContinueOnError)
	limit := fs.Int("limit", 0, "entries to show, 1 to 500 (default: the API's, 100)")
	kind := fs.String("kind", "", "only these kinds (comma-separated)")
	before := fs.String("before", "", "only entries older than this cursor (from a previous page) or time")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	id, err := customerArgs(fs, args, usage)
	if err != nil {
		return err
	}
	q := url.Values{}
	limitSet := false
	fs.Visit(func(f *flag.Flag) { limitSet = limitSet || f.Name == "limit" })
	if limitSet {
		if *limit < 1 || *limit > 500 {
			return usageError{"-limit: must be a whole number from 1 to 500\n" + usage}
		}
		q.Set("limit", strconv.Itoa(*limit))
	}
	if *kind != "" {
		q.Set("kind", *kind)
	}
	if *before != "" {
		q.Set("before", *before)
	}
	path := "/v1/customers/" + url.PathEscape(id) + "/timeline"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var v struct {
		CustomerID string `json:"customer_id"`
		Entries    []struct {
			At        time.Time `json:"at"`
			Kind      string    `json:"kind"`
			InvoiceID string    `json:"invoice_id"`
			Actor     string    `json:"actor"`
			Summary   string    `json:"summary"`
		} `json:"entries"`
		NextBefore string `json:"next_before"`
	}
	if printed, err := fetchView(ctx, http.MethodGet, path, nil, *asJSON, out, "the timeline", &v); printed || err != nil {
		return err
	}
	if len(v.Entries) == 0 {
		_, err := fmt.Fprintf(out, "nothing in the timeline of %s\n", v.CustomerID)
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "at (UTC)\tkind\tinvoice\tactor\tsummary")
	for _, e := range v.Entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format("2006-01-02 15:04"), printable(e.Kind),
			printable(cmp.Or(e.InvoiceID, "-")), printable(cmp.Or(e.Actor, "-")), printable(e.Summary))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if v.NextBefore != "" {
		_, err := fmt.Fprintf(out, "\nolder entries: starter timeline %s -before %s\n", v.CustomerID, v.NextBefore)
		return err
	}
	return nil
}

// noteCmd adds a note with POST /v1/customers/{id}/notes and prints it.
func noteCmd(ctx context.Context, args []string, out io.Writer) error {
	const usage = `usage: starter note CUSTOMER_ID -text "..." [-invoice INV] [--json]`
	fs := flag.NewFlagSet("note", flag.ContinueOnError)
	text := fs.String("text", "", "what to note (1-4000 characters)")
	invoice := fs.String("invoice", "", "the customer's invoice the note is about")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	id, err := customerArgs(fs, args, usage)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*text) == "" {
		return usageError{"-text: must not be empty\n" + usage}
	}
	body, err := json.Marshal(struct {
		Text      string `json:"text"`
		InvoiceID string `json:"invoice_id,omitempty"`
	}{*text, *invoice})
	if err != nil {
		return err
	}
	var n struct {
		NoteID    int64     `json:"note_id"`
		InvoiceID string    `json:"invoice_id"`
		Author    string    `json:"author"`
		CreatedAt time.Time `json:"created_at"`
	}
	if printed, err := fetchView(ctx, http.MethodPost, "/v1/customers/"+url.PathEscape(id)+"/notes", body, *asJSON, out, "the note", &n); printed || err != nil {
		return err
	}
	about := id
	if n.InvoiceID != "" {
		about += ", invoice " + n.InvoiceID
	}
	_, err = fmt.Fprintf(out, "note %d added for %s by %s at %s\n", n.NoteID, about, n.Author, n.CreatedAt.UTC().Format(time.RFC3339))
	return err
}

// printable keeps a table cell on one line: control characters (a provider's error
// text may hold a line break) become spaces.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
