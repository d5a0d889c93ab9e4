// Package statementsched keeps the Temporal Schedules that email customers their
// statements in step with statements.yaml: one schedule statements-<name> per entry,
// whose action starts the StatementRun workflow with the entry's selection. Ensure
// creates or updates them and deletes the Dunwell statement schedules no longer
// configured; operators see them under Schedules in the Temporal UI.
package statementsched

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/dunwell/dunwell/activities"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/workflows"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// IDPrefix starts the id of every schedule this package owns.
const IDPrefix = "statements-"

// ID is the Temporal schedule id of the configured schedule name.
func ID(name string) string { return IDPrefix + name }

// runTimeout bounds one statement run (sends are retried for up to about a day).
const runTimeout = 24 * time.Hour

// Options is the schedule a configured entry becomes.
func Options(s policy.StatementSchedule) client.ScheduleOptions {
	return client.ScheduleOptions{
		ID:      ID(s.Name),
		Spec:    spec(s),
		Action:  action(s),
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		// A run missed while Temporal was down still goes out within a day; older ones
		// wait for the next period.
		CatchupWindow: 24 * time.Hour,
		Note:          "Dunwell statements: " + s.Describe() + " (statements.yaml)",
	}
}

func spec(s policy.StatementSchedule) client.ScheduleSpec {
	sp := client.ScheduleSpec{TimeZoneName: s.Zone()}
	if s.Cron != "" {
		sp.CronExpressions = []string{s.Cron}
		return sp
	}
	h, m := s.Clock()
	sp.Calendars = []client.ScheduleCalendarSpec{{
		Second: []client.ScheduleRange{{Start: 0}}, Minute: []client.ScheduleRange{{Start: m}}, Hour: []client.ScheduleRange{{Start: h}},
		DayOfMonth: []client.ScheduleRange{{Start: s.Day}}, Month: []client.ScheduleRange{{Start: 1, End: 12}},
		DayOfWeek: []client.ScheduleRange{{Start: 0, End: 6}},
		Comment:   s.Describe(),
	}}
	return sp
}

func action(s policy.StatementSchedule) *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		ID:        ID(s.Name), // the server appends the scheduled time
		Workflow:  workflows.StatementRunWorkflowName,
		TaskQueue: invoiceapi.TaskQueue,
		Args: []any{workflows.StatementRunInput{
			Selection: activities.StatementSelection{Segments: s.Segments, Customers: s.Customers},
			Schedule:  s.Name, Timezone: s.Zone(), Period: s.EffectivePeriod(),
		}},
		WorkflowExecutionTimeout: runTimeout,
		StaticSummary:            "Statements " + s.Name + ": " + s.Describe(),
	}
}

// Result says what Ensure changed.
type Result struct {
	Created []string `json:"created,omitempty"`
	Updated []string `json:"updated,omitempty"`
	Deleted []string `json:"deleted,omitempty"`
}

