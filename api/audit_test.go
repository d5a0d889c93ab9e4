package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/internal/ledgertest"
	"github.com/dunwell/dunwell/ledger"
)

// TestAuditTrail walks one invoice through every audited outcome and reads the trail
// back through GET /v1/invoices/{id}/audit.
func TestAuditTrail(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore)
	issuer, ik := newKey(t, testStore, auth.ScopeInvoicesWrite)
	payer, pk := newKey(t, testStore, auth.ScopePaymentsWrite)
	reader, _ := newKey(t, testStore, auth.ScopeRead)
	inv := uid("INV")

	steps := []struct {
		method, path, body, token string
		code                      int
	}{
		{"POST", "/v1/invoices", invoiceJSON(inv, "100.00"), issuer, http.StatusCreated},
		{"POST", "/v1/invoices", invoiceJSON(inv, "100.00"), issuer, http.StatusOK},
		{"POST", "/v1/invoices", invoiceJSON(inv, "999.00"), issuer, http.StatusConflict},
		{"POST", "/v1/invoices/" + inv + "/payments", paymentJSON("pay_1", "25.00", "EUR"), payer, http.StatusOK},
		{"POST", "/v1/invoices/" + inv + "/payments", paymentJSON("pay_1", "25.00", "EUR"), payer, http.StatusOK},
		{"POST", "/v1/invoices/" + inv + "/payments", paymentJSON("pay_2", "25.00", "USD"), payer, http.StatusUnprocessableEntity},
		// Not state-changing, not audited: a malformed body and a read.
		{"POST", "/v1/invoices/" + inv + "/payments", `{"payment_id": 1}`, payer, http.StatusBadRequest},
		{"GET", "/v1/invoices/" + inv, "", reader, http.StatusOK},
	}
	for _, st := range steps {
		a := call(t, srv, st.method, st.path, st.body, bearer(st.token)...)
		require.Equal(t, st.code, a.code, "%s %s: %s", st.method, st.path, a.body)
	}

	a := call(t, srv, "GET", "/v1/invoices/"+inv+"/audit", "", bearer(reader)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	var trail AuditResponse
	require.NoError(t, json.Unmarshal(a.body, &trail))
	require.Equal(t, inv, trail.InvoiceID)
	type row struct{ action, outcome, key, reason string }
	var got []row
	for _, e := range trail.Entries {
		reason := e.Reason
		if strings.HasPrefix(reason, "payment pay_2: currency: ") { // the wording is collection's
			reason = "payment pay_2: currency: ..."
		}
		got = append(got, row{e.Action, e.Outcome, e.KeyName, reason})
		require.Equal(t, inv, e.InvoiceID)
		require.False(t, e.At.IsZero())
		require.NotZero(t, e.KeyID)
		require.Equal(t, "bearer", e.Details["credential"])
	}
	require.Equal(t, []row{
		{ledger.AuditIssueInvoice, ledger.AuditCreated, ik.Name, ""},
		{ledger.AuditIssueInvoice, ledger.AuditExisting, ik.Name, ""},
		{ledger.AuditIssueInvoice, ledger.AuditConflict, ik.Name, "same invoice id, different details"},
		{ledger.AuditApplyPayment, ledger.AuditApplied, pk.Name, "payment pay_1"},
		{ledger.AuditApplyPayment, ledger.AuditDuplicate, pk.Name, "payment pay_1"},
		{ledger.AuditApplyPayment, ledger.AuditRejected, pk.Name, "payment pay_2: currency: ..."},
	}, got)
	require.Equal(t, "pay_1", trail.Entries[3].Details["payment_id"])
	require.EqualValues(t, 409, trail.Entries[2].Details["status"])
	require.Equal(t, "/v1/invoices/"+inv+"/payments", trail.Entries[3].Details["path"])
	// No PII and no secrets in the trail.
	for _, leak := range []string{"ada@example.com", "Ada", issuer, payer, reader} {
		require.NotContains(t, string(a.body), leak)
	}

	// An unknown invoice is 404, like on every invoice route; so is a non-id; the
	// scope is enforced.
	a = call(t, srv, "GET", "/v1/invoices/"+uid("NOPE")+"/audit", "", bearer(reader)...)
	require.Equal(t, http.StatusNotFound, a.code, string(a.body))
	require.Equal(t, http.StatusNotFound, call(t, srv, "GET", "/v1/invoices/%20/audit", "", bearer(reader)...).code)
	require.Equal(t, http.StatusForbidden, call(t, srv, "GET", "/v1/invoices/"+inv+"/audit", "", bearer(payer)...).code)
}

