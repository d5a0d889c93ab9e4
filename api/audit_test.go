package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

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

// TestSignInIsAudited: a sign-in is in the trail before it is answered, started or
// refused; a session whose entry cannot be written is not handed out.
func TestSignInIsAudited(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := ledgertest.OnNewDatabase(t, testPG) // its own trail, to count refusals in
	srv := newTestServer(t, store)
	token, k := newKey(t, store, auth.ScopeRead)

	a := call(t, srv, "POST", "/v1/session", "", bearer(token)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	trail, err := store.ListKeyAudit(ctx, k.ID)
	require.NoError(t, err)
	last := trail[len(trail)-1]
	require.Equal(t, ledger.AuditSessionStart, last.Action)
	require.Equal(t, ledger.AuditStarted, last.Outcome)
	require.Equal(t, k.Name, last.KeyName)
	require.NotContains(t, last.Details, "token")

	wrong := "dw_" + strings.Repeat("w", 43)
	require.Equal(t, http.StatusUnauthorized, call(t, srv, "POST", "/v1/session", "", bearer(wrong)...).code)
	require.Equal(t, http.StatusUnauthorized, call(t, srv, "POST", "/v1/session", "").code)
	rows, err := store.Pool().Query(ctx, `SELECT reason, details->>'status' FROM audit_log WHERE action = $1 AND outcome = $2 ORDER BY id`,
		ledger.AuditSessionStart, ledger.AuditRejected)
	require.NoError(t, err)
	type refusal struct{ reason, status string }
	var got []refusal
	for rows.Next() {
		var r refusal
		require.NoError(t, rows.Scan(&r.reason, &r.status))
		got = append(got, r)
	}
	require.NoError(t, rows.Err())
	require.Len(t, got, 2)
	require.Equal(t, refusal{"invalid API key", "401"}, got[0])
	require.Equal(t, "401", got[1].status)
	var trailText strings.Builder
	require.NoError(t, json.NewEncoder(&trailText).Encode(got))
	require.NotContains(t, trailText.String(), wrong, "no token in the trail")

	// The trail refuses sign-ins: no cookie is handed out.
	_, err = store.Pool().Exec(ctx, `
		CREATE FUNCTION refuse_sign_in() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.action = 'session.start' THEN RAISE EXCEPTION 'audit unavailable'; END IF; RETURN NEW; END $$;
		CREATE TRIGGER refuse_sign_in BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_sign_in();`)
	require.NoError(t, err)
	a = call(t, srv, "POST", "/v1/session", "", bearer(token)...)
	require.Equal(t, http.StatusServiceUnavailable, a.code, string(a.body))
	require.Empty(t, a.header.Values("Set-Cookie"))
	require.Contains(t, a.errorText(t), "no session was started")
	// The sign-in form gets the same refusal as a page.
	f := postForm(t, srv, url.Values{"key": {token}, "next": {"/bank"}}, "Sec-Fetch-Site", "same-origin")
	require.Equal(t, http.StatusServiceUnavailable, f.code, string(f.body))
	require.Empty(t, f.header.Values("Set-Cookie"))
	require.Empty(t, f.header.Get("Location"))
	require.Contains(t, string(f.body), "Sign-in failed: cannot record the sign-in right now; no session was started")
	require.Contains(t, string(f.body), `href="/bank"`)
}

// timeoutUpdates is the fake Temporal whose updates do not answer in time.
type timeoutUpdates struct{ *fakeTemporal }

func (timeoutUpdates) UpdateWorkflow(context.Context, client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	return nil, serviceerror.NewDeadlineExceeded("update did not complete in time")
}

// TestMayHaveBeenAppliedIsAudited: a payment or an operator action answered 503 ("it
// may have been applied") is in the trail with the outcome unknown.
func TestMayHaveBeenAppliedIsAudited(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore, func(s *Server) { s.Temporal = timeoutUpdates{s.Temporal.(*fakeTemporal)} })
	admin, k := newKey(t, testStore, auth.AllScopes()...)
	inv := uid("INV")
	require.Equal(t, http.StatusCreated, call(t, srv, "POST", "/v1/invoices", invoiceJSON(inv, "100.00"), bearer(admin)...).code)

	a := call(t, srv, "POST", "/v1/invoices/"+inv+"/payments", paymentJSON("pay_slow", "25.00", "EUR"), bearer(admin)...)
	require.Equal(t, http.StatusServiceUnavailable, a.code, string(a.body))
	a = call(t, srv, "POST", "/v1/invoices/"+inv+"/pause", `{"reason": "customer asked"}`, bearer(admin)...)
	require.Equal(t, http.StatusServiceUnavailable, a.code, string(a.body))

	trail, err := testStore.ListAudit(context.Background(), inv)
	require.NoError(t, err)
	require.Len(t, trail, 3)
	for i, want := range []struct{ action, reason string }{
		{ledger.AuditApplyPayment, "applying the payment did not complete: payment pay_slow"},
		{"invoice.pause", "applying invoice.pause did not complete"},
	} {
		e := trail[i+1]
		require.Equal(t, want.action, e.Action)
		require.Equal(t, ledger.AuditUnknown, e.Outcome)
		require.Equal(t, want.reason, e.Reason)
		require.Equal(t, k.ID, e.KeyID)
		require.EqualValues(t, http.StatusServiceUnavailable, e.Details["status"])
	}
	require.Equal(t, "pay_slow", trail[1].Details["payment_id"])
}