// Ensure makes the namespace's statement schedules those configured: each is created,
// or updated in place (keeping whether an operator paused it), and every other
// schedule with the statements- prefix that starts StatementRun is deleted. Running
// it again changes nothing; it validates every entry before touching any schedule.
func Ensure(ctx context.Context, c client.Client, scheds []policy.StatementSchedule) (Result, error) {
	var res Result
	for _, s := range scheds {
		if err := s.Validate(); err != nil {
			return res, err
		}
	}
	sc := c.ScheduleClient()
	want := map[string]bool{}
	for _, s := range scheds {
		opts := Options(s)
		want[opts.ID] = true
		_, err := sc.Create(ctx, opts)
		if err == nil {
			res.Created = append(res.Created, opts.ID)
			continue
		}
		if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			return res, fmt.Errorf("creating schedule %s: %w", opts.ID, err)
		}
		err = sc.GetHandle(ctx, opts.ID).Update(ctx, client.ScheduleUpdateOptions{
			DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				sp := opts.Spec
				upd := in.Description.Schedule
				upd.Spec, upd.Action = &sp, opts.Action
				if upd.Policy == nil {
					upd.Policy = &client.SchedulePolicies{}
				}
				upd.Policy.Overlap, upd.Policy.CatchupWindow = opts.Overlap, opts.CatchupWindow
				if upd.State != nil && !upd.State.Paused {
					upd.State.Note = opts.Note
				}
				return &client.ScheduleUpdate{Schedule: &upd}, nil
			},
		})
		if err != nil {
			return res, fmt.Errorf("updating schedule %s: %w", opts.ID, err)
		}
		res.Updated = append(res.Updated, opts.ID)
	}
	have, err := List(ctx, c)
	if err != nil {
		return res, err
	}
	for _, e := range have {
		if want[e.ID] {
			continue
		}
		if err := sc.GetHandle(ctx, e.ID).Delete(ctx); err != nil {
			var nf *serviceerror.NotFound
			if !errors.As(err, &nf) {
				return res, fmt.Errorf("deleting schedule %s (no longer in statements.yaml): %w", e.ID, err)
			}
		}
		res.Deleted = append(res.Deleted, e.ID)
	}
	return res, nil
}

// Entry is one statement schedule as Temporal holds it.
type Entry struct {
	ID         string      `json:"id"`
	Note       string      `json:"note,omitempty"`
	Paused     bool        `json:"paused"`
	NextRuns   []time.Time `json:"next_runs,omitempty"`
	RecentRuns []time.Time `json:"recent_runs,omitempty"`
}

// List returns the namespace's statement schedules (id statements-*, starting
// StatementRun), sorted by id.
func List(ctx context.Context, c client.Client) ([]Entry, error) {
	it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{PageSize: 200})
	if err != nil {
		return nil, fmt.Errorf("listing schedules: %w", err)
	}
	var out []Entry
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("listing schedules: %w", err)
		}
		if !strings.HasPrefix(e.ID, IDPrefix) || e.WorkflowType.Name != workflows.StatementRunWorkflowName {
			continue
		}
		en := Entry{ID: e.ID, Note: e.Note, Paused: e.Paused, NextRuns: e.NextActionTimes}
		for _, r := range e.RecentActions {
			en.RecentRuns = append(en.RecentRuns, r.ScheduleTime)
		}
		out = append(out, en)
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Trigger starts the configured schedule's run now (skipped by the server when one
// is still running). A customer already sent a statement in the period is not sent
// another. An unknown name is an error naming the schedules there are.
func Trigger(ctx context.Context, c client.Client, name string) error {
	h := c.ScheduleClient().GetHandle(ctx, ID(name))
	if _, err := h.Describe(ctx); err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return fmt.Errorf("no statement schedule %s (run `starter statements schedule` to create the configured ones): %w", ID(name), err)
		}
		return fmt.Errorf("finding schedule %s: %w", ID(name), err)
	}
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP}); err != nil {
		return fmt.Errorf("triggering schedule %s: %w", ID(name), err)
	}
	return nil
}

// Describe returns the named schedules as Temporal holds them now (read by id, so a
// schedule just created shows before the list of schedules catches up).
func Describe(ctx context.Context, c client.Client, names []string) ([]Entry, error) {
	out := make([]Entry, 0, len(names))
	for _, n := range names {
		d, err := c.ScheduleClient().GetHandle(ctx, ID(n)).Describe(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading schedule %s: %w", ID(n), err)
		}
		e := Entry{ID: ID(n), NextRuns: d.Info.NextActionTimes}
		if d.Schedule.State != nil {
			e.Note, e.Paused = d.Schedule.State.Note, d.Schedule.State.Paused
		}
		for _, r := range d.Info.RecentActions {
			e.RecentRuns = append(e.RecentRuns, r.ScheduleTime)
		}
		out = append(out, e)
	}
	return out, nil
}
