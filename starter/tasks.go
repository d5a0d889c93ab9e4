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
	"strconv"
	"text/tabwriter"
	"time"
)

// taskView is what the CLI prints of a task (GET /v1/tasks, the API's Task).
type taskView struct {
	ID          int64          `json:"id"`
	Kind        string         `json:"kind"`
	CustomerID  string         `json:"customer_id"`
	InvoiceID   string         `json:"invoice_id"`
	Status      string         `json:"status"`
	Assignee    string         `json:"assignee"`
	Title       string         `json:"title"`
	Details     map[string]any `json:"details"`
	DueAt       *time.Time     `json:"due_at"`
	Outcome     string         `json:"outcome"`
	CompletedBy string         `json:"completed_by"`
	Priority    struct {
		Score       float64 `json:"score"`
		Balance     string  `json:"balance"`
		Currency    string  `json:"currency"`
		DaysOverdue int     `json:"days_overdue"`
		Band        string  `json:"band"`
	} `json:"priority"`
}

// tasksCmd lists tasks by priority: starter tasks [-status open] [-kind call] [-assignee NAME].
func tasksCmd(ctx context.Context, args []string, out io.Writer) error {
	const usage = `usage: starter tasks [-status open|snoozed|done|closed] [-kind call|reply|letter] [-assignee NAME] [-customer C] [-limit N] [--json]`
	fs := flag.NewFlagSet("tasks", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	status := fs.String("status", "open", "open, snoozed, done or closed (\"\": all)")
	kind := fs.String("kind", "", "call, reply or letter")
	assignee := fs.String("assignee", "", "a collector's tasks")
	customer := fs.String("customer", "", "one customer's tasks")
	limit := fs.Int("limit", 0, "at most this many (1-1000)")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return usageError{usage}
	}
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("status", *status)
	set("kind", *kind)
	set("assignee", *assignee)
	set("customer_id", *customer)
	if flagGiven(fs, "limit") { // -limit 0 or -5 was the API's default, silently
		if *limit < 1 || *limit > 1000 {
			return usageError{"-limit: must be a whole number from 1 to 1000\n" + usage}
		}
		q.Set("limit", strconv.Itoa(*limit))
	}
	path := "/v1/tasks"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var v struct {
		Tasks []taskView `json:"tasks"`
	}
	if printed, err := fetchView(ctx, http.MethodGet, path, nil, *asJSON, out, "the tasks", &v); printed || err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "id\tkind\tstatus\tcustomer\tinvoice\tbalance\tdays overdue\tband\tscore\tassignee\tdue (UTC)\ttitle")
	for _, t := range v.Tasks {
		due := "-"
		if t.DueAt != nil {
			due = t.DueAt.UTC().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s %s\t%d\t%s\t%.2f\t%s\t%s\t%s\n", t.ID, t.Kind, t.Status, printable(t.CustomerID),
			printable(cmp.Or(t.InvoiceID, "-")), t.Priority.Balance, t.Priority.Currency, t.Priority.DaysOverdue, t.Priority.Band,
			t.Priority.Score, cmp.Or(printable(t.Assignee), "-"), due, printable(t.Title))
	}
	return tw.Flush()
}

// taskCmd acts on one task: starter task complete|snooze|assign ID [flags].
func taskCmd(ctx context.Context, args []string, out io.Writer) error {
	const usage = `usage: starter task complete ID -outcome OUTCOME [-note TEXT] [-promise-date DATE -promise-amount AMOUNT]
       starter task snooze ID -until DATE|RFC3339
       starter task assign ID -assignee NAME ("" unassigns)
       starter task show ID`
	if len(args) < 2 {
		return usageError{usage}
	}
	action, id := args[0], args[1]
	if n, err := strconv.ParseInt(id, 10, 64); err != nil || n < 1 {
		return usageError{"ID: must be a task's number\n" + usage}
	}
	fs := flag.NewFlagSet("task "+action, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var body any
	method, path := http.MethodPost, "/v1/tasks/"+id+"/"+action
	switch action {
	case "complete":
		outcome := fs.String("outcome", "", "reached, promised, no_answer, voicemail, wrong_number, refused or disputed")
		note := fs.String("note", "", "what was said")
		date := fs.String("promise-date", "", "the promised date (outcome promised)")
		amount := fs.String("promise-amount", "", "the promised amount (default: the whole balance)")
		if err := fs.Parse(args[2:]); err != nil || fs.NArg() > 0 || *outcome == "" {
			return usageError{usage}
		}
		type promise struct {
			Date   string `json:"date"`
			Amount string `json:"amount,omitempty"`
		}
		req := struct {
			Outcome string   `json:"outcome"`
			Note    string   `json:"note,omitempty"`
			Promise *promise `json:"promise,omitempty"`
		}{Outcome: *outcome, Note: *note}
		if *date != "" || *amount != "" {
			req.Promise = &promise{Date: *date, Amount: *amount}
		}
		body = req
	case "snooze":
		until := fs.String("until", "", "when the task comes back")
		if err := fs.Parse(args[2:]); err != nil || fs.NArg() > 0 || *until == "" {
			return usageError{usage}
		}
		body = map[string]string{"until": *until}
	case "assign":
		assignee := fs.String("assignee", "", "the collector")
		if err := fs.Parse(args[2:]); err != nil || fs.NArg() > 0 {
			return usageError{usage}
		}
		if !flagGiven(fs, "assignee") {
			// Without the flag the name is "", which unassigns: a forgotten flag would
			// take the task off its collector's worklist.
			return usageError{"-assignee: is required (-assignee \"\" gives the task to the team)\n" + usage}
		}
		body = map[string]string{"assignee": *assignee}
	case "show":
		if len(args) > 2 {
			return usageError{usage}
		}
		method, path = http.MethodGet, "/v1/tasks/"+id
	default:
		return usageError{usage}
	}
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if err := callAPI(ctx, method, path, payload, &buf); err != nil {
		return err
	}
	var t taskView
	if err := json.Unmarshal(buf.Bytes(), &t); err != nil {
		return fmt.Errorf("reading the task: %w", err)
	}
	line := fmt.Sprintf("task %d (%s, customer %s", t.ID, t.Kind, t.CustomerID)
	if t.InvoiceID != "" {
		line += ", invoice " + t.InvoiceID
	}
	line += "): " + t.Status
	if t.Outcome != "" {
		line += ", " + t.Outcome + " by " + t.CompletedBy
	}
	if t.Assignee != "" {
		line += ", assigned to " + t.Assignee
	}
	if _, err := fmt.Fprintln(out, printable(line)); err != nil {
		return err
	}
	if p, ok := t.Details["phone"].(string); ok && p != "" {
		if _, err := fmt.Fprintln(out, "phone: "+printable(p)); err != nil {
			return err
		}
	}
	if s, ok := t.Details["voicemail_script"].(string); ok && s != "" {
		if _, err := fmt.Fprintln(out, "voicemail script: "+printable(s)); err != nil {
			return err
		}
	}
	return nil
}

// flagGiven reports whether the flag name was on the command line (its value may be
// the default).
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
