package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/auth"
)

// TestIssueSelectsPolicy: the invoice's explicit policy, else its customer segment's
// (policies/segments.yaml), else the default; an unknown explicit policy is a 400.
func TestIssueSelectsPolicy(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore)
	issuer, _ := newKey(t, testStore, auth.ScopeInvoicesWrite)
	body := func(id, segment, pol string) string {
		return fmt.Sprintf(`{"id": %q, "customer": {"id": "C-1", "name": "Ada", "email": "ada@example.com",
			"timezone": "Europe/Paris", "segment": %q}, "currency": "EUR", "amount_due": "100.00",
			"issued_at": "2026-03-01T10:00:00Z", "due_date": "2026-03-31", "policy": %q}`, id, segment, pol)
	}
	for _, c := range []struct{ segment, policy, want string }{
		{"key-accounts", "", "gentle"},
		{"high-risk", "", "strict"},
		{"key-accounts", "demo", "demo"}, // explicit wins
		{"unmapped", "", "standard"},
		{"", "", "standard"},
	} {
		a := call(t, srv, "POST", "/v1/invoices", body(uid("INV"), c.segment, c.policy), bearer(issuer)...)
		require.Equal(t, http.StatusCreated, a.code, string(a.body))
		var resp IssueResponse
		require.NoError(t, json.Unmarshal(a.body, &resp))
		require.Equal(t, c.want, resp.Policy.ID, "segment %q, policy %q", c.segment, c.policy)
	}
	a := call(t, srv, "POST", "/v1/invoices", body(uid("INV"), "key-accounts", "nope"), bearer(issuer)...)
	require.Equal(t, http.StatusBadRequest, a.code, string(a.body))
	require.Contains(t, a.errorText(t), `policy: unknown policy "nope"`)
}
