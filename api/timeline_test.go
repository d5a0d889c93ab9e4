package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/ledger"
)

// issueFor issues an invoice of customer through the API and returns its id.
func issueFor(t *testing.T, srv *testServer, token, customer, amount string) string {
	t.Helper()
	id := uid("INV")
	body := fmt.Sprintf(`{"id": %q, "customer": {"id": %q, "name": "Ada", "email": "ada@example.com",
		"timezone": "Europe/Paris"}, "currency": "EUR", "amount_due": %q,
		"issued_at": "2026-03-01T10:00:00Z", "due_date": "2026-03-31"}`, id, customer, amount)
	a := call(t, srv, http.MethodPost, "/v1/invoices", body, bearer(token)...)
	require.Equal(t, http.StatusCreated, a.code, string(a.body))
	return id
}

func readTimeline(t *testing.T, srv *testServer, token, customer, query string) TimelineResponse {
	t.Helper()
	a := call(t, srv, http.MethodGet, "/v1/customers/"+customer+"/timeline"+query, "", bearer(token)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	var out TimelineResponse
	require.NoError(t, json.Unmarshal(a.body, &out))
	return out
}

func TestTimelineWithNotes(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore)
	admin, _ := newKey(t, testStore, auth.AllScopes()...)
	operator, ok := newKey(t, testStore, auth.ScopeOperator)
	reader, _ := newKey(t, testStore, auth.ScopeRead)
	cust := uid("C")
	first := issueFor(t, srv, admin, cust, "100.00")
	second := issueFor(t, srv, admin, cust, "50.00")

	// A payment the workflow recorded, and an operator's dispute through the API.
	_, err := testStore.RecordPayment(t.Context(), ledger.PaymentRecord{InvoiceID: second, PaymentID: "pay-1", Currency: "EUR",
		Amount: 5000, Applied: 5000, PaidAt: time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC),
		AppliedAt: time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC), Status: ledger.StatusPaid})
	require.NoError(t, err)
	a := call(t, srv, http.MethodPost, "/v1/invoices/"+first+"/dispute", `{"dispute_id": "d1", "reason": "not delivered"}`, bearer(admin)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))

	// The operator's note, on the first invoice: 201 with the note, audited.
	a = call(t, srv, http.MethodPost, "/v1/customers/"+cust+"/notes",
		fmt.Sprintf(`{"text": "Called Ada.\nShe will pay on Friday.", "invoice_id": %q}`, first), bearer(operator)...)
	require.Equal(t, http.StatusCreated, a.code, string(a.body))
	var note ledger.Note
	require.NoError(t, json.Unmarshal(a.body, &note))
	require.NotZero(t, note.NoteID)
	require.Equal(t, cust, note.CustomerID)
	require.Equal(t, first, note.InvoiceID)
	require.Equal(t, "key:"+ok.Name, note.Author)
	require.Equal(t, "Called Ada.\nShe will pay on Friday.", note.Text)
	a = call(t, srv, http.MethodGet, "/v1/invoices/"+first+"/audit", "", bearer(reader)...)
	require.Equal(t, http.StatusOK, a.code)
	var trail AuditResponse
	require.NoError(t, json.Unmarshal(a.body, &trail))
	last := trail.Entries[len(trail.Entries)-1]
	require.Equal(t, ledger.AuditNoteCreate, last.Action)
	require.Equal(t, ledger.AuditCreated, last.Outcome)
	require.Equal(t, ok.Name, last.KeyName)
	require.Equal(t, cust, last.Details["customer_id"])
	require.NotContains(t, string(a.body), "Friday", "the audit trail never holds the note's text")

	// A note about the customer as a whole.
	a = call(t, srv, http.MethodPost, "/v1/customers/"+cust+"/notes", `{"text": "Prefers phone calls"}`, bearer(operator)...)
	require.Equal(t, http.StatusCreated, a.code, string(a.body))

	tl := readTimeline(t, srv, reader, cust, "")
	require.Equal(t, cust, tl.CustomerID)
	require.Empty(t, tl.NextBefore)
	var kinds []string
	byKind := map[string][]TimelineEntry{}
	for _, e := range tl.Entries {
		kinds = append(kinds, e.Kind)
		byKind[e.Kind] = append(byKind[e.Kind], e)
		require.NotEmpty(t, e.Summary)
		require.NotEmpty(t, e.Cursor)
	}
	// Newest first: the notes (written now), the dispute call (now), the payment
	// (2026-03-20), the invoices' issue calls (now) and the invoices (2026-03-01).
	require.ElementsMatch(t, []string{"note", "note", "operator_action", "operator_action", "operator_action",
		"payment", "invoice", "invoice"}, kinds)
	require.Equal(t, "note", kinds[0])
	require.Equal(t, []string{"payment", "invoice", "invoice"}, kinds[len(kinds)-3:])
	require.Equal(t, "Note: Prefers phone calls", byKind["note"][0].Summary)
	require.Equal(t, "Note on invoice "+first+": Called Ada. …", byKind["note"][1].Summary)
	require.Equal(t, "key:"+ok.Name, byKind["note"][1].Actor)
	pay := byKind["payment"][0]
	require.Equal(t, "Payment of 50.00 EUR received for invoice "+second+"; balance now 0.00 EUR", pay.Summary)
	require.Equal(t, "50.00", pay.Details["amount"], "money is a decimal string")
	require.NotContains(t, pay.Details, "amount_minor")
	require.Equal(t, "customer", pay.Actor)

	// Pages of two, and a kind filter.
	var paged []TimelineEntry
	query := "?limit=2"
	for {
		page := readTimeline(t, srv, reader, cust, query)
		paged = append(paged, page.Entries...)
		if page.NextBefore == "" {
			break
		}
		require.Len(t, page.Entries, 2)
		query = "?limit=2&before=" + url.QueryEscape(page.NextBefore)
	}
	require.Equal(t, tl.Entries, paged)
	notes := readTimeline(t, srv, reader, cust, "?kind=note,payment")
	require.Len(t, notes.Entries, 3)
	notes = readTimeline(t, srv, reader, cust, "?kind=note&kind=invoice&before=2026-03-02T00:00:00Z")
	require.Len(t, notes.Entries, 2)
	require.Equal(t, "invoice", notes.Entries[0].Kind)
}

