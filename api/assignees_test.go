package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/policy"
)

func readAssignee(t *testing.T, a answer) AssigneeView {
	t.Helper()
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	var v AssigneeView
	require.NoError(t, json.Unmarshal(a.body, &v))
	return v
}

// TestAssigneeByHand: an operator puts a customer in a collector's portfolio and
// takes it out again; each change is audited and in the customer's timeline; names
// that are not collectors, unknown customers and bad bodies change nothing.
func TestAssigneeByHand(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore)
	admin, _ := newKey(t, testStore, auth.AllScopes()...)
	operator, op := newKey(t, testStore, auth.ScopeOperator)
	reader, readKey := newKey(t, testStore, auth.ScopeRead)
	_, collector := newKey(t, testStore, auth.ScopeOperator, auth.ScopeRead)
	cust := uid("C")
	issueFor(t, srv, admin, cust, "100.00")
	path := "/v1/customers/" + cust + "/assignee"

	v := readAssignee(t, call(t, srv, http.MethodPut, path, fmt.Sprintf(`{"assignee": %q}`, collector.Name), bearer(operator)...))
	require.Equal(t, AssigneeView{CustomerID: cust, Assignee: collector.Name, Source: ledger.AssignedByHand,
		AssignedBy: "key:" + op.Name, AssignedAt: v.AssignedAt}, v)
	got, ok, err := testStore.Assignee(t.Context(), cust)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, collector.Name, got.Collector)
	portfolio, err := testStore.Portfolio(t.Context(), collector.Name)
	require.NoError(t, err)
	require.Equal(t, []string{cust}, portfolio)

	for name, c := range map[string]struct {
		path, body, key string
		code            int
		field           string
	}{
		"read scope only":   {path, fmt.Sprintf(`{"assignee": %q}`, collector.Name), reader, http.StatusForbidden, ""},
		"no assignee":       {path, `{}`, operator, http.StatusBadRequest, "assignee"},
		"unknown field":     {path, `{"collector": "x"}`, operator, http.StatusBadRequest, "collector"},
		"not a key":         {path, `{"assignee": "nobody-such"}`, operator, http.StatusUnprocessableEntity, "assignee"},
		"key without scope": {path, fmt.Sprintf(`{"assignee": %q}`, readKey.Name), operator, http.StatusUnprocessableEntity, "assignee"},
		"not a name":        {path, `{"assignee": "9 lives"}`, operator, http.StatusUnprocessableEntity, "assignee"},
		"a name too long":   {path, fmt.Sprintf(`{"assignee": %q}`, strings.Repeat("ü", 3000)), operator, http.StatusUnprocessableEntity, "assignee"},
		"a NUL":             {path, `{"assignee": "ada\u0000"}`, operator, http.StatusBadRequest, "assignee"},
		"unknown customer":  {"/v1/customers/" + uid("C") + "/assignee", fmt.Sprintf(`{"assignee": %q}`, collector.Name), operator, http.StatusNotFound, ""},
	} {
		a := call(t, srv, http.MethodPut, c.path, c.body, bearer(c.key)...)
		require.Equal(t, c.code, a.code, "%s: %s", name, a.body)
		if c.field != "" {
			var e ErrorBody
			require.NoError(t, json.Unmarshal(a.body, &e))
			require.Contains(t, e.Fields, c.field, name)
		}
	}
	got, _, err = testStore.Assignee(t.Context(), cust)
	require.NoError(t, err)
	require.Equal(t, collector.Name, got.Collector, "a refused assignment changes nothing")
	require.NotContains(t, srv.logs.String(), "Recording the audit entry failed", "every refusal is audited")

	v = readAssignee(t, call(t, srv, http.MethodDelete, path, "", bearer(operator)...))
	require.Equal(t, "", v.Assignee)
	require.Equal(t, ledger.AssignedByHand, v.Source)

	tl := readTimeline(t, srv, admin, cust, "?kind=operator_action")
	var summaries []string
	for _, e := range tl.Entries {
		summaries = append(summaries, e.Summary)
	}
	require.Contains(t, summaries, "key:"+op.Name+": unassigned from every collector")
	require.Contains(t, summaries, "key:"+op.Name+": assigned to collector "+collector.Name)
	require.Contains(t, summaries, "key:"+op.Name+": customer.assign (rejected): \"nobody-such\" is not a collector: no active API key of that name has the operator scope")
}

// TestAssigneeByRule: a customer whose segment has a collector rule joins that
// portfolio with its first invoice; a rule never overrides a hand choice, not even
// "nobody"; a rule naming no collector leaves the customer unassigned.
func TestAssigneeByRule(t *testing.T) {
	t.Parallel()
	_, collector := newKey(t, testStore, auth.ScopeOperator)
	srv := newTestServer(t, testStore, func(s *Server) {
		s.Policies.SetCollectors(policy.Collectors{"vip": collector.Name, "ghosts": "no-such-collector"})
	})
	admin, _ := newKey(t, testStore, auth.AllScopes()...)
	issue := func(customer, segment string) {
		body := fmt.Sprintf(`{"id": %q, "customer": {"id": %q, "name": "Ada", "email": "ada@example.com",
			"timezone": "Europe/Paris", "segment": %q}, "currency": "EUR", "amount_due": "10.00",
			"issued_at": "2026-03-01T10:00:00Z", "due_date": "2026-03-31"}`, uid("INV"), customer, segment)
		a := call(t, srv, http.MethodPost, "/v1/invoices", body, bearer(admin)...)
		require.Equal(t, http.StatusCreated, a.code, string(a.body))
	}
	vip := uid("C")
	issue(vip, "vip")
	a, ok, err := testStore.Assignee(t.Context(), vip)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, ledger.Assignment{CustomerID: vip, Collector: collector.Name, Source: ledger.AssignedByRule,
		Rule: "segment:vip", AssignedBy: "dunwell", AssignedAt: a.AssignedAt}, a)
	tl := readTimeline(t, srv, admin, vip, "?kind=operator_action")
	require.NotEmpty(t, tl.Entries)
	require.Equal(t, "Assigned to collector "+collector.Name+" by the rule for segment vip", tl.Entries[0].Summary)
	require.Equal(t, "dunwell", tl.Entries[0].Actor)

	// By hand, nobody: the next invoice's rule leaves it so.
	v := readAssignee(t, call(t, srv, http.MethodDelete, "/v1/customers/"+vip+"/assignee", "", bearer(admin)...))
	require.Equal(t, "", v.Assignee)
	issue(vip, "vip")
	a, _, err = testStore.Assignee(t.Context(), vip)
	require.NoError(t, err)
	require.Equal(t, ledger.AssignedByHand, a.Source)
	require.Equal(t, "", a.Collector)

	ghost := uid("C")
	issue(ghost, "ghosts")
	_, ok, err = testStore.Assignee(t.Context(), ghost)
	require.NoError(t, err)
	require.False(t, ok, "a rule naming no collector assigns nobody")
	require.Contains(t, srv.logs.String(), "Assigning the customer by rule failed")
}
