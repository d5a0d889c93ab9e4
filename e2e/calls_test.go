package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCallStepPromisedOnTheWorklist: an invoice on demo-personal reaches its call
// step; the call task appears in the task API with the customer's phone and the
// voicemail script; completing it "promised" goes through the invoice's workflow,
// which records the promise (the invoice is promised) and the task's outcome, whose
// note shows once in the customer's timeline. A second completion is 409 with the
// first outcome.
func TestCallStepPromisedOnTheWorklist(t *testing.T) {
	t.Parallel()
	id := "E2E-CALL"
	phone := uniquePhone()
	// Issued 44 s ago: the call step (+45 s) is the latest step due a second after
	// the start, so the earlier ones are skipped as stale.
	issueInvoice(t, customerInvoice(id, "", phone, "demo-personal", []string{"email", "sms", "call"}, 44*time.Second))

	var task map[string]any
	eventually(t, 90*time.Second, "the call task", func() bool {
		code, body := call(t, http.MethodGet, "/v1/tasks?status=open&kind=call&invoice_id="+id, nil)
		require.Equal(t, http.StatusOK, code, body)
		tasks := body["tasks"].([]any)
		if len(tasks) == 0 {
			return false
		}
		task = tasks[0].(map[string]any)
		return true
	})
	taskID := int64(task["id"].(float64))
	require.Equal(t, "call:"+id+"/call", task["key"])
	details := task["details"].(map[string]any)
	require.Equal(t, phone, details["phone"])
	require.Contains(t, details["voicemail_script"], "Please call us back at")
	require.NotContains(t, details["voicemail_script"], id, "a voicemail never names the invoice")

	eventually(t, 30*time.Second, "the state shows the open call", func() bool {
		_, st := call(t, http.MethodGet, "/v1/invoices/"+id, nil)
		c, ok := st["call"].(map[string]any)
		return ok && int64(c["task_id"].(float64)) == taskID
	})

	promised := time.Now().UTC().AddDate(0, 0, 10).Format(time.DateOnly)
	note := "Spoke to Ada: pays after the board meets"
	path := fmt.Sprintf("/v1/tasks/%d/complete", taskID)
	code, done := call(t, http.MethodPost, path, map[string]any{"outcome": "promised", "note": note, "promise": map[string]any{"date": promised}})
	require.Equal(t, http.StatusOK, code, done)
	require.Equal(t, "done", done["status"])
	require.Equal(t, "promised", done["outcome"])

	_, st := call(t, http.MethodGet, "/v1/invoices/"+id, nil)
	require.Equal(t, "promised", st["status"], st)
	require.Nil(t, st["call"], "the call is answered")
	promise := st["promise"].(map[string]any)
	require.Equal(t, promised, promise["date"])

	code, again := call(t, http.MethodPost, path, map[string]any{"outcome": "no_answer"})
	require.Equal(t, http.StatusConflict, code, again)
	require.Equal(t, "promised", again["task"].(map[string]any)["outcome"])

	code, tl := call(t, http.MethodGet, "/v1/customers/C-"+id+"/timeline?kind=task", nil)
	require.Equal(t, http.StatusOK, code, tl)
	var outcomes []string
	for _, e := range tl["entries"].([]any) {
		entry := e.(map[string]any)
		if entry["details"].(map[string]any)["event"] == "done" {
			outcomes = append(outcomes, entry["summary"].(string))
		}
	}
	require.Len(t, outcomes, 1, "the outcome is in the timeline once")
	require.True(t, strings.HasSuffix(outcomes[0], note), outcomes[0])
	require.Contains(t, outcomes[0], "promised")

	recordHistory(t, id, "call-promised")
}
