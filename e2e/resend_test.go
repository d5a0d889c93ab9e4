package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// TestPaymentAnswered503IsAppliedOnceWhenSentAgain: a payment that reaches Temporal
// while no worker runs is answered 503 with Retry-After (it may or may not have been
// applied). Sent again as the answer asks, once a worker is back, it is applied once:
// one update in the history, one payment in the ledger, and the answer of the first
// request (not "duplicate"), because the same payment is the same update.
func TestPaymentAnswered503IsAppliedOnceWhenSentAgain(t *testing.T) {
	id := "E2E-RESEND"
	inv := invoice(id)
	now := time.Now().UTC()
	inv["issued_at"], inv["due_date"] = now.Format(time.RFC3339), now.AddDate(0, 0, 30).Format(time.DateOnly)
	code, body := call(t, http.MethodPost, "/v1/invoices", inv)
	require.Equal(t, http.StatusCreated, code, body)
	eventually(t, 30*time.Second, "the workflow's first task", func() bool {
		code, _ := call(t, http.MethodGet, "/v1/invoices/"+id, nil)
		return code == http.StatusOK
	})

	env.worker.kill()
	restarted := false
	defer func() {
		if !restarted {
			require.NoError(t, env.worker.start())
		}
	}()
	payment := map[string]any{"payment_id": "resend-1", "amount": "1250.00", "currency": "USD"}
	code, header, raw := postRaw(t, "/v1/invoices/"+id+"/payments", payment)
	require.Equal(t, http.StatusServiceUnavailable, code, "no worker runs the invoice: %s", raw)
	require.NotEmpty(t, header.Get("Retry-After"))

	require.NoError(t, env.worker.start())
	restarted = true
	// The client sends the same request again while it is answered 503, as asked.
	for range 8 {
		if code, _, raw = postRaw(t, "/v1/invoices/"+id+"/payments", payment); code != http.StatusServiceUnavailable {
			break
		}
		time.Sleep(time.Second)
	}
	require.Equal(t, http.StatusOK, code, "%s", raw)
	var res struct {
		Duplicate bool   `json:"duplicate"`
		Status    string `json:"status"`
		Applied   string `json:"applied"`
	}
	require.NoError(t, json.Unmarshal(raw, &res))
	require.False(t, res.Duplicate, "the request sent again is the first one's update: its answer, not a duplicate's")
	require.Equal(t, "paid", res.Status)
	require.Equal(t, "1250.00", res.Applied)

	waitClosed(t, id)
	requirePayments(t, id, 1)
	accepted := 0
	for _, ev := range historyOf(t, id) {
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED {
			require.Equal(t, invoiceapi.UpdatePayment, ev.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest().GetInput().GetName())
			accepted++
		}
	}
	require.Equal(t, 1, accepted, "one payment update in the history")
}

// postRaw posts body as JSON with the e2e key and returns the answer as it came.
func postRaw(t *testing.T, path string, body any) (int, http.Header, []byte) {
	t.Helper()
	data, err := json.Marshal(body)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, env.api.URL+path, bytes.NewReader(data))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+env.apiKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, raw
}
