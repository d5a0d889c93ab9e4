package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTimelineTable(t *testing.T) {
	seen := fakeAPI(t, `{"customer_id":"C-42","entries":[
		{"at":"2026-03-05T09:30:00Z","kind":"note","actor":"key:ops","summary":"Note: Called.\nWill pay","details":{},"cursor":"c1"},
		{"at":"2026-03-01T10:00:00Z","kind":"invoice","invoice_id":"INV-1","actor":"","summary":"Invoice INV-1 issued: 120.00 EUR due 2026-03-31","details":{},"cursor":"c2"}],
		"next_before":"c2"}`)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"timeline", "C-42", "-limit", "2", "-kind", "note,invoice"}, nil, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	require.Equal(t, []string{"/v1/customers/C-42/timeline?kind=note%2Cinvoice&limit=2"}, *seen)
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.Len(t, lines, 5, stdout.String())
	require.Regexp(t, `^at \(UTC\)\s+kind\s+invoice\s+actor\s+summary$`, lines[0])
	require.Regexp(t, `^2026-03-05 09:30\s+note\s+-\s+key:ops\s+Note: Called\. Will pay$`, lines[1], "one line per entry")
	require.Regexp(t, `^2026-03-01 10:00\s+invoice\s+INV-1\s+-\s+Invoice INV-1 issued: 120\.00 EUR due 2026-03-31$`, lines[2])
	require.Equal(t, "older entries: starter timeline C-42 -before c2", lines[4])

	// The flags may come first; --json prints the API's answer.
	*seen = nil
	stdout.Reset()
	require.NoError(t, timelineCmd(context.Background(), []string{"-before", "2026-03-02T00:00:00Z", "--json", "C-42"}, &stdout))
	require.Equal(t, []string{"/v1/customers/C-42/timeline?before=2026-03-02T00%3A00%3A00Z"}, *seen)
	require.True(t, json.Valid(stdout.Bytes()))

	fakeAPI(t, `{"customer_id":"C-7","entries":[]}`)
	stdout.Reset()
	require.NoError(t, timelineCmd(context.Background(), []string{"C-7"}, &stdout))
	require.Equal(t, "nothing in the timeline of C-7\n", stdout.String())
}

func TestNoteSendsTheText(t *testing.T) {
	var gotPath string
	var gotBody map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath = r.Method + " " + r.URL.Path
		data, _ := io.ReadAll(r.Body)
		gotBody = map[string]any{}
		_ = json.Unmarshal(data, &gotBody)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"note_id":7,"customer_id":"C-42","invoice_id":"INV-1","text":"x","author":"key:ops","created_at":"2026-03-05T09:30:00Z"}`)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("DUNWELL_API_URL", srv.URL)
	t.Setenv("DUNWELL_API_KEY", "dw_test")

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"note", "C-42", "-text", "Called: will pay Friday", "-invoice", "INV-1"}, nil, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	require.Equal(t, "POST /v1/customers/C-42/notes", gotPath)
	require.Equal(t, map[string]any{"text": "Called: will pay Friday", "invoice_id": "INV-1"}, gotBody)
	require.Equal(t, "note 7 added for C-42, invoice INV-1 by key:ops at 2026-03-05T09:30:00Z\n", stdout.String())

	stdout.Reset()
	require.NoError(t, noteCmd(context.Background(), []string{"C-42", "-text", "Prefers calls"}, &stdout))
	require.Equal(t, map[string]any{"text": "Prefers calls"}, gotBody)
}

func TestTimelineAndNoteRefusals(t *testing.T) {
	t.Setenv("DUNWELL_API_URL", "http://127.0.0.1:1")
	for _, args := range [][]string{
		{"timeline"},
		{"timeline", "C-1", "C-2"},
		{"timeline", "C-1", "-limit", "0"},
		{"timeline", "C-1", "-limit", "501"},
		{"timeline", "C-1", "-colour", "red"},
		{"note", "C-1"},
		{"note", "C-1", "-text", "   "},
		{"note", "-text", "hi"},
	} {
		var stdout, stderr bytes.Buffer
		require.Equal(t, 2, run(context.Background(), args, nil, &stdout, &stderr), "%v", args)
		require.Contains(t, stderr.String(), "usage: starter "+args[0], "%v", args)
	}

	// The API's refusal, with the field it names.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = io.WriteString(w, `{"error":"invalid note: invoice_id: is an invoice of another customer","fields":{"invoice_id":"is an invoice of another customer"}}`)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("DUNWELL_API_URL", srv.URL)
	var stdout, stderr bytes.Buffer
	require.Equal(t, 1, run(context.Background(), []string{"note", "C-1", "-text", "hi", "-invoice", "INV-9"}, nil, &stdout, &stderr))
	require.Contains(t, stderr.String(), "invoice_id: is an invoice of another customer")
	require.Contains(t, stderr.String(), "HTTP 422")
}
