package api

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/timeline"
)

// The /worklist page (docs/collectors.md, Worklist): a collector's day. Their open
// tasks in priority order (as GET /v1/tasks orders them), then the team's (nobody's),
// each with what it is about (the phone and voicemail script of a call, the words and
// claims of a reply), the customer's latest timeline entries and plain HTML forms that
// complete, snooze or reassign it. Beside /reports and /bank: the same sign-in,
// headers and no script. Every form goes through the API's own handler for the action
// (POST /v1/tasks/{id}/complete, snooze, assign), so the page can do nothing the API
// would refuse, and is audited the same way (the audit entry names the page's path).

//go:embed reportspage.html worklistpage.html
var worklistFS embed.FS

var worklistTemplates = template.Must(template.New("worklistpage.html").ParseFS(worklistFS, "reportspage.html", "worklistpage.html"))

const (
	// worklistTimeline is how many of a customer's latest entries a task shows.
	worklistTimeline = 5
	// worklistSectionMax bounds the tasks a section shows; GET /v1/tasks has the rest.
	worklistSectionMax = 50
)

// replyOutcomes are what a collector may record of a reply. A claim the reply made is
// confirmed (or not) here and acted on by the collector (a dispute opened, a payment
// looked for), never by the service on its own.
var replyOutcomes = []string{"answered", "confirmed_paid", "confirmed_disputed", "claim_not_confirmed", "no_action"}

// worklistActions are the page's forms: the fields each takes and the word for done.
var worklistActions = map[string]struct {
	fields []string
	done   string
}{
	"complete": {[]string{"outcome", "note", "promise_date", "promise_amount"}, "completed"},
	"snooze":   {[]string{"until"}, "snoozed"},
	"assign":   {[]string{"assignee"}, "reassigned"},
}

// worklistLabels are the form fields as the page labels them, for the messages.
var worklistLabels = map[string]string{
	"outcome": "Outcome", "note": "Note", "promise_date": "Promised for", "promise_amount": "Amount",
	"until": "Snooze until", "assignee": "Give to",
}

// formFieldOf is the page's form field of a field the task API names.
func formFieldOf(apiField string) string {
	switch apiField {
	case "promise", "promise.date":
		return "promise_date"
	case "promise.amount":
		return "promise_amount"
	}
	return apiField
}

type worklistTask struct {
	ID                                 int64
	Kind, Title, CustomerID, Invoices  string
	Balance, Band, Score, DueAt        string
	DaysOverdue                        int
	Assignee, Phone, Script            string
	Claims                             []string
	ReplyFrom, ReplySubject, ReplyText string
	Timeline                           []worklistEntry
	MoreTimeline                       bool
	Outcomes                           []string
	CanPromise                         bool
	// Form is what a refused form of this task held, and why it was refused.
	Form worklistForm
}

// worklistForm is a refused form, shown again with its values and the problem of
// each field next to it.
type worklistForm struct {
	Action string
	Values map[string]string
	Errors map[string]string
}

type worklistEntry struct{ At, Summary string }

type worklistSection struct {
	ID, Title string
	Tasks     []worklistTask
	More      bool
}

type worklistData struct {
	KeyName, Viewing, GeneratedAt string
	Done, Error                   string
	Sections                      []worklistSection
	// Failed is the refused form (Failed.Action empty: none) of task FailedTask.
	FailedTask int64
	Failed     worklistForm
}

func (s *Server) worklistRoutes(mux *routeMux) {
	mux.Handle("GET /worklist", s.worklistPage())
	for _, action := range []string{"complete", "snooze", "assign"} {
		mux.Handle("POST /worklist/tasks/{id}/"+action, scoped{s.requireBrowser(auth.ScopeOperator, s.worklistAction(action)), auth.ScopeOperator})
	}
}

// worklistPage serves GET /worklist behind the read scope, answering the sign-in form
// without a key or session. ?assignee= shows another collector's tasks.
func (s *Server) worklistPage() http.Handler {
	if s.Auth == nil {
		return scoped{http.HandlerFunc(s.noAuth), auth.ScopeRead}
	}
	inner := s.Auth.Require(auth.ScopeRead)(s.limitKey(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, bad := worklistQuery(r.URL.Query())
		code := http.StatusOK
		if len(bad) > 0 {
			code, d.Error = http.StatusBadRequest, "Not shown as asked: "+describe(bad)+"."
		}
		s.renderWorklist(w, r, code, d)
	})))
	return scoped{http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(&signInOn401{ResponseWriter: w, next: r.URL.RequestURI()}, r)
	}), auth.ScopeRead}
}