// TestIssueNotRecordedWithoutItsAudit: an invoice and its audit entry are one
// transaction. With the trail refusing issue entries, a new invoice is not recorded and
// no workflow starts (500), a repeat starts none either; a conflict, which changes
// nothing, is still answered and the lost entry logged.
func TestIssueNotRecordedWithoutItsAudit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := ledgertest.OnNewDatabase(t, testPG) // its own trail, to break
	token, _ := newKey(t, store, auth.ScopeInvoicesWrite)
	srv := newTestServer(t, store)
	old := uid("INV")
	require.Equal(t, http.StatusCreated, call(t, srv, "POST", "/v1/invoices", invoiceJSON(old, "5.00"), bearer(token)...).code)
	require.Equal(t, 1, srv.temporal.startCount())

	_, err := store.Pool().Exec(ctx, `
		CREATE FUNCTION refuse_issue() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.action = 'invoice.issue' THEN RAISE EXCEPTION 'audit unavailable'; END IF; RETURN NEW; END $$;
		CREATE TRIGGER refuse_issue BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_issue();`)
	require.NoError(t, err)

	inv := uid("INV")
	a := call(t, srv, "POST", "/v1/invoices", invoiceJSON(inv, "5.00"), bearer(token)...)
	require.Equal(t, http.StatusInternalServerError, a.code, string(a.body))
	_, err = store.GetInvoice(ctx, inv)
	require.ErrorIs(t, err, ledger.ErrNotFound, "the invoice was rolled back with its entry")
	events, err := store.ListInvoiceEvents(ctx, inv)
	require.NoError(t, err)
	require.Empty(t, events)
	a = call(t, srv, "POST", "/v1/invoices", invoiceJSON(old, "5.00"), bearer(token)...)
	require.Equal(t, http.StatusInternalServerError, a.code, string(a.body))
	require.Equal(t, 1, srv.temporal.startCount(), "no workflow started without its entry")

	a = call(t, srv, "POST", "/v1/invoices", invoiceJSON(old, "6.00"), bearer(token)...)
	require.Equal(t, http.StatusConflict, a.code, string(a.body))
	require.Contains(t, srv.logs.String(), "Recording the audit entry failed")
	require.NotContains(t, srv.logs.String(), token)
}

// TestSessionCookieOnTheAPI: POST /v1/session with a key, then the cookie alone reads.
func TestSessionCookieOnTheAPI(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore)
	token, _ := newKey(t, testStore, auth.ScopeRead)
	a := call(t, srv, "POST", "/v1/session", "", bearer(token)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	cookie := a.header.Get("Set-Cookie")
	require.Contains(t, cookie, auth.SessionCookie+"=")
	require.Contains(t, cookie, "HttpOnly")
	value := strings.SplitN(strings.TrimPrefix(cookie, auth.SessionCookie+"="), ";", 2)[0]

	a = call(t, srv, "GET", "/v1/invoices/"+uid("INV"), "", "Cookie", auth.SessionCookie+"="+value)
	require.Equal(t, http.StatusNotFound, a.code, "authenticated by the cookie; the invoice is unknown: %s", a.body)
	require.Equal(t, http.StatusUnauthorized, call(t, srv, "POST", "/v1/session", "").code)
}
