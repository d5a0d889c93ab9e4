package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/reports"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// Tasks for people (docs/collectors.md): calls to make, the customers' replies to
// read. A collector lists them by priority and completes them with an outcome.

// TaskPromise is the promise a call obtained.
type TaskPromise struct {
	Date string `json:"date"`
	// Amount is a decimal in the invoice's currency; empty: the whole balance.
	Amount   string `json:"amount,omitempty"`
	Currency string `json:"currency,omitempty"`
}

// TaskPriority is how urgent a task is, and why.
type TaskPriority struct {
	// Score orders the worklist, highest first (see taskScore).
	Score float64 `json:"score"`
	// Balance (decimal, in Currency) and DaysOverdue of the task's open invoices.
	Balance     string `json:"balance"`
	Currency    string `json:"currency"`
	DaysOverdue int    `json:"days_overdue"`
	// Band is the customer's payment-behaviour band (docs/kpis.md).
	Band string `json:"band"`
}

// Task is one task for a person.
type Task struct {
	ID           int64          `json:"id"`
	Key          string         `json:"key"`
	Kind         string         `json:"kind"`
	CustomerID   string         `json:"customer_id"`
	InvoiceID    string         `json:"invoice_id,omitempty"`
	InvoiceIDs   []string       `json:"invoice_ids"`
	Status       string         `json:"status"`
	Assignee     string         `json:"assignee"`
	Title        string         `json:"title"`
	Step         string         `json:"step,omitempty"`
	Details      map[string]any `json:"details"`
	DueAt        *time.Time     `json:"due_at"`
	SnoozedUntil *time.Time     `json:"snoozed_until"`
	Outcome      string         `json:"outcome"`
	Note         string         `json:"note"`
	Promise      *TaskPromise   `json:"promise"`
	CompletedBy  string         `json:"completed_by"`
	CompletedAt  *time.Time     `json:"completed_at"`
	ClosedReason string         `json:"closed_reason"`
	CreatedAt    time.Time      `json:"created_at"`
	Priority     TaskPriority   `json:"priority"`
}

// TasksResponse answers GET /v1/tasks.
type TasksResponse struct {
	Tasks []Task `json:"tasks"`
}

// TaskCompleteRequest is the body of POST /v1/tasks/{id}/complete.
type TaskCompleteRequest struct {
	Outcome string `json:"outcome"`
	Note    string `json:"note,omitempty"`
	Promise *struct {
		Date   string `json:"date"`
		Amount string `json:"amount,omitempty"`
	} `json:"promise,omitempty"`
}

// TaskSnoozeRequest is the body of POST /v1/tasks/{id}/snooze.
type TaskSnoozeRequest struct {
	// Until is an RFC 3339 time or a date (the start of that day, UTC).
	Until string `json:"until"`
}

// TaskAssignRequest is the body of POST /v1/tasks/{id}/assign.
type TaskAssignRequest struct {
	Assignee string `json:"assignee"`
}

// TaskConflict answers a task that is done or closed already: the task as stored,
// with its first outcome.
type TaskConflict struct {
	Error string `json:"error"`
	Task  Task   `json:"task"`
}

// defaultTaskLimit is a page of tasks without ?limit.
const defaultTaskLimit = 100

func (s *Server) taskRoutes(mux *routeMux) {
	mux.Handle("GET /v1/tasks", s.require(auth.ScopeRead, s.listTasks))
	mux.Handle("GET /v1/tasks/{id}", s.require(auth.ScopeRead, s.getTask))
	mux.Handle("POST /v1/tasks/{id}/complete", s.require(auth.ScopeOperator, s.completeTask))
	mux.Handle("POST /v1/tasks/{id}/snooze", s.require(auth.ScopeOperator, s.snoozeTask))
	mux.Handle("POST /v1/tasks/{id}/assign", s.require(auth.ScopeOperator, s.assignTask))
}

// bandWeight is how much the customer's payment behaviour adds to a task's priority.
var bandWeight = map[string]float64{reports.BandAtRisk: 3, reports.BandSlow: 2, reports.BandNew: 1, reports.BandPrompt: 0}

