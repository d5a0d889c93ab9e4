package api

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/replies"
)

// worklistForm posts a form of the page without following the redirect.
func worklistPost(t *testing.T, srv *testServer, path string, form url.Values, headers ...string) (*http.Response, string) {
	t.Helper()
	client := *srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(newRequest(t, http.MethodPost, srv.URL+path, form.Encode(), "application/x-www-form-urlencoded", headers))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// TestWorklistPage: a collector's calls (the larger debt first) and reply are on their
// worklist with what each is about (the phone and voicemail script, the reply's words
// and claim) and the customer's timeline; the team's unassigned reply is below them.
// The page is sent with the pages' security headers, and without a key it is the
// sign-in form.
func TestWorklistPage(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore, func(s *Server) {
		s.Inbound = InboundParse{Token: inboundToken, ReplyTo: inboundReply}
	})
	admin, _ := newKey(t, testStore, auth.AllScopes()...)
	collectorToken, collector := newKey(t, testStore, auth.ScopeOperator, auth.ScopeRead)
	small, large := uid("C"), uid("C")
	smallInv, largeInv := issueFor(t, srv, admin, small, "100.00"), issueFor(t, srv, admin, large, "25000.00")
	for _, c := range []string{small, large} {
		a := call(t, srv, http.MethodPut, "/v1/customers/"+c+"/assignee", fmt.Sprintf(`{"assignee": %q}`, collector.Name), bearer(admin)...)
		require.Equal(t, http.StatusOK, a.code, string(a.body))
	}
	callTask := func(customer, inv string) ledger.Task {
		task, _, err := testStore.CreateTask(t.Context(), ledger.NewTask{Key: "call:" + inv + "/call", Kind: ledger.TaskCall,
			CustomerID: customer, InvoiceID: inv, Step: "call", Title: "Call about invoice " + inv,
			Details: map[string]any{"phone": "+15550001111", "voicemail_script": "This is Acme Ltd. Please call us back on +15550009999."}})
		require.NoError(t, err)
		require.Equal(t, collector.Name, task.Assignee, "the customer's collector")
		return task
	}
	smallCall, largeCall := callTask(small, smallInv), callTask(large, largeInv)

	noticeKey := smallInv + "/first/email"
	_, err := testStore.ClaimNotice(t.Context(), ledger.NoticeClaim{Key: noticeKey, InvoiceID: smallInv, Step: "first", Channel: ledger.ChannelEmail})
	require.NoError(t, err)
	path := "/v1/webhooks/sendgrid/inbound/" + inboundToken
	ct, body := inboundPost(t, uid("m")+"@example.com", "ada@example.com", replies.Address(inboundReply, noticeKey),
		"Re: "+smallInv, "We already paid "+smallInv+" <b>last week</b>.")
	mine := readReply(t, postInbound(t, srv, path, ct, body))
	ct, body = inboundPost(t, uid("m")+"@example.com", "nobody@example.net", inboundReply, "Hello", "Is this the right address?")
	team := readReply(t, postInbound(t, srv, path, ct, body))

	a := call(t, srv, http.MethodGet, "/worklist", "", bearer(collectorToken)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	require.Contains(t, a.header.Get("Content-Security-Policy"), "default-src 'none'")
	require.Contains(t, a.header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	require.NotContains(t, a.header.Get("Content-Security-Policy"), "script-src", "the page has no script")
	require.Equal(t, "no-store", a.header.Get("Cache-Control"))
	require.Equal(t, "nosniff", a.header.Get("X-Content-Type-Options"))
	page := string(a.body)
	at := func(id int64) int {
		i := strings.Index(page, fmt.Sprintf(`data-task="%d"`, id))
		require.GreaterOrEqual(t, i, 0, "task %d is on the page", id)
		return i
	}
	teamAt := strings.Index(page, `id="team"`)
	require.Less(t, at(largeCall.ID), at(smallCall.ID), "the larger debt first, as GET /v1/tasks orders them")
	require.Less(t, at(smallCall.ID), teamAt, "the collector's own tasks come first")
	require.Less(t, at(mine.TaskID), teamAt)
	require.Greater(t, at(team.TaskID), teamAt, "the unmatched reply is the team's")
	require.Contains(t, page, `<a href="tel:&#43;15550001111" data-phone>`)
	require.Contains(t, page, "This is Acme Ltd. Please call us back on &#43;15550009999.")
	require.Contains(t, page, "We already paid "+smallInv+" &lt;b&gt;last week&lt;/b&gt;.", "the reply's words, escaped")
	require.Contains(t, page, `data-claim="paid"`)
	require.Contains(t, page, "assigned to collector "+collector.Name, "the customer's timeline")
	require.Contains(t, page, `<option value="wrong_number">wrong_number</option>`, "a call's outcomes")

	other := call(t, srv, http.MethodGet, "/worklist?assignee="+url.QueryEscape(collector.Name), "", bearer(admin)...)
	require.Equal(t, http.StatusOK, other.code)
	require.Contains(t, string(other.body), fmt.Sprintf(`data-task="%d"`, largeCall.ID), "another collector's list")
	bad := call(t, srv, http.MethodGet, "/worklist?assignee=two+words&colour=red", "", bearer(collectorToken)...)
	require.Equal(t, http.StatusBadRequest, bad.code)
	require.Contains(t, string(bad.body), "assignee: must be")
	require.Contains(t, string(bad.body), "colour: is not a parameter of this page")

	signIn := call(t, srv, http.MethodGet, "/worklist", "")
	require.Equal(t, http.StatusUnauthorized, signIn.code)
	require.Contains(t, string(signIn.body), `id="signin"`)
}

// TestWorklistForms: the forms act through the task API. Bad input shows the page
// with the field named and the form as sent, and changes nothing; a read key may not
// act; a promise completes the call; a second completion shows the first outcome; a
// signed-in browser's form from another site is refused.
func TestWorklistForms(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore)
	admin, _ := newKey(t, testStore, auth.AllScopes()...)
	collectorToken, collector := newKey(t, testStore, auth.ScopeOperator, auth.ScopeRead)
	reader, _ := newKey(t, testStore, auth.ScopeRead)
	cust := uid("C")
	inv := issueFor(t, srv, admin, cust, "100.00")
	task, _, err := testStore.CreateTask(t.Context(), ledger.NewTask{Key: "call:" + inv + "/call", Kind: ledger.TaskCall,
		CustomerID: cust, InvoiceID: inv, Step: "call", Title: "Call about invoice " + inv, Assignee: collector.Name})
	require.NoError(t, err)
	base := fmt.Sprintf("/worklist/tasks/%d", task.ID)
	asCollector := bearer(collectorToken)
	workflowRecordsCallOutcomes(t, srv)
	stillOpen := func(what string) {
		t.Helper()
		got, err := testStore.GetTask(t.Context(), task.ID)
		require.NoError(t, err)
		require.Equal(t, ledger.TaskOpen, got.Status, what)
		require.Equal(t, collector.Name, got.Assignee, what)
	}

	for _, c := range []struct {
		name, action string
		form         url.Values
		code         int
		says         []string
	}{
		{"a promise without its date", "complete", url.Values{"outcome": {"promised"}, "note": {"pays soon"}}, http.StatusUnprocessableEntity,
			[]string{"Promised for is required when the customer promised", `<textarea name="note" rows="2" cols="36" maxlength="4000">pays soon</textarea>`}},
		{"a bad amount", "complete", url.Values{"outcome": {"promised"}, "promise_date": {"2026-12-20"}, "promise_amount": {"12,5x"}}, http.StatusUnprocessableEntity,
			[]string{"Amount ", `value="12,5x" aria-invalid="true"`}},
		{"a date that is not one", "complete", url.Values{"outcome": {"promised"}, "promise_date": {"soon"}}, http.StatusUnprocessableEntity,
			[]string{"Promised for must be a date YYYY-MM-DD"}},
		{"no outcome", "complete", url.Values{"note": {"x"}}, http.StatusUnprocessableEntity, []string{"Outcome is required"}},
		{"an outcome of no call", "complete", url.Values{"outcome": {"paid"}}, http.StatusUnprocessableEntity, []string{`Outcome &#34;paid&#34; is not a call outcome`}},
		{"a field of no form", "complete", url.Values{"outcome": {"reached"}, "colour": {"red"}}, http.StatusBadRequest, []string{"colour: is not a field of this form"}},
		{"a field twice", "complete", url.Values{"outcome": {"reached", "no_answer"}}, http.StatusBadRequest, []string{"outcome: must be given once"}},
		{"a snooze into the past", "snooze", url.Values{"until": {"2001-01-01"}}, http.StatusUnprocessableEntity, []string{"Snooze until must be in the future"}},
		{"a name that is not one", "assign", url.Values{"assignee": {"two words"}}, http.StatusUnprocessableEntity, []string{"Give to must be"}},
	} {
		resp, html := worklistPost(t, srv, base+"/"+c.action, c.form, asCollector...)
		require.Equal(t, c.code, resp.StatusCode, "%s: %s", c.name, html)
		require.Contains(t, html, `id="error"`, c.name)
		require.Contains(t, html, fmt.Sprintf("Task %d was not", task.ID), c.name)
		for _, s := range c.says {
			require.Contains(t, html, s, c.name)
		}
		stillOpen(c.name)
	}
	resp, _ := worklistPost(t, srv, base+"/complete", url.Values{"outcome": {"reached"}}, bearer(reader)...)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "completing needs the operator scope")
	stillOpen("a read key")
	resp, _ = worklistPost(t, srv, "/worklist/tasks/999999999/complete", url.Values{"outcome": {"reached"}}, asCollector...)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	// From a browser session: only from this server's own pages.
	session := call(t, srv, http.MethodPost, "/v1/session", "", asCollector...)
	require.Equal(t, http.StatusOK, session.code)
	var cookie string
	for _, c := range (&http.Response{Header: session.header}).Cookies() {
		if c.Name == auth.SessionCookie {
			cookie = c.Name + "=" + c.Value
		}
	}
	require.NotEmpty(t, cookie)
	resp, _ = worklistPost(t, srv, base+"/snooze", url.Values{"until": {"2999-01-01"}}, "Cookie", cookie, "Origin", "https://evil.example")
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "a cross-site form")
	stillOpen("a cross-site form")
	resp, _ = worklistPost(t, srv, base+"/assign", url.Values{"assignee": {""}}, "Cookie", cookie, "Sec-Fetch-Site", "same-origin")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, fmt.Sprintf("/worklist?done=assign&task=%d", task.ID), resp.Header.Get("Location"))
	got, err := testStore.GetTask(t.Context(), task.ID)
	require.NoError(t, err)
	require.Empty(t, got.Assignee, "given to the team")
	done := call(t, srv, http.MethodGet, resp.Header.Get("Location"), "", "Cookie", cookie)
	require.Equal(t, http.StatusOK, done.code)
	require.Contains(t, string(done.body), fmt.Sprintf(`role="status">Task %d reassigned.`, task.ID))

	resp, _ = worklistPost(t, srv, base+"/complete", url.Values{"outcome": {"promised"}, "note": {"Spoke to Ada: pays on the 20th"},
		"promise_date": {"2026-12-20"}, "promise_amount": {"60.00"}}, "Cookie", cookie, "Sec-Fetch-Site", "same-origin")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	got, err = testStore.GetTask(t.Context(), task.ID)
	require.NoError(t, err)
	require.Equal(t, ledger.TaskDone, got.Status)
	require.Equal(t, ledger.OutcomePromised, got.Outcome)
	require.Equal(t, "Spoke to Ada: pays on the 20th", got.Note)
	require.Equal(t, "2026-12-20", got.PromiseDate)
	require.EqualValues(t, 6000, *got.PromiseAmount)
	require.Equal(t, "key:"+collector.Name, got.CompletedBy)
	trail, err := testStore.ListKeyAudit(t.Context(), collector.ID)
	require.NoError(t, err)
	var last ledger.AuditEntry
	for _, e := range trail {
		if e.Action == "task.complete" && e.Outcome == ledger.AuditApplied {
			last = e
		}
	}
	require.Equal(t, inv, last.InvoiceID, "the completion is audited: %v", trail)
	require.Equal(t, base+"/complete", last.Details["path"], "the audit says the page made the call")
	require.Equal(t, string(auth.ViaSession), last.Details["credential"])

	resp, html := worklistPost(t, srv, base+"/complete", url.Values{"outcome": {"no_answer"}}, asCollector...)
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	require.Contains(t, html, "already completed as promised")
}

