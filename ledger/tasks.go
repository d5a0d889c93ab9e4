package ledger

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Task kinds: what a person is asked to do.
const (
	TaskCall   = "call"   // phone the customer (a policy's call step)
	TaskReply  = "reply"  // read and answer the customer's reply
	TaskLetter = "letter" // print and post a letter
)

// TaskKinds lists every task kind.
var TaskKinds = []string{TaskCall, TaskReply, TaskLetter}

// Task statuses. A snoozed task whose snoozed_until has passed lists as open.
const (
	TaskOpen    = "open"
	TaskSnoozed = "snoozed"
	TaskDone    = "done"   // completed by a person, with an outcome
	TaskClosed  = "closed" // ended without an outcome (its invoice closed, the step timed out)
)

// TaskStatuses lists every task status.
var TaskStatuses = []string{TaskOpen, TaskSnoozed, TaskDone, TaskClosed}

// Call outcomes: what a collector's call came to.
const (
	OutcomeReached     = "reached"      // spoke to the customer
	OutcomePromised    = "promised"     // the customer promised to pay (a date, maybe an amount)
	OutcomeNoAnswer    = "no_answer"    // nobody answered
	OutcomeVoicemail   = "voicemail"    // left the policy's voicemail script
	OutcomeWrongNumber = "wrong_number" // the number is not the customer's
	OutcomeRefused     = "refused"      // the customer refused to pay or to talk
	OutcomeDisputed    = "disputed"     // the customer disputes the invoice
)

// CallOutcomes lists every call outcome, in the order a form shows them.
var CallOutcomes = []string{OutcomeReached, OutcomePromised, OutcomeNoAnswer, OutcomeVoicemail,
	OutcomeWrongNumber, OutcomeRefused, OutcomeDisputed}

// ConversationOutcomes are the call outcomes that mean a person was spoken to: no
// call follows one within the policy's quiet days.
var ConversationOutcomes = []string{OutcomeReached, OutcomePromised, OutcomeDisputed, OutcomeRefused}

// IsConversation reports whether a call outcome is one of ConversationOutcomes.
func IsConversation(outcome string) bool { return slices.Contains(ConversationOutcomes, outcome) }

// Limits of a task's fields.
const (
	MaxTaskNote     = 4000
	MaxTaskAssignee = 100
	MaxTaskTitle    = 300
	// MaxTaskList bounds one ListTasks answer.
	MaxTaskList = 1000
)