// worklistQuery reads the page's parameters: assignee (whose list), and done and task
// (what the redirect after a form says), naming every bad one.
func worklistQuery(q url.Values) (worklistData, map[string]string) {
	var d worklistData
	bad := map[string]string{}
	for name, values := range q {
		if len(values) > 1 {
			bad[name] = "must be given once"
			continue
		}
		v := values[0]
		switch name {
		case "assignee":
			if err := ledger.CheckAssignee(v); err != nil {
				bad[name] = err.Error()
			} else {
				d.Viewing = v
			}
		case "done":
			if _, ok := worklistActions[v]; !ok {
				bad[name] = "must be complete, snooze or assign"
			}
		case "task":
			if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 1 {
				bad[name] = "must be a task id"
			}
		default:
			bad[name] = "is not a parameter of this page"
		}
	}
	if a, ok := worklistActions[q.Get("done")]; ok && bad["done"] == "" && bad["task"] == "" && q.Get("task") != "" {
		d.Done = "Task " + q.Get("task") + " " + a.done + "."
	}
	return d, bad
}

// renderWorklist writes the page with code: the signed-in collector's open tasks (or
// d.Viewing's), then the team's.
func (s *Server) renderWorklist(w http.ResponseWriter, r *http.Request, code int, d worklistData) {
	d.GeneratedAt = s.now().UTC().Format(time.RFC3339)
	if key, ok := auth.KeyFrom(r.Context()); ok {
		d.KeyName = key.Name
	}
	if d.Viewing == "" {
		d.Viewing = d.KeyName
	}
	ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
	defer cancel()
	sections := []struct{ id, title, assignee string }{{"mine", "Tasks of " + d.Viewing, d.Viewing}, {"team", "The team's tasks (nobody's yet)", ""}}
	if d.Viewing == "" {
		sections = sections[1:]
	}
	timelines := map[string]timelineAtHand{}
	for _, sec := range sections {
		tasks, err := s.tasksByPriority(ctx, ledger.TaskFilter{Status: ledger.TaskOpen, Assignee: sec.assignee, AssigneeSet: true}, worklistSectionMax+1)
		if err != nil {
			s.fail(w, r, "listing tasks", err)
			return
		}
		section := worklistSection{ID: sec.id, Title: sec.title, More: len(tasks) > worklistSectionMax}
		for _, t := range tasks[:min(len(tasks), worklistSectionMax)] {
			wt, err := s.worklistTask(ctx, t, timelines)
			if err != nil {
				s.fail(w, r, "reading task "+strconv.FormatInt(t.ID, 10), err)
				return
			}
			if t.ID == d.FailedTask {
				wt.Form = d.Failed
			}
			section.Tasks = append(section.Tasks, wt)
		}
		d.Sections = append(d.Sections, section)
	}
	var buf bytes.Buffer
	if err := worklistTemplates.ExecuteTemplate(&buf, "worklist", d); err != nil {
		s.fail(w, r, "rendering the worklist", err)
		return
	}
	setPageHeaders(w.Header())
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// timelineAtHand is a customer's latest timeline entries, read once per page.
type timelineAtHand struct {
	entries []worklistEntry
	more    bool
}

// worklistTask is what the page shows of a task: its facts, what it is about and the
// customer's latest timeline entries.
func (s *Server) worklistTask(ctx context.Context, t Task, timelines map[string]timelineAtHand) (worklistTask, error) {
	wt := worklistTask{ID: t.ID, Kind: t.Kind, Title: t.Title, CustomerID: t.CustomerID, Invoices: strings.Join(t.InvoiceIDs, ", "),
		Band: t.Priority.Band, Score: strconv.FormatFloat(t.Priority.Score, 'f', 2, 64), DaysOverdue: t.Priority.DaysOverdue,
		Assignee: t.Assignee}
	if t.Priority.Balance != "" && t.Priority.Currency != "" {
		wt.Balance = t.Priority.Balance + " " + t.Priority.Currency
	}
	if t.DueAt != nil {
		wt.DueAt = t.DueAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	wt.Phone, _ = t.Details["phone"].(string)
	wt.Script, _ = t.Details["voicemail_script"].(string)
	switch t.Kind {
	case ledger.TaskCall:
		wt.Outcomes, wt.CanPromise = ledger.CallOutcomes, true
	case ledger.TaskReply:
		wt.Outcomes = replyOutcomes
		if id, ok := t.Details["reply_id"].(float64); ok {
			rep, err := s.Ledger.GetReply(ctx, int64(id))
			if err != nil {
				return wt, err
			}
			wt.ReplyFrom, wt.ReplySubject, wt.ReplyText, wt.Claims = rep.From, rep.Subject, rep.Body, rep.Says
		}
	default:
		wt.Outcomes = []string{"done"}
	}
	if t.CustomerID == "" {
		return wt, nil
	}
	at, ok := timelines[t.CustomerID]
	if !ok {
		page, err := s.Ledger.Timeline(ctx, ledger.TimelineQuery{CustomerID: t.CustomerID, Limit: worklistTimeline})
		if err != nil && !errors.Is(err, ledger.ErrUnknownCustomer) {
			return wt, err
		}
		for _, e := range page.Entries {
			at.entries = append(at.entries, worklistEntry{At: e.At.UTC().Format("2006-01-02 15:04"),
				Summary: timeline.Summary(timeline.Entry{Kind: e.Kind, InvoiceID: e.InvoiceID, Actor: e.Actor, Details: e.Details})})
		}
		at.more = page.More
		timelines[t.CustomerID] = at
	}
	wt.Timeline, wt.MoreTimeline = at.entries, at.more
	return wt, nil
}

// worklistAction serves one of the page's forms (POST /worklist/tasks/{id}/ACTION)
// through the API's handler for it: success goes back to the page saying so (303); a
// refusal shows the page with the API's answer's status, the problem named at the
// top and next to each field, and the form as it was sent.
func (s *Server) worklistAction(action string) http.HandlerFunc {
	spec := worklistActions[action]
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n < 1 {
			s.renderWorklist(w, r, http.StatusNotFound, worklistData{Error: fmt.Sprintf("There is no task %q.", id)})
			return
		}
		refuse := func(code int, msg string, fields map[string]string, values map[string]string) {
			s.renderWorklist(w, r, code, worklistData{Error: fmt.Sprintf("Task %d was not %s: %s", n, spec.done, msg),
				FailedTask: n, Failed: worklistForm{Action: action, Values: values, Errors: fields}})
		}
		if err := r.ParseForm(); err != nil {
			refuse(http.StatusBadRequest, "the form could not be read ("+err.Error()+").", nil, nil)
			return
		}
		values, bad := map[string]string{}, map[string]string{}
		for name, vs := range r.PostForm {
			switch {
			case !slices.Contains(spec.fields, name):
				bad[name] = "is not a field of this form"
			case len(vs) > 1:
				bad[name] = "must be given once"
			default:
				values[name] = strings.TrimSpace(vs[0])
			}
		}
		if len(bad) > 0 {
			refuse(http.StatusBadRequest, describe(bad)+".", bad, values)
			return
		}
		var body any
		var h http.HandlerFunc
		switch action {
		case "complete":
			req := TaskCompleteRequest{Outcome: values["outcome"], Note: values["note"]}
			if date, amount := values["promise_date"], values["promise_amount"]; date != "" || amount != "" {
				req.Promise = &struct {
					Date   string `json:"date"`
					Amount string `json:"amount,omitempty"`
				}{Date: date, Amount: amount}
			}
			h, body = s.completeTask, req
		case "snooze":
			h, body = s.snoozeTask, TaskSnoozeRequest{Until: values["until"]}
		default:
			h, body = s.assignTask, TaskAssignRequest{Assignee: values["assignee"]}
		}
		rec := callTaskHandler(r, h, body)
		if rec.code == http.StatusOK {
			http.Redirect(w, r, fmt.Sprintf("/worklist?done=%s&task=%d", action, n), http.StatusSeeOther)
			return
		}
		var e ErrorBody
		if json.Unmarshal(rec.body.Bytes(), &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(rec.body.String())
		}
		if len(e.Fields) == 0 {
			refuse(rec.code, e.Error+".", nil, values)
			return
		}
		fields := map[string]string{}
		var parts []string
		for apiField, problem := range e.Fields {
			f := formFieldOf(apiField)
			fields[f] = problem
			parts = append(parts, cmp.Or(worklistLabels[f], f)+" "+problem)
		}
		slices.Sort(parts)
		refuse(rec.code, strings.Join(parts, "; ")+".", fields, values)
	}
}

// recorder keeps the answer of an API handler the page called.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(b)
}

// callTaskHandler runs the task API's handler h for r (the page's form, with its
// authenticated key and the task's {id}) with body as its JSON body. The request keeps
// the page's path, so the audit entry says the page made the call.
func callTaskHandler(r *http.Request, h http.HandlerFunc, body any) *recorder {
	req := r.Clone(r.Context())
	b, _ := json.Marshal(body) // plain request structs
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Del("Content-Length")
	rec := &recorder{header: http.Header{}}
	h(rec, req)
	return rec
}