func TestTimelineRefusals(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore)
	admin, _ := newKey(t, testStore, auth.AllScopes()...)
	reader, _ := newKey(t, testStore, auth.ScopeRead)
	cust := uid("C")
	issueFor(t, srv, admin, cust, "10.00")
	for query, fields := range map[string][]string{
		"?limit=0":                      {"limit"},
		"?limit=501":                    {"limit"},
		"?limit=ten":                    {"limit"},
		"?limit=1&limit=2":              {"limit"},
		"?before=yesterday":             {"before"},
		"?before=eyJhdCI6Im5vIn0":       {"before"},
		"?kind=gossip":                  {"kind"},
		"?kind=note,":                   {"kind"},
		"?page=2&kind=note&limit=-1":    {"page", "limit"},
		"?before=2026-01-01&kind=calls": {"before", "kind"},
	} {
		a := call(t, srv, http.MethodGet, "/v1/customers/"+cust+"/timeline"+query, "", bearer(reader)...)
		require.Equal(t, http.StatusBadRequest, a.code, "%s: %s", query, a.body)
		var e ErrorBody
		require.NoError(t, json.Unmarshal(a.body, &e))
		require.Len(t, e.Fields, len(fields), "%s: %v", query, e.Fields)
		for _, f := range fields {
			require.Contains(t, e.Fields, f, query)
			require.Contains(t, e.Error, f+":", query)
		}
	}
	for _, path := range []string{"/v1/customers/" + uid("nobody") + "/timeline", "/v1/customers/%20bad/timeline"} {
		a := call(t, srv, http.MethodGet, path, "", bearer(reader)...)
		require.Equal(t, http.StatusNotFound, a.code, path)
		require.Contains(t, a.errorText(t), "unknown customer")
	}
}