// taskScore is a task's priority: larger debts, older debts and customers who pay
// worse come first. The balance counts by its order of magnitude (log10 of the
// amount in major units: 100.00 is 2, 10,000.00 is 4), days overdue a tenth each up
// to 90 (9), the band 0 to 3. Two decimals.
func taskScore(balance int64, currency string, daysOverdue int, band string) float64 {
	exp, err := money.Exponent(currency)
	if err != nil {
		exp = 2 // no open invoice: the balance is zero anyway
	}
	major := float64(balance) / math.Pow10(exp)
	score := math.Log10(1+max(major, 0)) + float64(min(max(daysOverdue, 0), 90))/10 + bandWeight[band]
	return math.Round(score*100) / 100
}

// taskJSON is the answer's form of a stored task; band is the customer's.
func taskJSON(t ledger.Task, band string, now time.Time) Task {
	out := Task{
		ID: t.ID, Key: t.Key, Kind: t.Kind, CustomerID: t.CustomerID, InvoiceID: t.InvoiceID, InvoiceIDs: t.InvoiceIDs,
		Status: t.Status, Assignee: t.Assignee, Title: t.Title, Step: t.Step, Details: t.Details, DueAt: t.DueAt,
		SnoozedUntil: t.SnoozedUntil, Outcome: t.Outcome, Note: t.Note, CompletedBy: t.CompletedBy,
		CompletedAt: t.CompletedAt, ClosedReason: t.ClosedReason, CreatedAt: t.CreatedAt,
	}
	if t.PromiseDate != "" {
		out.Promise = &TaskPromise{Date: t.PromiseDate}
		if t.PromiseAmount != nil && t.Currency != "" {
			out.Promise.Amount, out.Promise.Currency = money.Format(*t.PromiseAmount, t.Currency), t.Currency
		}
	}
	days := t.DaysOverdue(now)
	out.Priority = TaskPriority{Score: taskScore(t.Balance, t.Currency, days, band), Currency: t.Currency,
		DaysOverdue: days, Band: band}
	if t.Currency != "" {
		out.Priority.Balance = money.Format(t.Balance, t.Currency)
	}
	return out
}

// bands finds each customer's payment-behaviour band once.
type bands struct {
	s     *Server
	ctx   context.Context
	known map[string]string
}

func (b *bands) of(customerID string) (string, error) {
	if customerID == "" {
		return reports.BandNew, nil // a reply of no customer: no behaviour to go by
	}
	if band, ok := b.known[customerID]; ok {
		return band, nil
	}
	c, err := b.s.reporter().Customer(b.ctx, customerID)
	switch {
	case errors.Is(err, reports.ErrNotFound):
		c.Band = reports.BandNew
	case err != nil:
		return "", err
	}
	b.known[customerID] = c.Band
	return c.Band, nil
}

// taskQuery reads the filter of GET /v1/tasks, naming every bad parameter.
func taskQuery(r *http.Request) (ledger.TaskFilter, int, map[string]string) {
	f := ledger.TaskFilter{}
	limit := defaultTaskLimit
	bad := map[string]string{}
	params := r.URL.Query()
	for name, values := range params {
		if len(values) > 1 {
			bad[name] = "must be given once"
			continue
		}
		v := values[0]
		switch name {
		case "status":
			if !slices.Contains(ledger.TaskStatuses, v) {
				bad[name] = "must be one of " + strings.Join(ledger.TaskStatuses, ", ")
			}
			f.Status = v
		case "kind":
			if !slices.Contains(ledger.TaskKinds, v) {
				bad[name] = "must be one of " + strings.Join(ledger.TaskKinds, ", ")
			}
			f.Kind = v
		case "assignee":
			if err := ledger.CheckAssignee(v); err != nil {
				bad[name] = err.Error()
			}
			f.Assignee, f.AssigneeSet = v, true
		case "customer_id":
			if !collection.IDPattern.MatchString(v) {
				bad[name] = collection.IDProblem
			}
			f.CustomerID = v
		case "invoice_id":
			if !collection.IDPattern.MatchString(v) {
				bad[name] = collection.IDProblem
			}
			f.InvoiceID = v
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > ledger.MaxTaskList {
				bad[name] = fmt.Sprintf("must be a whole number from 1 to %d", ledger.MaxTaskList)
			}
			limit = n
		default:
			bad[name] = "is not a parameter of this route"
		}
	}
	return f, limit, bad
}

