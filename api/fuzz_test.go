package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dunwell/dunwell/auth"
)

// FuzzIssueInvoiceDecode feeds arbitrary bytes to POST /v1/invoices with a valid
// key, through the real middleware, handler and ledger (Temporal faked): the answer
// is never a 5xx (a panic would be a 500 from the recoverer) and always JSON.
func FuzzIssueInvoiceDecode(f *testing.F) {
	srv := newTestServer(f, testStore, func(s *Server) { s.MaxBodyBytes = 64 << 10 })
	token, _ := newKey(f, testStore, auth.ScopeInvoicesWrite)
	for _, seed := range []string{
		invoiceJSON("INV-FUZZ-1", "1250.00"),
		invoiceJSON("INV-FUZZ-1", "1250.01"),
		invoiceJSON("INV-FUZZ-2", "-1"),
		invoiceJSON("INV-FUZZ-3", "1e400"),
		invoiceJSON("INV-FUZZ-4\u0000", "1.00"),
		strings.Replace(invoiceJSON("INV-FUZZ-5", "1.00"), `"Ada"`, `"A\u0000da"`, 1),
		strings.Replace(invoiceJSON("INV-FUZZ-6", "1.00"), `"Europe/Paris"`, `"../../etc/passwd"`, 1),
		strings.Replace(invoiceJSON("INV-FUZZ-7", "1.00"), `"due_date": "2026-03-31"`, `"due_date": "99999-99-99"`, 1),
		strings.Replace(invoiceJSON("INV-FUZZ-8", "1.00"), `"EUR"`, `"\ud800"`, 1),
		``, `null`, `[]`, `{}`, `{"id": 1}`, `{"id": "x", "id": "y"}`, `{"customer": null}`,
		`{"metadata": {"a": 1}}`, `{} {}`, `{"unknown": true}`, strings.Repeat("[", 10000),
		"\xff\xfe", `{"amount_due": "` + strings.Repeat("9", 5000) + `"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, srv.URL+"/v1/invoices", strings.NewReader(string(body)))
		req.RequestURI = ""
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			t.Fatalf("HTTP %d for %q: %s", resp.StatusCode, body, out)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type %q for %q", ct, body)
		}
	})
}