var (
	// ErrTaskFinished means the task is done or closed already: it cannot be
	// completed, snoozed or assigned again. The error is a *TaskFinishedError
	// carrying the task as stored (its first outcome).
	ErrTaskFinished = errors.New("task already finished")

	outcomeRE  = regexp.MustCompile(`^[a-z][a-z_]{0,39}$`)
	assigneeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@:-]{0,99}$`)
)

// TaskFinishedError is ErrTaskFinished with the task as stored.
type TaskFinishedError struct {
	Task Task
}

func (e *TaskFinishedError) Error() string {
	if e.Task.Status == TaskDone {
		return fmt.Sprintf("task %d was already completed as %s by %s", e.Task.ID, e.Task.Outcome, e.Task.CompletedBy)
	}
	return fmt.Sprintf("task %d was already closed: %s", e.Task.ID, e.Task.ClosedReason)
}

// Is makes errors.Is(err, ErrTaskFinished) hold.
func (e *TaskFinishedError) Is(target error) bool { return target == ErrTaskFinished }

// NewTask is a task to create.
type NewTask struct {
	// Key is the business key of what made the task: a second CreateTask with the
	// same key returns the first task. "call:<invoice>/<step>", "reply:<message id>".
	Key        string
	Kind       string
	CustomerID string
	// InvoiceID is the invoice whose workflow waits for the outcome (call tasks).
	InvoiceID string
	// InvoiceIDs are every invoice the task concerns (InvoiceID is added).
	InvoiceIDs []string
	// Assignee is the collector ("" unassigned).
	Assignee string
	Title    string
	Step     string
	// Details are what the collector needs (a call: phone, voicemail_script).
	Details map[string]any
	// DueAt is when the invoice stops waiting for the outcome; zero: never.
	DueAt time.Time
}

// Task is a stored task, with the priority inputs of its open invoices.
type Task struct {
	ID           int64
	Key          string
	Kind         string
	CustomerID   string
	InvoiceID    string
	InvoiceIDs   []string
	Status       string
	Assignee     string
	Title        string
	Step         string
	Details      map[string]any
	DueAt        *time.Time
	SnoozedUntil *time.Time
	Outcome      string
	Note         string
	// PromiseDate (YYYY-MM-DD, "" none) and PromiseAmount (minor units of the
	// invoice's currency; nil: the whole balance) of a promised outcome.
	PromiseDate   string
	PromiseAmount *int64
	CompletedBy   string
	CompletedAt   *time.Time
	// DeliveredAt: a call task's outcome reached its invoice's workflow.
	DeliveredAt  *time.Time
	ClosedReason string
	ClosedAt     *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Priority inputs from the task's invoices that are still open: the currency of
	// the earliest due one, the balance of those in that currency, the earliest due
	// date ("" when none is open).
	Currency string
	Balance  int64
	DueDate  string
}

// Open reports whether a person may still act on the task.
func (t Task) Open() bool { return t.Status == TaskOpen || t.Status == TaskSnoozed }

// DaysOverdue is how many days past the earliest due date of its open invoices the
// task is at now (0 when not overdue).
func (t Task) DaysOverdue(now time.Time) int {
	due, err := time.Parse(time.DateOnly, t.DueDate)
	if err != nil {
		return 0
	}
	y, m, d := now.UTC().Date()
	days := int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(due) / (24 * time.Hour))
	return max(days, 0)
}

// TaskFilter selects tasks. Empty fields select all.
type TaskFilter struct {
	// Status "open" includes snoozed tasks whose snoozed_until has passed.
	Status string
	Kind   string
	// Assignee, when AssigneeSet, selects that collector ("" the unassigned).
	Assignee    string
	AssigneeSet bool
	CustomerID  string
	InvoiceID   string
	// Limit bounds the answer (MaxTaskList when 0).
	Limit int
	// Now is when "open" is judged (snoozes that ended); zero: the database's now.
	Now time.Time
}

// TaskCompletion is what a person reports when they finish a task.
type TaskCompletion struct {
	Outcome string
	Note    string
	// PromiseDate (YYYY-MM-DD) and PromiseAmount (minor units, nil: the whole
	// balance): only with OutcomePromised, which needs the date.
	PromiseDate   string
	PromiseAmount *int64
	By            string
	At            time.Time
}

// CheckTaskCompletion validates a completion of a task of kind, naming the field.
// Call tasks take CallOutcomes; other kinds any lower-case word. It returns the
// field and the problem, or "" when the completion is valid.
func CheckTaskCompletion(kind string, c TaskCompletion) (field, problem string) {
	switch {
	case c.Outcome == "":
		return "outcome", "is required"
	case kind == TaskCall && !slices.Contains(CallOutcomes, c.Outcome):
		return "outcome", fmt.Sprintf("%q is not a call outcome; outcomes are %s", c.Outcome, strings.Join(CallOutcomes, ", "))
	case !outcomeRE.MatchString(c.Outcome):
		return "outcome", "must be a lower-case word of at most 40 letters and underscores"
	case utf8.RuneCountInString(c.Note) > MaxTaskNote:
		// Characters, as the column's CHECK (length(note) <= 4000) counts them.
		return "note", fmt.Sprintf("must be at most %d characters (has %d)", MaxTaskNote, utf8.RuneCountInString(c.Note))
	case TextProblem(c.Note) != "":
		// PostgreSQL cannot store a NUL: a call's outcome the ledger cannot record
		// would hold its invoice's update, retried for ever.
		return "note", TextProblem(c.Note)
	case c.Outcome != OutcomePromised && (c.PromiseDate != "" || c.PromiseAmount != nil):
		return "promise", "is only for the outcome " + OutcomePromised
	case c.Outcome == OutcomePromised && kind == TaskCall && c.PromiseDate == "":
		return "promise.date", "is required when the customer promised"
	case c.PromiseAmount != nil && *c.PromiseAmount <= 0:
		return "promise.amount", "must be greater than zero"
	case len(c.By) > 200:
		return "by", "must be at most 200 characters"
	}
	if c.PromiseDate != "" {
		if _, err := time.Parse(time.DateOnly, c.PromiseDate); err != nil {
			return "promise.date", "must be a date YYYY-MM-DD"
		}
	}
	return "", ""
}

// CheckAssignee validates a collector's name ("" unassigns).
func CheckAssignee(a string) error {
	if a != "" && !assigneeRE.MatchString(a) {
		return fmt.Errorf("must be 1-%d letters, digits and . _ @ : - (a collector's name)", MaxTaskAssignee)
	}
	return nil
}

// assigneeFor is whom a new task goes to when its creator names nobody: the
// collector whose portfolio the customer is in (customer_assignees), else nobody (the
// team's). A reply of no customer is the team's.
func assigneeFor(ctx context.Context, tx pgx.Tx, t NewTask) (string, error) {
	if t.Assignee != "" || t.CustomerID == "" {
		return t.Assignee, nil
	}
	var collector string
	err := tx.QueryRow(ctx, `SELECT coalesce(collector, '') FROM customer_assignees WHERE customer_id = $1`, t.CustomerID).Scan(&collector)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return collector, err
}

func validateNewTask(op string, t NewTask) error {
	switch {
	case t.Key == "" || len(t.Key) > 300:
		return invalid(op, "key must be 1-300 characters")
	case !slices.Contains(TaskKinds, t.Kind):
		return invalid(op, "unknown kind %q", t.Kind)
	case (t.CustomerID == "" && t.Kind != TaskReply) || len(t.CustomerID) > 128:
		// A reply no customer matched is the team's task, of no customer.
		return invalid(op, "customer id must be 1-128 characters")
	case t.Kind == TaskCall && t.InvoiceID == "":
		return invalid(op, "a call task needs its invoice")
	case CheckAssignee(t.Assignee) != nil:
		return invalid(op, "assignee %q: %v", t.Assignee, CheckAssignee(t.Assignee))
	case utf8.RuneCountInString(t.Title) > MaxTaskTitle || len(t.Step) > 100:
		return invalid(op, "title or step too long")
	}
	for _, id := range t.InvoiceIDs {
		if id == "" {
			return invalid(op, "empty invoice id")
		}
	}
	return nil
}

// taskColumns are read by scanTask, in its order. The priority inputs come from the
// task's open invoices.
const taskColumns = `
	t.task_id, t.task_key, t.kind, t.customer_id, coalesce(t.invoice_id, ''), t.invoice_ids, t.status,
	t.assignee, t.title, t.step, t.details, t.due_at, t.snoozed_until, t.outcome, t.note,
	coalesce(to_char(t.promise_date, 'YYYY-MM-DD'), ''), t.promise_amount_minor, t.completed_by, t.completed_at,
	t.delivered_at, t.closed_reason, t.closed_at, t.created_at, t.updated_at,
	coalesce(p.currency, ''), coalesce(p.balance, 0), coalesce(to_char(p.due_date, 'YYYY-MM-DD'), '')`

// taskFrom is the FROM clause of taskColumns.
const taskFrom = `
FROM tasks t
LEFT JOIN LATERAL (
	SELECT f.currency, f.due_date,
		(SELECT sum(i.balance_minor) FROM invoices i
		 WHERE i.invoice_id = ANY (t.invoice_ids) AND i.closed_at IS NULL AND i.currency = f.currency)::bigint AS balance
	FROM invoices f
	WHERE f.invoice_id = ANY (t.invoice_ids) AND f.closed_at IS NULL
	ORDER BY f.due_date, f.invoice_id LIMIT 1
) p ON true`

func scanTask(row pgx.CollectableRow) (Task, error) {
	var t Task
	err := row.Scan(&t.ID, &t.Key, &t.Kind, &t.CustomerID, &t.InvoiceID, &t.InvoiceIDs, &t.Status,
		&t.Assignee, &t.Title, &t.Step, &t.Details, &t.DueAt, &t.SnoozedUntil, &t.Outcome, &t.Note,
		&t.PromiseDate, &t.PromiseAmount, &t.CompletedBy, &t.CompletedAt,
		&t.DeliveredAt, &t.ClosedReason, &t.ClosedAt, &t.CreatedAt, &t.UpdatedAt,
		&t.Currency, &t.Balance, &t.DueDate)
	for _, p := range []**time.Time{&t.DueAt, &t.SnoozedUntil, &t.CompletedAt, &t.DeliveredAt, &t.ClosedAt} {
		if *p != nil {
			u := (*p).UTC()
			*p = &u
		}
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	if t.InvoiceIDs == nil {
		t.InvoiceIDs = []string{}
	}
	if t.Details == nil {
		t.Details = map[string]any{}
	}
	return t, err
}

func getTaskTx(ctx context.Context, q pgx.Tx, id int64, lock bool) (Task, error) {
	sql := `SELECT ` + taskColumns + taskFrom + ` WHERE t.task_id = $1`
	if lock {
		sql += ` FOR UPDATE OF t`
	}
	rows, err := q.Query(ctx, sql, id)
	if err != nil {
		return Task{}, err
	}
	return pgx.CollectExactlyOneRow(rows, scanTask)
}

// CreateTask stores a task once per Key: a repeat (an activity retried) returns the
// task stored first and created false, whatever it says. The invoice must belong to
// the customer (ErrInvalid) and exist (ErrNotFound).
func (s *Store) CreateTask(ctx context.Context, t NewTask) (Task, bool, error) {
	const op = "create task"
	if err := validateNewTask(op, t); err != nil {
		return Task{}, false, err
	}
	ids := slices.Clone(t.InvoiceIDs)
	if t.InvoiceID != "" && !slices.Contains(ids, t.InvoiceID) {
		ids = append([]string{t.InvoiceID}, ids...)
	}
	if ids == nil {
		ids = []string{}
	}
	details := t.Details
	if details == nil {
		details = map[string]any{}
	}
	var due *time.Time
	if !t.DueAt.IsZero() {
		d := t.DueAt.UTC()
		due = &d
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var (
		out     Task
		created bool
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `SELECT task_id FROM tasks WHERE task_key = $1`, t.Key).Scan(&id)
		if err == nil {
			out, err = getTaskTx(ctx, tx, id, false)
			return err
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var wrong []string
		if err := tx.QueryRow(ctx, `
			SELECT coalesce(array_agg(invoice_id ORDER BY invoice_id), '{}') FROM invoices
			WHERE invoice_id = ANY ($1) AND customer_id <> $2`, ids, t.CustomerID).Scan(&wrong); err != nil {
			return err
		}
		if len(wrong) > 0 {
			return invalid(op, "invoices %s are not customer %s's", strings.Join(wrong, ", "), t.CustomerID)
		}
		assignee, err := assigneeFor(ctx, tx, t)
		if err != nil {
			return err
		}
		var invoiceID *string
		if t.InvoiceID != "" {
			invoiceID = &t.InvoiceID
		}
		// ON CONFLICT: a concurrent creation under the same key won; read it.
		err = tx.QueryRow(ctx, `
			INSERT INTO tasks (task_key, kind, customer_id, invoice_id, invoice_ids, assignee, title, step, details, due_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (task_key) DO NOTHING
			RETURNING task_id`,
			t.Key, t.Kind, t.CustomerID, invoiceID, ids, assignee, t.Title, t.Step, details, due).Scan(&id)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			if err := tx.QueryRow(ctx, `SELECT task_id FROM tasks WHERE task_key = $1`, t.Key).Scan(&id); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			created = true
		}
		out, err = getTaskTx(ctx, tx, id, false)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrInvalid) {
			return Task{}, false, err
		}
		return Task{}, false, wrap(op, err)
	}
	return out, created, nil
}

// GetTask returns the task, or ErrNotFound.
func (s *Store) GetTask(ctx context.Context, id int64) (Task, error) {
	return queryOne(ctx, s, "get task", scanTask, `SELECT `+taskColumns+taskFrom+` WHERE t.task_id = $1`, id)
}

// GetTaskByKey returns the task made under a business key, or ErrNotFound.
func (s *Store) GetTaskByKey(ctx context.Context, key string) (Task, error) {
	return queryOne(ctx, s, "get task", scanTask, `SELECT `+taskColumns+taskFrom+` WHERE t.task_key = $1`, key)
}

// LastConversation returns the latest instant a call task of the customer, about any of
// their invoices, was completed with a conversation outcome (IsConversation), and
// false when there is none: the call rules' quiet days count from it.
func (s *Store) LastConversation(ctx context.Context, customerID string) (time.Time, bool, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var at *time.Time
	err := s.pool.QueryRow(ctx, `
		SELECT max(completed_at) FROM tasks
		WHERE customer_id = $1 AND kind = 'call' AND status = 'done' AND outcome = ANY($2)`,
		customerID, ConversationOutcomes).Scan(&at)
	if err != nil {
		return time.Time{}, false, wrap("last conversation", err)
	}
	if at == nil {
		return time.Time{}, false, nil
	}
	return at.UTC(), true, nil
}

// ListTasks returns the tasks f selects, oldest first (the API orders them by
// priority). A snoozed task whose snooze ended lists, and reads, as open.
func (s *Store) ListTasks(ctx context.Context, f TaskFilter) ([]Task, error) {
	const op = "list tasks"
	switch {
	case f.Status != "" && !slices.Contains(TaskStatuses, f.Status):
		return nil, invalid(op, "unknown status %q", f.Status)
	case f.Kind != "" && !slices.Contains(TaskKinds, f.Kind):
		return nil, invalid(op, "unknown kind %q", f.Kind)
	case f.Limit < 0 || f.Limit > MaxTaskList:
		return nil, invalid(op, "limit %d is not between 1 and %d", f.Limit, MaxTaskList)
	}
	if f.Limit == 0 {
		f.Limit = MaxTaskList
	}
	var now *time.Time
	if !f.Now.IsZero() {
		now = &f.Now
	}
	var assignee *string
	if f.AssigneeSet {
		assignee = &f.Assignee
	}
	tasks, err := queryRows(ctx, s, op, scanTask, `SELECT `+taskColumns+taskFrom+`
		WHERE ($1 = '' OR CASE
				WHEN $1 = 'open' THEN t.status = 'open' OR (t.status = 'snoozed' AND t.snoozed_until <= coalesce($7, now()))
				WHEN $1 = 'snoozed' THEN t.status = 'snoozed' AND t.snoozed_until > coalesce($7, now())
				ELSE t.status = $1 END)
			AND ($2 = '' OR t.kind = $2)
			AND ($3::text IS NULL OR t.assignee = $3)
			AND ($4 = '' OR t.customer_id = $4)
			AND ($5 = '' OR t.invoice_ids @> ARRAY[$5::text])
		ORDER BY t.created_at, t.task_id
		LIMIT $6`, f.Status, f.Kind, assignee, f.CustomerID, f.InvoiceID, f.Limit, now)
	if err != nil {
		return nil, err
	}
	at := time.Now()
	if now != nil {
		at = *now
	}
	for i := range tasks {
		wake(&tasks[i], at)
	}
	return tasks, nil
}

// wake shows a snoozed task whose snooze ended as open.
func wake(t *Task, now time.Time) {
	if t.Status == TaskSnoozed && t.SnoozedUntil != nil && !t.SnoozedUntil.After(now) {
		t.Status = TaskOpen
	}
}

// finishTx locks task id and runs change on it when it is still open; a finished
// task is a *TaskFinishedError.
func (s *Store) changeTask(ctx context.Context, op string, id int64, change func(tx pgx.Tx, t Task) error) (Task, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var out Task
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		t, err := getTaskTx(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if !t.Open() {
			return &TaskFinishedError{Task: t}
		}
		if err := change(tx, t); err != nil {
			return err
		}
		out, err = getTaskTx(ctx, tx, id, false)
		return err
	})
	var fin *TaskFinishedError
	if errors.As(err, &fin) || errors.Is(err, ErrInvalid) {
		return Task{}, err
	}
	return out, wrap(op, err)
}

// CompleteTask records a person's outcome of an open (or snoozed) task. A task done
// or closed already answers a *TaskFinishedError carrying it (the first outcome). A
// call task's outcome must still reach its invoice's workflow (DeliveredAt nil
// until MarkTaskDelivered); other kinds have no workflow and count as delivered.
func (s *Store) CompleteTask(ctx context.Context, id int64, c TaskCompletion) (Task, error) {
	const op = "complete task"
	if c.At.IsZero() {
		return Task{}, invalid(op, "time is zero")
	}
	return s.changeTask(ctx, op, id, func(tx pgx.Tx, t Task) error {
		if field, problem := CheckTaskCompletion(t.Kind, c); field != "" {
			return invalid(op, "%s %s", field, problem)
		}
		var date *string
		if c.PromiseDate != "" {
			date = &c.PromiseDate
		}
		_, err := tx.Exec(ctx, `
			UPDATE tasks SET status = 'done', snoozed_until = NULL, outcome = $2, note = $3,
				promise_date = $4::date, promise_amount_minor = $5, completed_by = $6, completed_at = $7::timestamptz,
				delivered_at = CASE WHEN kind = 'call' THEN NULL ELSE $7::timestamptz END, updated_at = now()
			WHERE task_id = $1`,
			id, c.Outcome, c.Note, date, c.PromiseAmount, c.By, c.At)
		return err
	})
}

// SnoozeTask hides an open task until until (it lists as open again then). by is
// who asked, for the record.
func (s *Store) SnoozeTask(ctx context.Context, id int64, until time.Time) (Task, error) {
	const op = "snooze task"
	if until.IsZero() {
		return Task{}, invalid(op, "until is zero")
	}
	return s.changeTask(ctx, op, id, func(tx pgx.Tx, _ Task) error {
		_, err := tx.Exec(ctx, `UPDATE tasks SET status = 'snoozed', snoozed_until = $2, updated_at = now() WHERE task_id = $1`, id, until.UTC())
		return err
	})
}

// AssignTask gives an open task to a collector ("" unassigns it).
func (s *Store) AssignTask(ctx context.Context, id int64, assignee string) (Task, error) {
	const op = "assign task"
	if err := CheckAssignee(assignee); err != nil {
		return Task{}, invalid(op, "assignee %q: %v", assignee, err)
	}
	return s.changeTask(ctx, op, id, func(tx pgx.Tx, _ Task) error {
		_, err := tx.Exec(ctx, `UPDATE tasks SET assignee = $2, updated_at = now() WHERE task_id = $1`, id, assignee)
		return err
	})
}

// CloseTask ends an open task without an outcome, saying why. It is idempotent: a
// task already done or closed is returned as stored, with closed false (a done call
// task's outcome is then the one that counts).
func (s *Store) CloseTask(ctx context.Context, id int64, reason string, at time.Time) (Task, bool, error) {
	const op = "close task"
	if strings.TrimSpace(reason) == "" || len(reason) > 500 {
		return Task{}, false, invalid(op, "reason must be 1-500 characters")
	}
	if at.IsZero() {
		return Task{}, false, invalid(op, "time is zero")
	}
	t, err := s.changeTask(ctx, op, id, func(tx pgx.Tx, _ Task) error {
		_, err := tx.Exec(ctx, `
			UPDATE tasks SET status = 'closed', snoozed_until = NULL, closed_reason = $2, closed_at = $3, updated_at = now()
			WHERE task_id = $1`, id, reason, at)
		return err
	})
	var fin *TaskFinishedError
	if errors.As(err, &fin) {
		return fin.Task, false, nil
	}
	return t, err == nil, err
}

// CloseTasksOfInvoice closes the open tasks of an invoice that closed: those whose
// workflow invoice it is, and those whose every invoice is now closed. It returns how
// many it closed.
func (s *Store) CloseTasksOfInvoice(ctx context.Context, invoiceID, reason string, at time.Time) (int, error) {
	const op = "close tasks of invoice"
	if invoiceID == "" || strings.TrimSpace(reason) == "" || at.IsZero() {
		return 0, invalid(op, "invoice id, reason and time are required")
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		n, err = closeTasksOfInvoiceTx(ctx, tx, invoiceID, reason, at)
		return err
	})
	return n, wrap(op, err)
}

// closeTasksOfInvoiceTx is CloseTasksOfInvoice inside a transaction (setStatusTx
// runs it when an invoice closes; RecordPayment repeats its statement as part of its
// own, so a change here goes there too).
func closeTasksOfInvoiceTx(ctx context.Context, tx pgx.Tx, invoiceID, reason string, at time.Time) (int, error) {
	tag, err := tx.Exec(ctx, `
		UPDATE tasks t SET status = 'closed', snoozed_until = NULL, closed_reason = $2, closed_at = $3, updated_at = now()
		WHERE t.status IN ('open', 'snoozed') AND t.invoice_ids @> ARRAY[$1::text]
			AND (t.invoice_id = $1 OR NOT EXISTS (
				SELECT 1 FROM invoices i WHERE i.invoice_id = ANY (t.invoice_ids) AND i.invoice_id <> $1 AND i.closed_at IS NULL))`,
		invoiceID, reason, at)
	return int(tag.RowsAffected()), err
}

// closedReason is why an invoice's tasks close when it takes a closing status.
func closedReason(status string) string {
	switch status {
	case "paid":
		return "the invoice was paid"
	case "cancelled":
		return "the invoice was cancelled"
	case "written_off":
		return "the invoice was written off"
	}
	return "the invoice closed (" + status + ")"
}

// MarkTaskDelivered records that a call task's outcome reached its invoice's
// workflow. Repeating it keeps the first time.
func (s *Store) MarkTaskDelivered(ctx context.Context, id int64, at time.Time) error {
	const op = "mark task delivered"
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `
		UPDATE tasks SET delivered_at = coalesce(delivered_at, $2), updated_at = now()
		WHERE task_id = $1 AND status = 'done'`, id, at)
	if err != nil {
		return wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("ledger: %s: task %d is not done: %w", op, id, ErrNotFound)
	}
	return nil
}