// listTasks answers GET /v1/tasks: the tasks the filter selects, highest priority
// first (ties: the oldest first).
func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) {
	f, limit, bad := taskQuery(r)
	if len(bad) > 0 {
		writeError(w, http.StatusBadRequest, "invalid parameters: "+describe(bad), bad)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
	defer cancel()
	out, err := s.tasksByPriority(ctx, f, limit)
	if err != nil {
		s.fail(w, r, "listing tasks", err)
		return
	}
	writeJSON(w, http.StatusOK, TasksResponse{Tasks: out})
}

// tasksByPriority is the answer of GET /v1/tasks: at most limit of the tasks f
// selects, highest priority first (ties: the oldest first). The /worklist page shows
// them in this order too.
func (s *Server) tasksByPriority(ctx context.Context, f ledger.TaskFilter, limit int) ([]Task, error) {
	now := s.now()
	f.Now = now
	tasks, err := s.Ledger.ListTasks(ctx, f)
	if err != nil {
		return nil, err
	}
	b := &bands{s: s, ctx: ctx, known: map[string]string{}}
	out := make([]Task, 0, len(tasks))
	for _, t := range tasks {
		band, err := b.of(t.CustomerID)
		if err != nil {
			return nil, fmt.Errorf("reading the payment behaviour of customer %s: %w", t.CustomerID, err)
		}
		out = append(out, taskJSON(t, band, now))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Priority.Score > out[j].Priority.Score })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// taskFromPath loads the task {id}; it answers 404 itself.
func (s *Server) taskFromPath(w http.ResponseWriter, r *http.Request, ctx context.Context) (ledger.Task, bool) {
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown task %q", raw), nil)
		return ledger.Task{}, false
	}
	t, err := s.Ledger.GetTask(ctx, id)
	if errors.Is(err, ledger.ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown task %d", id), nil)
		return ledger.Task{}, false
	}
	if err != nil {
		s.fail(w, r, "reading the task", err)
		return ledger.Task{}, false
	}
	return t, true
}

// answerTask writes the task with its priority.
func (s *Server) answerTask(w http.ResponseWriter, r *http.Request, ctx context.Context, code int, t ledger.Task) {
	b := &bands{s: s, ctx: ctx, known: map[string]string{}}
	band, err := b.of(t.CustomerID)
	if err != nil {
		s.fail(w, r, "reading the customer's payment behaviour", err)
		return
	}
	writeJSON(w, code, taskJSON(t, band, s.now()))
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	t, ok := s.taskFromPath(w, r, ctx)
	if !ok {
		return
	}
	s.answerTask(w, r, ctx, http.StatusOK, t)
}

// actor is who the request acts as: "key:<name>".
func actor(r *http.Request) string {
	if key, ok := auth.KeyFrom(r.Context()); ok {
		return "key:" + key.Name
	}
	return "api"
}

// taskFinished answers 409 for a task done or closed already, with the task as
// stored (its first outcome).
func (s *Server) taskFinished(w http.ResponseWriter, r *http.Request, ctx context.Context, action string, t ledger.Task) {
	var msg string
	if t.Status == ledger.TaskDone {
		msg = fmt.Sprintf("task %d was already completed as %s by %s", t.ID, t.Outcome, t.CompletedBy)
	} else {
		msg = fmt.Sprintf("task %d is closed: %s", t.ID, t.ClosedReason)
	}
	s.audit(r, http.StatusConflict, ledger.AuditEntry{Action: action, Outcome: ledger.AuditRejected, InvoiceID: t.InvoiceID,
		Reason: msg, Details: map[string]any{"task_id": t.ID, "customer_id": t.CustomerID}})
	b := &bands{s: s, ctx: ctx, known: map[string]string{}}
	band, _ := b.of(t.CustomerID) // the conflict is the answer; an unknown band reads as none
	writeJSON(w, http.StatusConflict, TaskConflict{Error: msg, Task: taskJSON(t, band, s.now())})
}

