package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOperatorActionsCallTheirRoutes checks that each CLI action sends the documented
// body to its route with the API key, and prints the answer.
func TestOperatorActionsCallTheirRoutes(t *testing.T) {
	var gotPath, gotAuth string
	var gotBody map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotAuth = r.Method+" "+r.URL.Path, r.Header.Get("Authorization")
		data, _ := io.ReadAll(r.Body)
		gotBody = map[string]any{}
		_ = json.Unmarshal(data, &gotBody)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"invoice_id":"INV-1","status":"paused"}`))
	}))
	defer srv.Close()
	t.Setenv("DUNWELL_API_URL", srv.URL)
	t.Setenv("DUNWELL_API_KEY", "dw_test")

	cases := []struct {
		args []string
		path string
		body map[string]any
	}{
		{[]string{"pause", "INV-1", "-reason", "on holiday", "-until", "2026-12-24"}, "POST /v1/invoices/INV-1/pause",
			map[string]any{"reason": "on holiday", "until": "2026-12-24"}},
		{[]string{"resume", "INV-1"}, "POST /v1/invoices/INV-1/resume", map[string]any{"reason": ""}},
		{[]string{"dispute", "INV-1", "-reason", "damaged", "-id", "d-1"}, "POST /v1/invoices/INV-1/dispute",
			map[string]any{"dispute_id": "d-1", "reason": "damaged"}},
		{[]string{"resolve-dispute", "INV-1", "-outcome", "upheld", "-adjust", "10.00"}, "POST /v1/invoices/INV-1/dispute/resolve",
			map[string]any{"outcome": "upheld", "adjust_amount": "10.00"}},
		{[]string{"promise", "INV-1", "-date", "2026-12-10", "-amount", "100.00"}, "POST /v1/invoices/INV-1/promise",
			map[string]any{"date": "2026-12-10", "amount": "100.00"}},
		{[]string{"plan", "INV-1", "-installment", "2026-12-10=50.00", "-installment", "2027-01-10=50.00", "-grace", "3"}, "POST /v1/invoices/INV-1/plan",
			map[string]any{"installments": []any{map[string]any{"due_date": "2026-12-10", "amount": "50.00"}, map[string]any{"due_date": "2027-01-10", "amount": "50.00"}}, "grace_days": float64(3)}},
		{[]string{"approve", "INV-1", "-reason", "ok"}, "POST /v1/invoices/INV-1/approval/approve", map[string]any{"reason": "ok"}},
		{[]string{"reject", "INV-1"}, "POST /v1/invoices/INV-1/approval/reject", map[string]any{"reason": ""}},
		{[]string{"cancel", "INV-1", "-reason", "void"}, "POST /v1/invoices/INV-1/cancel", map[string]any{"reason": "void"}},
		{[]string{"write-off", "INV-1", "-reason", "insolvent"}, "POST /v1/invoices/INV-1/write-off", map[string]any{"reason": "insolvent"}},
		{[]string{"refund", "INV-1", "-refund-id", "r1", "-amount", "5.00", "-currency", "USD", "-kind", "chargeback"}, "POST /v1/invoices/INV-1/refunds",
			map[string]any{"refund_id": "r1", "kind": "chargeback", "amount": "5.00", "currency": "USD"}},
		{[]string{"adjust", "INV-1", "-adjustment-id", "a1", "-kind", "credit_note", "-amount", "5.00", "-currency", "USD", "-reason", "goodwill"}, "POST /v1/invoices/INV-1/adjustments",
			map[string]any{"adjustment_id": "a1", "kind": "credit_note", "amount": "5.00", "currency": "USD", "reason": "goodwill"}},
	}
	for _, tc := range cases {
		t.Run(tc.args[0], func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, nil, &stdout, &stderr)
			require.Equal(t, 0, code, stderr.String())
			require.Equal(t, tc.path, gotPath)
			require.Equal(t, "Bearer dw_test", gotAuth)
			for k, v := range tc.body {
				require.Equal(t, v, gotBody[k], k)
			}
			require.Contains(t, stdout.String(), `"status":"paused"`)
		})
	}
}

func TestOperatorActionsNeedTheirFlags(t *testing.T) {
	for _, args := range [][]string{
		{"pause", "INV-1"},                    // no reason
		{"pause"},                             // no invoice
		{"promise", "INV-1", "-date", "2026"}, // no amount
		{"plan", "INV-1", "-installment", "2026-12-10"},
		{"cancel", "INV-1", "extra"},
		{"resolve-dispute", "INV-1"},
	} {
		var stdout, stderr bytes.Buffer
		require.Equal(t, 2, run(context.Background(), args, nil, &stdout, &stderr), "%v: %s", args, stderr.String())
		require.Contains(t, stderr.String(), "usage: starter "+args[0], args)
	}
}
