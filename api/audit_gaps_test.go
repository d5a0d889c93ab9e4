package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/internal/ledgertest"
	"github.com/dunwell/dunwell/ledger"
)

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