// completeTask answers POST /v1/tasks/{id}/complete: the outcome is recorded once in
// the ledger (and so on the customer's timeline). A call task's outcome goes to its
// invoice's workflow first (completeCall), which applies it and records it.
func (s *Server) completeTask(w http.ResponseWriter, r *http.Request) {
	const auditAction = "task.complete"
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	t, ok := s.taskFromPath(w, r, ctx)
	if !ok {
		return
	}
	var req TaskCompleteRequest
	if !decode(w, r, &req) {
		return
	}
	c := ledger.TaskCompletion{Outcome: req.Outcome, Note: req.Note, By: actor(r), At: s.now().UTC()}
	fields := map[string]string{}
	if req.Promise != nil {
		c.PromiseDate = req.Promise.Date
		if req.Promise.Date == "" {
			fields["promise.date"] = "is required when the customer promised"
		}
		if req.Promise.Amount != "" {
			if t.Currency == "" {
				fields["promise.amount"] = "the task has no open invoice to promise in"
			} else if v, err := money.Parse(req.Promise.Amount, t.Currency); err != nil {
				fields["promise.amount"] = err.Error()
			} else {
				c.PromiseAmount = &v
			}
		}
	}
	if field, problem := ledger.CheckTaskCompletion(t.Kind, c); field != "" && fields[field] == "" {
		fields[field] = problem
	}
	details := map[string]any{"task_id": t.ID, "customer_id": t.CustomerID, "outcome": req.Outcome}
	if len(fields) > 0 {
		msg := "invalid completion: " + describe(fields)
		s.audit(r, http.StatusUnprocessableEntity, ledger.AuditEntry{Action: auditAction, Outcome: ledger.AuditRejected, InvoiceID: t.InvoiceID, Reason: msg, Details: details})
		writeError(w, http.StatusUnprocessableEntity, msg, fields)
		return
	}
	if !t.Open() {
		s.taskFinished(w, r, ctx, auditAction, t)
		return
	}
	if t.Kind == ledger.TaskCall && t.InvoiceID != "" {
		s.completeCall(w, r, ctx, t, c, details)
		return
	}
	done, err := s.Ledger.CompleteTask(ctx, t.ID, c)
	var fin *ledger.TaskFinishedError
	switch {
	case errors.As(err, &fin):
		s.taskFinished(w, r, ctx, auditAction, fin.Task)
		return
	case err != nil:
		s.failAction(w, r, "completing task "+strconv.FormatInt(t.ID, 10), err, ledger.AuditEntry{Action: auditAction, InvoiceID: t.InvoiceID, Details: details})
		return
	}
	s.audit(r, http.StatusOK, ledger.AuditEntry{Action: auditAction, Outcome: ledger.AuditApplied, InvoiceID: t.InvoiceID, Details: details})
	s.answerTask(w, r, ctx, http.StatusOK, done)
}

// completeCall delivers a call task's outcome to its invoice's workflow as the update
// call-outcome (update id "task-<id>": a completion sent twice is applied once). The
// workflow checks it against the invoice (a promise within the policy's limits, a
// dispute the invoice allows), applies it, and records the task's completion in the
// ledger before it answers; the answer is the task as the ledger then holds it. A
// refusal changes nothing; an invoice whose collection has ended answers 409.
func (s *Server) completeCall(w http.ResponseWriter, r *http.Request, ctx context.Context, t ledger.Task, c ledger.TaskCompletion, details map[string]any) {
	const auditAction = "task.complete"
	in := invoiceapi.CallOutcomeInput{TaskID: t.ID, Outcome: c.Outcome, Note: c.Note, PromiseDate: c.PromiseDate, By: c.By}
	if c.PromiseAmount != nil {
		in.PromiseAmount = *c.PromiseAmount
	}
	reject := func(code int, msg string, fields map[string]string) {
		s.audit(r, code, ledger.AuditEntry{Action: auditAction, Outcome: ledger.AuditRejected, InvoiceID: t.InvoiceID, Reason: msg, Details: details})
		writeError(w, code, msg, fields)
	}
	if _, err := s.invoices().CallOutcome(ctx, t.InvoiceID, in); err != nil {
		s.updateFailed(w, r, t.InvoiceID, err, updateFailure{
			rejected: func(code int, msg string, fields map[string]string) {
				// The task may have finished meanwhile (completed by another request, closed
				// by the step's timeout or its invoice's end): answer with it as stored.
				if cur, gerr := s.Ledger.GetTask(ctx, t.ID); code == http.StatusConflict && gerr == nil && !cur.Open() {
					s.taskFinished(w, r, ctx, auditAction, cur)
					return
				}
				reject(code, "rejected: "+msg, fields)
			},
			closed: func(code int, view collection.View) {
				reject(code, fmt.Sprintf("invoice %s is %s and its collection has ended: the outcome of call task %d can no longer change it; nothing was recorded",
					t.InvoiceID, view.Status, t.ID), map[string]string{"status": "the invoice is " + string(view.Status)})
			},
			failed: func() {
				s.failAction(w, r, "delivering the outcome of call task "+strconv.FormatInt(t.ID, 10), err, ledger.AuditEntry{Action: auditAction, InvoiceID: t.InvoiceID, Details: details})
			},
		})
		return
	}
	done, err := s.Ledger.GetTask(ctx, t.ID)
	if err != nil {
		s.fail(w, r, "reading the completed task", err)
		return
	}
	s.audit(r, http.StatusOK, ledger.AuditEntry{Action: auditAction, Outcome: ledger.AuditApplied, InvoiceID: t.InvoiceID, Details: details})
	s.answerTask(w, r, ctx, http.StatusOK, done)
}