func TestNoteRefusals(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore)
	admin, _ := newKey(t, testStore, auth.AllScopes()...)
	operator, _ := newKey(t, testStore, auth.ScopeOperator)
	reader, _ := newKey(t, testStore, auth.ScopeRead)
	cust, other := uid("C"), uid("C")
	mine := issueFor(t, srv, admin, cust, "10.00")
	theirs := issueFor(t, srv, admin, other, "10.00")
	path := "/v1/customers/" + cust + "/notes"

	for _, tc := range []struct {
		name, path, body string
		code             int
		field, reason    string
	}{
		{"empty text", path, `{"text": ""}`, http.StatusBadRequest, "text", "must not be empty"},
		{"no text", path, `{}`, http.StatusBadRequest, "text", "must not be empty"},
		{"white space", path, `{"text": " \n\t "}`, http.StatusBadRequest, "text", "must not be empty"},
		{"too long", path, fmt.Sprintf(`{"text": %q}`, strings.Repeat("x", 4001)), http.StatusBadRequest, "text", "must be at most 4000 characters (has 4001)"},
		{"control character", path, `{"text": "ring \u0007"}`, http.StatusBadRequest, "text", "must not contain control characters (U+0007 at byte 5)"},
		{"text not a string", path, `{"text": 42}`, http.StatusBadRequest, "text", "must be a JSON string"},
		{"malformed invoice id", path, `{"text": "hi", "invoice_id": "a b"}`, http.StatusBadRequest, "invoice_id", "must be 1-100 letters, digits, '.', '_', ':' or '-'"},
		{"unknown field", path, `{"text": "hi", "author": "me"}`, http.StatusBadRequest, "author", "is not a known field"},
		{"unknown invoice", path, fmt.Sprintf(`{"text": "hi", "invoice_id": %q}`, uid("NOPE")), http.StatusUnprocessableEntity, "invoice_id", "is not an invoice the ledger holds"},
		{"another customer's invoice", path, fmt.Sprintf(`{"text": "hi", "invoice_id": %q}`, theirs), http.StatusUnprocessableEntity, "invoice_id", "is an invoice of another customer"},
		{"unknown customer", "/v1/customers/" + uid("nobody") + "/notes", `{"text": "hi"}`, http.StatusNotFound, "", ""},
		{"unknown customer with an invoice", "/v1/customers/" + uid("nobody") + "/notes", fmt.Sprintf(`{"text": "hi", "invoice_id": %q}`, mine), http.StatusNotFound, "", ""},
		{"malformed customer id", "/v1/customers/%20x/notes", `{"text": "hi"}`, http.StatusNotFound, "", ""},
		{"malformed JSON", path, `{"text": `, http.StatusBadRequest, "", ""},
		{"empty body", path, ``, http.StatusBadRequest, "", ""},
		{"trailing data", path, `{"text": "hi"} {}`, http.StatusBadRequest, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := call(t, srv, http.MethodPost, tc.path, tc.body, bearer(operator)...)
			require.Equal(t, tc.code, a.code, string(a.body))
			var e ErrorBody
			require.NoError(t, json.Unmarshal(a.body, &e))
			require.NotEmpty(t, e.Error)
			if tc.field != "" {
				require.Equal(t, map[string]string{tc.field: tc.reason}, e.Fields)
				if !strings.HasPrefix(tc.reason, "is not a known") && !strings.HasPrefix(tc.reason, "must be a JSON") { // decode's own wording
					require.Contains(t, e.Error, tc.field+": "+tc.reason)
				}
			}
		})
	}
	// Not JSON; a key without the operator scope; no key.
	resp, err := srv.Client().Do(newRequest(t, http.MethodPost, srv.URL+path, `text=hi`, "application/x-www-form-urlencoded", bearer(operator)))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
	require.Equal(t, http.StatusForbidden, call(t, srv, http.MethodPost, path, `{"text": "hi"}`, bearer(reader)...).code)
	require.Equal(t, http.StatusUnauthorized, call(t, srv, http.MethodPost, path, `{"text": "hi"}`).code)

	// Nothing was stored; the refusal about another customer's invoice is audited on
	// that invoice, without the text.
	tl := readTimeline(t, srv, reader, cust, "?kind=note")
	require.Empty(t, tl.Entries)
	a := call(t, srv, http.MethodGet, "/v1/invoices/"+theirs+"/audit", "", bearer(reader)...)
	var trail AuditResponse
	require.NoError(t, json.Unmarshal(a.body, &trail))
	last := trail.Entries[len(trail.Entries)-1]
	require.Equal(t, ledger.AuditNoteCreate, last.Action)
	require.Equal(t, ledger.AuditRejected, last.Outcome)
	require.Equal(t, cust, last.Details["customer_id"])
	require.EqualValues(t, http.StatusUnprocessableEntity, last.Details["status"])
}

// TestOpenAPIListsEveryTimelineKind keeps the TimelineKind enum of api/openapi.yaml in
// step with the kinds the ledger writes.
func TestOpenAPIListsEveryTimelineKind(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("openapi.yaml")
	require.NoError(t, err)
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Enum []string `yaml:"enum"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	require.NoError(t, yaml.Unmarshal(data, &doc))
	require.ElementsMatch(t, ledger.TimelineKinds, doc.Components.Schemas["TimelineKind"].Enum)
}