// runWorklistCases exercises the /worklist page and its forms on the live API for the
// OpenAPI test: the page, its refusals, and each form's refusal (a success is a 303
// the client follows to the page).
func (l *liveAPI) runWorklistCases(t *testing.T, customer string, withAll, withRead []string) {
	t.Helper()
	task, _, err := testStore.CreateTask(t.Context(), ledger.NewTask{Key: "reply:" + uid("msg"), Kind: ledger.TaskReply,
		CustomerID: customer, Title: "Ada answered"})
	require.NoError(t, err)
	path := fmt.Sprintf("/worklist/tasks/%d", task.ID)
	const form = "application/x-www-form-urlencoded"
	for _, c := range []apiCase{
		{name: "worklist page", method: "GET", path: "/worklist", headers: withRead, want: http.StatusOK},
		{name: "worklist page after a form", method: "GET", path: fmt.Sprintf("/worklist?done=snooze&task=%d", task.ID), headers: withRead, want: http.StatusOK},
		{name: "worklist page, bad parameter", method: "GET", path: "/worklist?done=later", headers: withRead, want: http.StatusBadRequest, brokenRequest: true},
		{name: "worklist page without a key", method: "GET", path: "/worklist", want: http.StatusUnauthorized, brokenRequest: true},
		{name: "worklist complete, no outcome", method: "POST", path: path + "/complete", body: "note=x", contentType: form, headers: withAll, want: http.StatusUnprocessableEntity},
		{name: "worklist complete, a field of no form", method: "POST", path: path + "/complete", body: "outcome=answered&colour=red", contentType: form, headers: withAll, want: http.StatusBadRequest},
		{name: "worklist complete with a read key", method: "POST", path: path + "/complete", body: "outcome=answered", contentType: form, headers: withRead, want: http.StatusForbidden},
		{name: "worklist complete of no task", method: "POST", path: "/worklist/tasks/999999999/complete", body: "outcome=answered", contentType: form, headers: withAll, want: http.StatusNotFound},
		{name: "worklist snooze into the past", method: "POST", path: path + "/snooze", body: "until=2001-01-01", contentType: form, headers: withAll, want: http.StatusUnprocessableEntity},
		{name: "worklist assign to a bad name", method: "POST", path: path + "/assign", body: "assignee=two+words", contentType: form, headers: withAll, want: http.StatusUnprocessableEntity},
	} {
		l.run(t, c)
	}
	_, err = testStore.CompleteTask(t.Context(), task.ID, ledger.TaskCompletion{Outcome: "answered", By: "key:test", At: time.Now()})
	require.NoError(t, err)
	l.run(t, apiCase{name: "worklist complete of a done task", method: "POST", path: path + "/complete", body: "outcome=answered", contentType: form, headers: withAll, want: http.StatusConflict})
}
