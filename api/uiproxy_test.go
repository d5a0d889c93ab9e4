package api

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// fakeUI stands in for the Temporal UI server: it records what reaches it, answers an
// update with a success outcome (a failure when its update id starts with "fail", a
// 500 when "down", an answer cut off mid-body when "broken"), anything else with its
// path, and sends its own CORS headers.
type fakeUI struct {
	*httptest.Server
	mu   sync.Mutex
	seen []*http.Request
	body map[string]string // by path: the last body received
}

func newFakeUI(t *testing.T) (*fakeUI, *url.URL) {
	t.Helper()
	f := &fakeUI{body: map[string]string{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seen = append(f.seen, r.Clone(context.Background()))
		f.body[r.URL.Path] = string(b)
		f.mu.Unlock()
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		if strings.Contains(r.URL.Path, "/update/") {
			var req struct {
				Request struct {
					Meta struct {
						UpdateID string `json:"updateId"`
					} `json:"meta"`
				} `json:"request"`
			}
			_ = json.Unmarshal(b, &req)
			switch id := req.Request.Meta.UpdateID; {
			case strings.HasPrefix(id, "fail"):
				_, _ = io.WriteString(w, `{"outcome": {"failure": {"message": "rejected: the invoice is paid"}}}`)
			case strings.HasPrefix(id, "down"):
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = io.WriteString(w, `{"code": 14, "message": "frontend unavailable"}`)
			case strings.HasPrefix(id, "broken"):
				w.Header().Set("Content-Length", "1000") // more than is sent: the read fails
				_, _ = io.WriteString(w, `{"outcome": `)
			default:
				_, _ = io.WriteString(w, `{"outcome": {"success": {"payloads": []}}, "stage": "UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED"}`)
			}
			return
		}
		_, _ = io.WriteString(w, "ui:"+r.URL.Path)
	}))
	t.Cleanup(f.Close)
	u, err := url.Parse(f.URL)
	require.NoError(t, err)
	return f, u
}

func (f *fakeUI) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.seen)
}

func (f *fakeUI) last() *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[len(f.seen)-1]
}

func (f *fakeUI) lastBody(path string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.body[path]
}

