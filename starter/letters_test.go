package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLettersCommands(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.RequestURI())
		switch r.URL.Path {
		case "/v1/letters/7/pdf":
			w.Header().Set("Content-Type", "application/pdf")
			_, _ = io.WriteString(w, "%PDF-1.3 letter")
		case "/v1/letters/7/mailed":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":7,"status":"mailed"}`)
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"letters":[{"id":7,"invoice_id":"INV-1","customer_id":"C-1","step":"letter-7","status":"to_print","claimed_at":"2026-12-07T10:00:00Z"}]}`)
		}
	}))
	t.Cleanup(srv.Close)
	t.Setenv("DUNWELL_API_URL", srv.URL)
	t.Setenv("DUNWELL_API_KEY", "k-test")
	ctx := context.Background()

	var out bytes.Buffer
	require.NoError(t, lettersCmd(ctx, nil, &out))
	require.Contains(t, out.String(), "to_print")
	require.Contains(t, out.String(), "INV-1")
	out.Reset()
	require.NoError(t, lettersCmd(ctx, []string{"-status", "all", "-customer", "C-1"}, &out))

	file := filepath.Join(t.TempDir(), "letter.pdf")
	out.Reset()
	require.NoError(t, letterCmd(ctx, []string{"pdf", "7", "-o", file}, &out))
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, "%PDF-1.3 letter", string(b))
	out.Reset()
	require.NoError(t, letterCmd(ctx, []string{"mailed", "7"}, &out))
	require.Contains(t, out.String(), "mailed")
	require.Equal(t, []string{
		"GET /v1/letters?limit=500&status=to_print",
		"GET /v1/letters?customer_id=C-1&limit=500",
		"GET /v1/letters/7/pdf",
		"POST /v1/letters/7/mailed",
	}, seen)

	var ue usageError
	for _, args := range [][]string{nil, {"pdf"}, {"pdf", "x", "-o", "f"}, {"pdf", "7"}, {"mailed", "7", "extra"}, {"print", "7"}} {
		require.ErrorAs(t, letterCmd(ctx, args, &out), &ue, "%q", args)
	}
	require.ErrorAs(t, lettersCmd(ctx, []string{"extra"}, &out), &ue)
	require.Len(t, seen, 4, "no request for bad arguments")
}