// snoozeTask answers POST /v1/tasks/{id}/snooze: the task leaves the open list until
// the given time.
func (s *Server) snoozeTask(w http.ResponseWriter, r *http.Request) {
	const auditAction = "task.snooze"
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	t, ok := s.taskFromPath(w, r, ctx)
	if !ok {
		return
	}
	var req TaskSnoozeRequest
	if !decode(w, r, &req) {
		return
	}
	until, err := parseUntil(req.Until)
	if err == nil && !until.After(s.now()) {
		err = errors.New("must be in the future")
	}
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid snooze: until "+err.Error(), map[string]string{"until": err.Error()})
		return
	}
	details := map[string]any{"task_id": t.ID, "customer_id": t.CustomerID, "until": until.Format(time.RFC3339)}
	out, err := s.Ledger.SnoozeTask(ctx, t.ID, until)
	s.taskChanged(w, r, ctx, auditAction, t, out, details, err)
}

// parseUntil reads an RFC 3339 time or a date (its start, UTC).
func parseUntil(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, errors.New("is required")
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		return d, nil
	}
	return time.Time{}, errors.New("must be an RFC 3339 time or a date YYYY-MM-DD")
}

// assignTask answers POST /v1/tasks/{id}/assign ("" unassigns).
func (s *Server) assignTask(w http.ResponseWriter, r *http.Request) {
	const auditAction = "task.assign"
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	t, ok := s.taskFromPath(w, r, ctx)
	if !ok {
		return
	}
	var req TaskAssignRequest
	if !decode(w, r, &req) {
		return
	}
	if err := ledger.CheckAssignee(req.Assignee); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid assignee: "+err.Error(), map[string]string{"assignee": err.Error()})
		return
	}
	details := map[string]any{"task_id": t.ID, "customer_id": t.CustomerID, "assignee": req.Assignee, "was": t.Assignee}
	if req.Assignee != "" {
		// As for a customer's portfolio: a task given to a name no collector signs in
		// with would be on nobody's worklist, not even the team's.
		ok, err := s.Ledger.IsCollector(ctx, req.Assignee)
		if err != nil {
			s.fail(w, r, "looking up the collector", err)
			return
		}
		if !ok {
			refused := fmt.Sprintf("%q is not a collector: no active API key of that name has the operator scope", req.Assignee)
			s.audit(r, http.StatusUnprocessableEntity, ledger.AuditEntry{Action: auditAction, Outcome: ledger.AuditRejected, InvoiceID: t.InvoiceID, Reason: refused, Details: details})
			writeError(w, http.StatusUnprocessableEntity, "invalid assignee: "+refused, map[string]string{"assignee": refused})
			return
		}
	}
	out, err := s.Ledger.AssignTask(ctx, t.ID, req.Assignee)
	s.taskChanged(w, r, ctx, auditAction, t, out, details, err)
}

// taskChanged answers a snooze or an assignment.
func (s *Server) taskChanged(w http.ResponseWriter, r *http.Request, ctx context.Context, auditAction string, t, out ledger.Task, details map[string]any, err error) {
	var fin *ledger.TaskFinishedError
	switch {
	case errors.As(err, &fin):
		s.taskFinished(w, r, ctx, auditAction, fin.Task)
	case err != nil:
		s.failAction(w, r, auditAction, err, ledger.AuditEntry{Action: auditAction, InvoiceID: t.InvoiceID, Details: details})
	default:
		s.audit(r, http.StatusOK, ledger.AuditEntry{Action: auditAction, Outcome: ledger.AuditApplied, InvoiceID: t.InvoiceID, Details: details})
		s.answerTask(w, r, ctx, http.StatusOK, out)
	}
}