// TestUIProxyGuardsAndForwards: the Temporal UI under /ui/ needs read to look, answers
// browsers without a session with the sign-in form, never forwards Dunwell's
// credentials to the UI server, nor the UI server's CORS headers to the browser.
func TestUIProxyGuardsAndForwards(t *testing.T) {
	t.Parallel()
	ui, u := newFakeUI(t)
	ts := newTestServer(t, testStore, func(s *Server) { s.UIUpstream = u })
	reader, _ := newKey(t, testStore, auth.ScopeRead)
	operator, _ := newKey(t, testStore, auth.ScopeOperator)

	a := call(t, ts, http.MethodGet, "/ui/namespaces/default/workflows", "", "Accept", "text/html")
	require.Equal(t, http.StatusUnauthorized, a.code)
	require.Contains(t, string(a.body), `id="signin"`, "a browser gets the sign-in form")
	require.Equal(t, http.StatusUnauthorized, call(t, ts, http.MethodGet, "/ui/", "", "Accept", "application/json").code)
	require.Equal(t, http.StatusForbidden, call(t, ts, http.MethodGet, "/ui/", "", bearer(operator)...).code, "looking needs read")

	a = call(t, ts, http.MethodGet, "/ui/namespaces/default/workflows", "", "Authorization", "Bearer "+reader,
		"Cookie", "_csrf=ui-token; "+auth.SessionCookie+"=x")
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	require.Equal(t, "ui:/ui/namespaces/default/workflows", string(a.body))
	require.Empty(t, a.header.Values("Access-Control-Allow-Origin"), "the UI server's CORS policy stays behind the proxy")
	require.Empty(t, a.header.Values("Access-Control-Allow-Credentials"))
	got := ui.last()
	require.Empty(t, got.Header.Get("Authorization"), "the API key stays with Dunwell")
	_, err := got.Cookie(auth.SessionCookie)
	require.Error(t, err, "the session cookie stays with Dunwell")
	c, err := got.Cookie("_csrf")
	require.NoError(t, err, "the UI's own cookies pass")
	require.Equal(t, "ui-token", c.Value)

	// A query is a read, although the UI posts it.
	a = call(t, ts, http.MethodPost, "/ui/api/v1/namespaces/default/workflows/invoice-X/query/__stack_trace", "{}", bearer(reader)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
}

// uiWrite is one write route of the Temporal UI server.
type uiWrite struct {
	method, path string // path under /ui, {inv} standing for the invoice's workflow id
}

// TestUIWriteMatrix: every write the Temporal UI server offers, with every kind of
// key. The writes Dunwell allows need the scope the API needs for the same act, and
// each leaves an audit row; everything else is 403 for every key and never reaches
// the UI server.
func TestUIWriteMatrix(t *testing.T) {
	t.Parallel()
	ui, u := newFakeUI(t)
	srv := newTestServer(t, testStore, func(s *Server) { s.UIUpstream = u })
	ctx := context.Background()
	admin, _ := newKey(t, testStore, auth.AllScopes()...)
	inv := uid("INV")
	require.Equal(t, http.StatusCreated, call(t, srv, "POST", "/v1/invoices", invoiceJSON(inv, "100.00"), bearer(admin)...).code)
	wf := "/ui/api/v1/namespaces/default/workflows/" + invoiceapi.WorkflowID(inv)

	// The allowed writes: the UI's cancellation request, carried out as the API's
	// cancel action, and every update the API sends, with the API's scope and audit
	// action. The table names the scopes itself, so a change in the code shows here.
	allowed := []struct {
		path   string
		scope  auth.Scope
		audit  string
		update string // what the workflow receives (via the fake Temporal, or the UI server)
		viaUI  bool   // passed to the UI server (else carried out by the API)
	}{
		{"/cancel", auth.ScopeInvoicesWrite, "invoice.cancel", invoiceapi.UpdateCancel, false},
		{"/update/" + invoiceapi.UpdatePayment, auth.ScopePaymentsWrite, ledger.AuditApplyPayment, invoiceapi.UpdatePayment, true},
		{"/update/" + invoiceapi.UpdateRefund, auth.ScopePaymentsWrite, "invoice.refund", invoiceapi.UpdateRefund, true},
		{"/update/" + invoiceapi.UpdateAdjust, auth.ScopeInvoicesWrite, "invoice.adjust", invoiceapi.UpdateAdjust, true},
		{"/update/" + invoiceapi.UpdateCancel, auth.ScopeInvoicesWrite, "invoice.cancel", invoiceapi.UpdateCancel, true},
		{"/update/" + invoiceapi.UpdateChangeDueDate, auth.ScopeInvoicesWrite, "invoice.due-date", invoiceapi.UpdateChangeDueDate, true},
		{"/update/" + invoiceapi.UpdateDispute, auth.ScopeOperator, "invoice.dispute", invoiceapi.UpdateDispute, true},
		{"/update/" + invoiceapi.UpdateResolveDispute, auth.ScopeOperator, "invoice.dispute.resolve", invoiceapi.UpdateResolveDispute, true},
		{"/update/" + invoiceapi.UpdatePromise, auth.ScopeOperator, "invoice.promise", invoiceapi.UpdatePromise, true},
		{"/update/" + invoiceapi.UpdatePlan, auth.ScopeOperator, "invoice.plan", invoiceapi.UpdatePlan, true},
		{"/update/" + invoiceapi.UpdatePause, auth.ScopeOperator, "invoice.pause", invoiceapi.UpdatePause, true},
		{"/update/" + invoiceapi.UpdateResume, auth.ScopeOperator, "invoice.resume", invoiceapi.UpdateResume, true},
		{"/update/" + invoiceapi.UpdateApprove, auth.ScopeOperator, "invoice.approval.approve", invoiceapi.UpdateApprove, true},
		{"/update/" + invoiceapi.UpdateReject, auth.ScopeOperator, "invoice.approval.reject", invoiceapi.UpdateReject, true},
		{"/update/" + invoiceapi.UpdateWriteOff, auth.ScopeOperator, "invoice.write-off", invoiceapi.UpdateWriteOff, true},
		{"/update/" + invoiceapi.UpdateChangePolicy, auth.ScopeOperator, "invoice.policy", invoiceapi.UpdateChangePolicy, true},
	}
	var updates []string
	for _, w := range allowed {
		if w.viaUI {
			updates = append(updates, w.update)
		}
	}
	// A call's outcome goes through the task it completes (POST /v1/tasks/{id}/complete),
	// never from the UI: it is denied below.
	viaTasks := []string{invoiceapi.UpdateCallOutcome}
	require.ElementsMatch(t, slices.Sorted(maps.Keys(updateArgs)), append(updates, viaTasks...), "every update the API sends is in the table")

	// Everything else the UI server routes (WorkflowService and OperatorService over
	// HTTP), and things it does not.
	denied := []uiWrite{
		{"POST", wf + "/terminate"},
		{"POST", wf + "/reset"},
		{"POST", wf + "/update-options"},
		{"POST", wf + "/trigger-rule"},
		{"POST", wf + "/signal/" + invoiceapi.SignalOptOut},
		{"POST", wf + "/signal/" + invoiceapi.SignalOptIn},
		{"POST", wf + "/signal/" + invoiceapi.SignalDelivery},
		{"POST", wf + "/update/not-an-api-update"},
		{"POST", wf + "/update/" + invoiceapi.UpdateCallOutcome},
		{"POST", wf + "/update/"},
		{"POST", wf + "/cancel/extra"},
		{"POST", wf + "%2Fcancel"},
		{"DELETE", wf},
		{"PUT", wf + "/cancel"},
		{"PATCH", wf + "/update/" + invoiceapi.UpdatePayment},
		{"OPTIONS", wf + "/cancel"},
		{"POST", wf},
		{"POST", "/ui/api/v1/namespaces/default/workflows/some-other-workflow/cancel"},
		{"POST", "/ui/api/v1/namespaces/other/workflows/" + invoiceapi.WorkflowID(inv) + "/cancel"},
		{"POST", "/ui/api/v1/namespaces/other/workflows/" + invoiceapi.WorkflowID(inv) + "/update/" + invoiceapi.UpdatePayment},
		{"POST", "/ui/api/v1/namespaces/default/workflows/some-other-workflow/update/" + invoiceapi.UpdatePayment},
		{"POST", "/ui/api/v1/namespaces/default/workflows/" + invoiceapi.WorkflowID(inv) + "/signal-with-start/x"},
		{"POST", "/ui/api/v1/namespaces/default/workflows/execute-multi-operation"},
		{"POST", "/ui/api/v1/namespaces/default/batch-operations/job-1"},
		{"POST", "/ui/api/v1/namespaces/default/batch-operations/job-1/stop"},
		{"POST", "/ui/api/v1/namespaces/default/schedules/sched-1"},
		{"POST", "/ui/api/v1/namespaces/default/schedules/sched-1/update"},
		{"POST", "/ui/api/v1/namespaces/default/schedules/sched-1/patch"},
		{"DELETE", "/ui/api/v1/namespaces/default/schedules/sched-1"},
		{"POST", "/ui/api/v1/namespaces"},
		{"POST", "/ui/api/v1/namespaces/default/update"},
		{"POST", "/ui/api/v1/namespaces/default/search-attributes"},
		{"DELETE", "/ui/api/v1/namespaces/default/search-attributes"},
		{"POST", "/ui/cluster/namespaces/default/search-attributes"},
		{"POST", "/ui/api/v1/namespaces/default/activities/complete-by-id"},
		{"POST", "/ui/api/v1/namespaces/default/activities/reset"},
		{"POST", "/ui/api/v1/namespaces/default/worker-deployments/d/set-current-version"},
		{"POST", "/ui/api/v1/namespaces/default/task-queues/q/update-config"},
		{"POST", "/ui/api/v1/nexus/endpoints"},
		{"POST", "/ui/api/v1/namespaces/default/workflow-rules"},
		{"POST", "/ui/auth/sso"},
	}

	keyWith := func(scopes ...auth.Scope) string { tok, _ := newKey(t, testStore, scopes...); return tok }
	keys := map[string]string{"all scopes": admin}
	for _, s := range auth.AllScopes() {
		keys[string(s)] = keyWith(s)
	}

	for _, w := range denied {
		for name, tok := range keys {
			before, updates := ui.count(), srv.temporal.updateNames()
			a := call(t, srv, w.method, w.path, `{"reason": "x"}`, bearer(tok)...)
			require.Equal(t, http.StatusForbidden, a.code, "%s %s with %s: %s", w.method, w.path, name, a.body)
			var e struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			require.NoError(t, json.Unmarshal(a.body, &e), string(a.body))
			require.Equal(t, 7, e.Code, "PermissionDenied, in the UI server's error shape")
			require.NotEmpty(t, e.Message)
			require.Equal(t, before, ui.count(), "%s %s reached the UI server", w.method, w.path)
			require.Equal(t, updates, srv.temporal.updateNames(), "%s %s changed a workflow", w.method, w.path)
		}
	}

	body := func(updateID string) string {
		return `{"workflowExecution": {"runId": "r"}, "request": {"meta": {"updateId": "` + updateID +
			`", "identity": "ui"}, "input": {"args": {"payloads": []}}}}`
	}
	audits := func() []ledger.AuditEntry {
		entries, err := testStore.ListAudit(ctx, inv)
		require.NoError(t, err)
		return entries
	}
	for _, w := range allowed {
		right := keyWith(w.scope)
		var others []auth.Scope
		for _, s := range auth.AllScopes() {
			if s != w.scope {
				others = append(others, s)
			}
		}
		wrong := keyWith(others...)
		for _, tc := range []struct {
			name    string
			headers []string
			code    int
		}{
			{"no key", nil, http.StatusUnauthorized},
			{"every other scope", bearer(wrong), http.StatusForbidden},
			{"the API's scope", bearer(right), http.StatusOK},
		} {
			before, updates, trail := ui.count(), srv.temporal.updateNames(), len(audits())
			updateID := uid("upd")
			a := call(t, srv, http.MethodPost, wf+w.path, body(updateID), append(tc.headers, "Content-Type", "text/plain;charset=UTF-8")...)
			require.Equal(t, tc.code, a.code, "%s with %s: %s", w.path, tc.name, a.body)
			if tc.code != http.StatusOK {
				require.Equal(t, before, ui.count(), "%s with %s reached the UI server", w.path, tc.name)
				require.Equal(t, updates, srv.temporal.updateNames())
				require.Len(t, audits(), trail)
				continue
			}
			entries := audits()
			require.Len(t, entries, trail+1, "one audit row for %s", w.path)
			e := entries[len(entries)-1]
			require.Equal(t, w.audit, e.Action)
			require.Equal(t, ledger.AuditApplied, e.Outcome)
			require.Equal(t, inv, e.InvoiceID)
			require.NotZero(t, e.KeyID)
			require.Equal(t, wf+w.path, e.Details["path"], "the row says it came through the UI")
			if w.viaUI {
				require.Equal(t, before+1, ui.count())
				require.Equal(t, updateID, e.Details["update_id"])
				sent := ui.lastBody(strings.TrimPrefix(wf+w.path, ""))
				require.Contains(t, sent, `"lifecycleStage":"UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED"`, "the proxy waits for the outcome")
				require.Contains(t, sent, updateID)
			} else {
				require.Equal(t, before, ui.count(), "the API carries the cancellation out itself")
				require.Equal(t, append(updates, w.update), srv.temporal.updateNames())
				require.Equal(t, uiCancelReason, e.Reason)
				require.JSONEq(t, `{}`, string(a.body), "the UI server's answer to a cancellation request")
			}
		}
	}

	// The outcome of an update is audited as it was: rejected by the workflow, or
	// unknown when the UI server failed.
	operator := keyWith(auth.ScopeOperator)
	a := call(t, srv, http.MethodPost, wf+"/update/"+invoiceapi.UpdatePause, body("fail-1"), bearer(operator)...)
	require.Equal(t, http.StatusOK, a.code)
	e := audits()[len(audits())-1]
	require.Equal(t, ledger.AuditRejected, e.Outcome)
	require.Equal(t, "rejected: the invoice is paid", e.Reason)
	a = call(t, srv, http.MethodPost, wf+"/update/"+invoiceapi.UpdatePause, body("down-1"), bearer(operator)...)
	require.Equal(t, http.StatusInternalServerError, a.code)
	e = audits()[len(audits())-1]
	require.Equal(t, ledger.AuditUnknown, e.Outcome)
	require.Equal(t, "frontend unavailable", e.Reason)
	trail := len(audits())
	a = call(t, srv, http.MethodPost, wf+"/update/"+invoiceapi.UpdatePause, body("broken-1"), bearer(operator)...)
	require.Equal(t, http.StatusBadGateway, a.code, string(a.body))
	entries := audits()
	require.Len(t, entries, trail+1, "one audit row for an answer that broke off")
	require.Equal(t, ledger.AuditUnknown, entries[trail].Outcome)

	// A cancellation of an invoice Dunwell does not know is the API's 404.
	a = call(t, srv, http.MethodPost, "/ui/api/v1/namespaces/default/workflows/invoice-NOPE-1/cancel", "", bearer(admin)...)
	require.Equal(t, http.StatusNotFound, a.code, string(a.body))
}

// TestUISessionActs: signed in by cookie, the browser acts through /ui/ from this
// server's own pages whatever the content type (the UI sends text/plain, and cancels
// with no body), but not from another site; and the cookie does not write to /v1/.
func TestUISessionActs(t *testing.T) {
	t.Parallel()
	ui, u := newFakeUI(t)
	srv := newTestServer(t, testStore, func(s *Server) { s.UIUpstream = u })
	admin, _ := newKey(t, testStore, auth.AllScopes()...)
	inv := uid("INV")
	require.Equal(t, http.StatusCreated, call(t, srv, "POST", "/v1/invoices", invoiceJSON(inv, "100.00"), bearer(admin)...).code)
	a := call(t, srv, http.MethodPost, "/v1/session", "", bearer(admin)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	var cookie string
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == auth.SessionCookie {
			cookie = c.Name + "=" + c.Value
			require.Equal(t, http.SameSiteLaxMode, c.SameSite)
		}
	}
	require.NotEmpty(t, cookie)
	wf := "/ui/api/v1/namespaces/default/workflows/" + invoiceapi.WorkflowID(inv)
	sameOrigin := []string{"Cookie", cookie, "Sec-Fetch-Site", "same-origin", "Origin", srv.URL}
	crossSite := []string{"Cookie", cookie, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}

	update := `{"request": {"meta": {"updateId": "u-1"}, "input": {"args": {"payloads": []}}}}`
	before := ui.count()
	a = call(t, srv, http.MethodPost, wf+"/update/"+invoiceapi.UpdatePause, update, append(crossSite, "Content-Type", "text/plain;charset=UTF-8")...)
	require.Equal(t, http.StatusForbidden, a.code, string(a.body))
	require.Equal(t, before, ui.count())
	a = call(t, srv, http.MethodPost, wf+"/update/"+invoiceapi.UpdatePause, update, append(sameOrigin, "Content-Type", "text/plain;charset=UTF-8")...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	require.Equal(t, before+1, ui.count())

	updates := srv.temporal.updateNames()
	a = call(t, srv, http.MethodPost, wf+"/cancel", "", crossSite...)
	require.Equal(t, http.StatusForbidden, a.code, string(a.body))
	a = call(t, srv, http.MethodPost, wf+"/cancel", "", sameOrigin...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	require.Equal(t, append(updates, invoiceapi.UpdateCancel), srv.temporal.updateNames())
	entries, err := testStore.ListAudit(context.Background(), inv)
	require.NoError(t, err)
	last := entries[len(entries)-1]
	require.Equal(t, "invoice.cancel", last.Action)
	require.Equal(t, string(auth.ViaSession), last.Details["credential"])

	// The cookie reads /v1/ but does not write there, JSON or not, same origin or not.
	require.Equal(t, http.StatusOK, call(t, srv, http.MethodGet, "/v1/invoices/"+inv, "", sameOrigin...).code)
	for _, path := range []string{"/v1/invoices/" + inv + "/payments", "/v1/invoices/" + inv + "/pause", "/v1/invoices"} {
		a = call(t, srv, http.MethodPost, path, `{}`, sameOrigin...)
		require.Equal(t, http.StatusUnauthorized, a.code, "%s: %s", path, a.body)
		require.Contains(t, a.errorText(t), "Bearer")
	}
}
