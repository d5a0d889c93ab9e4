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

// statementAPI answers the statement route as the API does: JSON, or a PDF when
// asked for one; it records each request's URI, Accept and Accept-Language.
func statementAPI(t *testing.T) *[][3]string {
	t.Helper()
	var seen [][3]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, [3]string{r.URL.RequestURI(), r.Header.Get("Accept"), r.Header.Get("Accept-Language")})
		if r.Header.Get("Accept") == "application/pdf" {
			w.Header().Set("Content-Type", "application/pdf")
			_, _ = io.WriteString(w, "%PDF-1.3 ... %%EOF")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"customer_id":"C-42","as_of":"2026-12-07","currencies":[]}`)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("DUNWELL_API_URL", srv.URL)
	t.Setenv("DUNWELL_API_KEY", "k-test")
	return &seen
}

func TestStatementCommand(t *testing.T) {
	seen := statementAPI(t)
	ctx := context.Background()
	var out bytes.Buffer
	require.NoError(t, statementCmd(ctx, []string{"C-42"}, &out))
	require.JSONEq(t, `{"customer_id":"C-42","as_of":"2026-12-07","currencies":[]}`, out.String())

	file := filepath.Join(t.TempDir(), "statement.pdf")
	out.Reset()
	require.NoError(t, statementCmd(ctx, []string{"C-42", "-o", file, "-as-of", "2026-11-30", "-since", "2026-11-01", "-lang", "de-DE"}, &out))
	require.Contains(t, out.String(), "wrote "+file)
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, "%PDF-1.3 ... %%EOF", string(b))
	require.Equal(t, [][3]string{
		{"/v1/customers/C-42/statement", "application/json", ""},
		{"/v1/customers/C-42/statement?as_of=2026-11-30&since=2026-11-01", "application/pdf", "de-DE"},
	}, *seen)

	var ue usageError
	for _, args := range [][]string{nil, {"-o", "x.pdf"}, {"C-42", "extra"}, {"C-42", "-as-of", "30.11.2026"}, {"C-42", "-colour"}} {
		require.ErrorAs(t, statementCmd(ctx, args, &out), &ue, "%q", args)
	}
	require.Len(t, *seen, 2, "no request for bad arguments")
}
