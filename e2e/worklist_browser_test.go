package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestWorklistInChromium is the collector's loop of issue 20's "done when": an invoice
// issued on demo-personal, whose call step asks a person to phone, its customer in the
// e2e key's portfolio. The call task appears on /worklist in the collector's own list,
// with the phone, the voicemail script and the customer's timeline; the collector
// completes it as promised with a note, by keyboard; the invoice is promised (the API
// says so) and the note is in the customer's timeline.
func TestWorklistInChromium(t *testing.T) {
	bin := chromiumOrSkip(t, "the /worklist browser test")
	t.Parallel()
	id, customer := "E2E-WORKLIST-1", "C-E2E-WORKLIST"
	issueInvoice(t, customerInvoice(id, customer, uniquePhone(), "demo-personal", []string{"email", "call"}, 0))
	// Before the call step (45 s after issue): its task goes to the customer's collector.
	code, body := call(t, http.MethodPut, "/v1/customers/"+customer+"/assignee", map[string]string{"assignee": "e2e"})
	require.Equal(t, http.StatusOK, code, body)

	var taskID int64
	q := url.Values{"status": {"open"}, "kind": {"call"}, "customer_id": {customer}}
	eventually(t, 90*time.Second, "the call task of "+id, func() bool {
		code, body := call(t, http.MethodGet, "/v1/tasks?"+q.Encode(), nil)
		tasks, _ := body["tasks"].([]any)
		if code != http.StatusOK || len(tasks) == 0 {
			return false
		}
		task := tasks[0].(map[string]any)
		require.Equal(t, "e2e", task["assignee"], "the customer's collector")
		taskID = int64(task["id"].(float64))
		return true
	})

	ctx := newBrowser(t, bin, 1280, 1200)
	task := fmt.Sprintf(`#mine [data-task="%d"]`, taskID)
	require.NoError(t, chromedp.Do(ctx,
		signIn(env.api.URL+"/worklist"),
		chromedp.WaitVisible(chromedp.CSS(task)),
	))
	facts, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector('%s').textContent`, task)))
	require.NoError(t, err)
	require.Contains(t, facts, customer, "the task names its customer")
	require.Contains(t, facts, "Voicemail, say only:", "the voicemail script")
	require.Contains(t, facts, "Call about invoice "+id+" opened for e2e", "the customer's timeline is at hand")

	// By keyboard: the outcome typed into its select, the note, the promise date, then
	// Enter on the button.
	promised := time.Now().UTC().AddDate(0, 0, 10)
	note := "Spoke to Ada: pays on " + promised.Format(time.DateOnly)
	form := fmt.Sprintf(`form[data-complete="%d"]`, taskID)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Focus(chromedp.CSS(form+` select[name="outcome"]`)),
		chromedp.SendKeys(chromedp.CSS(form+` select[name="outcome"]`), "promised"),
		chromedp.SendKeys(chromedp.CSS(form+` textarea[name="note"]`), note),
		chromedp.SetValue(chromedp.CSS(form+` input[name="promise_date"]`), promised.Format(time.DateOnly)),
	))
	outcome, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector('%s select[name="outcome"]').value`, form)))
	require.NoError(t, err)
	require.Equal(t, "promised", outcome, "the outcome chosen by typing")
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	keepScreenshotAs(t, "worklist.png", filepath.Join("docs", "img", "worklist.png"), png)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Focus(chromedp.CSS(form+` button[type="submit"]`)),
		chromedp.SendKeys(chromedp.CSS(form+` button[type="submit"]`), "\r"),
		chromedp.WaitVisible(chromedp.ID("done")),
	))
	done, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('done').textContent`))
	require.NoError(t, err)
	require.Contains(t, done, fmt.Sprintf("Task %d completed", taskID))
	gone, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector('[data-task="%d"]') === null`, taskID)))
	require.NoError(t, err)
	require.True(t, gone, "a completed task leaves the worklist")

	eventually(t, 30*time.Second, "invoice "+id+" promised", func() bool {
		code, body := call(t, http.MethodGet, "/v1/invoices/"+id, nil)
		return code == http.StatusOK && body["status"] == "promised"
	})
	code, body = call(t, http.MethodGet, "/v1/customers/"+customer+"/timeline?kind=task&limit=100", nil)
	require.Equal(t, http.StatusOK, code, body)
	var noted string
	for _, e := range body["entries"].([]any) {
		d, _ := e.(map[string]any)["details"].(map[string]any)
		if d["event"] == "done" && d["outcome"] == "promised" {
			noted, _ = d["note"].(string)
		}
	}
	require.Equal(t, note, noted, "the note is in the timeline: %v", body["entries"])
}
