package bench

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// Scenario names one invoice life whose cost is measured.
type Scenario string

// The measured scenarios.
const (
	ScenarioPaidBeforeDue Scenario = "paid before due"
	ScenarioRemindedPaid  Scenario = "two reminders, then paid"
	ScenarioEscalated     Scenario = "escalated"
)

// Cost is one scenario's history against its hand-computed minimum.
type Cost struct {
	Scenario     Scenario       `json:"scenario"`
	WorkflowID   string         `json:"workflow_id"`
	Events       int            `json:"events"`
	Actions      int            `json:"actions"`
	MinEvents    int            `json:"min_events"`
	MinActions   int            `json:"min_actions"`
	EventsRatio  float64        `json:"events_ratio"`
	ActionsRatio float64        `json:"actions_ratio"`
	ByType       map[string]int `json:"by_type"`
	// Extra lists the event types Dunwell records beyond the minimum (count > min).
	Extra string `json:"extra"`
	Error string `json:"error,omitempty"`
}

// minimum is a scenario's smallest possible history, written out event by event.
type minimum struct {
	Events  []enumspb.EventType
	Actions int
}

// minimumFor returns the fewest history events a Temporal workflow needs to do what
// the scenario asks, and the Actions they bill:
//
//   - every wait for a reminder or the escalation is a durable timer (TimerStarted,
//     TimerFired when it fires; a timer still pending at close costs no cancel event);
//   - every call to a provider is one activity (Scheduled, Started, Completed): one
//     send per reminder. Sends need their own task queues (a rate limit shared by all
//     workers) and may take long, so they cannot be local activities;
//   - every write to the service's own database is one local activity, a single
//     MarkerRecorded inside the workflow task that decided it: one write for the
//     payment *and* the paid status together, one for the hand-off that also records
//     the escalated status;
//   - the payment is an update accepted and completed in the workflow task that
//     applies and records it;
//   - every wake-up is one workflow task (Scheduled, Started, Completed);
//   - no search-attribute upserts (visibility is a feature beyond the minimum), and no
//     version marker (worker versioning would make GetVersion's marker and its
//     TemporalChangeVersion upsert unnecessary).
func minimumFor(sc Scenario) minimum {
	const (
		started   = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
		completed = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
		timer     = enumspb.EVENT_TYPE_TIMER_STARTED
		fired     = enumspb.EVENT_TYPE_TIMER_FIRED
		actSched  = enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
		actStart  = enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED
		actDone   = enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
		marker    = enumspb.EVENT_TYPE_MARKER_RECORDED
		accepted  = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
		updDone   = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
	)
	wft := []enumspb.EventType{enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED}
	var ev []enumspb.EventType
	add := func(parts ...any) {
		for _, p := range parts {
			switch v := p.(type) {
			case enumspb.EventType:
				ev = append(ev, v)
			case []enumspb.EventType:
				ev = append(ev, v...)
			}
		}
	}
	remind := func() {
		add(fired, wft, actSched)          // reminder due: send
		add(actStart, actDone, wft, timer) // sent: sleep until the next step
	}
	// Issue: start, first task sets the first reminder's timer.
	add(started, wft, timer)
	switch sc {
	case ScenarioPaidBeforeDue:
		add(wft, accepted, marker, updDone, completed) // payment: accept, record, answer, close
	case ScenarioRemindedPaid:
		remind()
		remind()
		add(wft, accepted, marker, updDone, completed)
	case ScenarioEscalated:
		remind()
		remind()
		add(fired, wft, marker) // escalate: hand-off and status in one write; then wait for a payment
	}
	m := minimum{Events: ev}
	for _, t := range ev {
		m.Actions += actionsOf(&historypb.HistoryEvent{EventType: t})
	}
	return m
}

// actionsOf estimates the Temporal Cloud Actions one history event bills, following
// Temporal's published list: a workflow started (start, continue-as-new, child), a
// timer started, an activity scheduled plus each retry (attempt > 1 on its Started
// event), an update accepted, a signal, a search-attribute upsert or properties
// change, a marker (side effect, local activity, version), an external signal or
// cancel. Workflow tasks, completions and fired timers are free, and so is an upsert
// of TemporalChangeVersion alone (the one GetVersion adds). Queries are billed but
// leave no event (the benchmark sends none to these invoices).
func actionsOf(e *historypb.HistoryEvent) int {
	switch t := e.GetEventType(); t {
	case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
		fields := e.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()
		if _, ok := fields["TemporalChangeVersion"]; ok && len(fields) == 1 {
			return 0
		}
		return 1
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		enumspb.EVENT_TYPE_TIMER_STARTED,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
		enumspb.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
		enumspb.EVENT_TYPE_MARKER_RECORDED,
		enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
		enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
		enumspb.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
		return 1
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
		return int(max(e.GetActivityTaskStartedEventAttributes().GetAttempt()-1, 0)) // retries
	}
	return 0
}

// localActivityType is the activity type of a local activity's marker ("" for any
// other marker). The SDK records it in the marker's "data" detail.
func localActivityType(e *historypb.HistoryEvent) string {
	m := e.GetMarkerRecordedEventAttributes()
	if m.GetMarkerName() != "LocalActivity" {
		return ""
	}
	var data struct{ ActivityType string }
	if err := converter.GetDefaultDataConverter().FromPayloads(m.GetDetails()["data"], &data); err != nil {
		return ""
	}
	return data.ActivityType
}

// history reads a workflow's whole history.
func history(ctx context.Context, c client.Client, workflowID string) ([]*historypb.HistoryEvent, error) {
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var out []*historypb.HistoryEvent
	for i := 0; it.HasNext() && i < 100_000; i++ {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// costOf counts a history against a scenario's minimum.
func costOf(sc Scenario, workflowID string, events []*historypb.HistoryEvent) Cost {
	m := minimumFor(sc)
	c := Cost{Scenario: sc, WorkflowID: workflowID, Events: len(events), MinEvents: len(m.Events), MinActions: m.Actions, ByType: map[string]int{}}
	for _, e := range events {
		c.Actions += actionsOf(e)
		c.ByType[shortType(e.GetEventType())]++
	}
	minBy := map[string]int{}
	for _, t := range m.Events {
		minBy[shortType(t)]++
	}
	var extra []string
	for t, n := range c.ByType {
		if n > minBy[t] {
			extra = append(extra, fmt.Sprintf("+%d %s", n-minBy[t], t))
		}
	}
	sort.Strings(extra)
	c.Extra = strings.Join(extra, ", ")
	c.EventsRatio = round2(float64(c.Events) / float64(c.MinEvents))
	c.ActionsRatio = round2(float64(c.Actions) / float64(m.Actions))
	return c
}

// shortType is "TimerStarted" for EVENT_TYPE_TIMER_STARTED.
func shortType(t enumspb.EventType) string {
	if !strings.Contains(t.String(), "_") {
		return t.String() // the API's enums already print as "TimerStarted"
	}
	parts := strings.Split(strings.ToLower(strings.TrimPrefix(t.String(), "EVENT_TYPE_")), "_")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "")
}

// runCosts runs the three scenarios through the API at once and counts their
// histories.
func runCosts(ctx context.Context, s *stack) []Cost {
	inv := newInvoices("cost", 3)
	out := make([]Cost, 3)
	var wg sync.WaitGroup
	run := func(i int, sc Scenario, fn func(ctx context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
			defer cancel()
			id := invoiceapi.WorkflowID(inv[i].ID)
			err := fn(ctx)
			var events []*historypb.HistoryEvent
			if err == nil {
				events, err = history(ctx, s.client, id)
			}
			out[i] = costOf(sc, id, events)
			if err != nil {
				out[i].Error = err.Error()
			}
		}()
	}
	closed := func(ctx context.Context, b benchInvoice) error {
		return s.client.GetWorkflow(ctx, invoiceapi.WorkflowID(b.ID), "").Get(ctx, nil)
	}
	run(0, ScenarioPaidBeforeDue, func(ctx context.Context) error {
		if err := s.issue(ctx, inv[0].request(policyFlow, time.Now())); err != nil {
			return err
		}
		// Pay once the workflow sleeps on its first timer, as a real invoice does: a
		// payment that races the first task would skip the timer and flatter the count.
		if err := waitIdleAfter(ctx, s.client, invoiceapi.WorkflowID(inv[0].ID), "", 0); err != nil {
			return err
		}
		if _, err := s.pay(ctx, inv[0].ID, "pay-"+inv[0].ID, inv[0].Amount); err != nil {
			return err
		}
		return closed(ctx, inv[0])
	})
	run(1, ScenarioRemindedPaid, func(ctx context.Context) error {
		paid := make(chan error, 1)
		s.sends.await("twilio:"+inv[1].Customer.Phone, func(time.Time) {
			go func() {
				// As above: pay while it sleeps towards the escalation, after both sends.
				err := waitIdleAfter(ctx, s.client, invoiceapi.WorkflowID(inv[1].ID), "SendNotice", 2)
				if err == nil {
					_, err = s.pay(ctx, inv[1].ID, "pay-"+inv[1].ID, inv[1].Amount)
				}
				paid <- err
			}()
		})
		if err := s.issue(ctx, inv[1].request(policyFlow, time.Now())); err != nil {
			return err
		}
		select {
		case err := <-paid:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return fmt.Errorf("the second reminder never went out: %w", ctx.Err())
		}
		return closed(ctx, inv[1])
	})
	run(2, ScenarioEscalated, func(ctx context.Context) error {
		if err := s.issue(ctx, inv[2].request(policyEscalate, time.Now())); err != nil {
			return err
		}
		return waitIdleAfter(ctx, s.client, invoiceapi.WorkflowID(inv[2].ID), "Escalate", 1)
	})
	wg.Wait()
	return out
}

// waitIdleAfter waits until the workflow has scheduled activity at least n times (any
// n when activity is empty) and sleeps: no activity or workflow task pending.
func waitIdleAfter(ctx context.Context, c client.Client, workflowID, activity string, n int) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		events, err := history(ctx, c, workflowID)
		if err != nil {
			return err
		}
		if idleAfter(events, activity, n) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s never went idle after %s: %w", workflowID, activity, ctx.Err())
		case <-tick.C:
		}
	}
}

func idleAfter(events []*historypb.HistoryEvent, activity string, n int) bool {
	seen := 0
	open, lastDone, lastTask, pendingTask := 0, -1, -1, false
	for i, e := range events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			open++
			if e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == activity {
				seen++
			}
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			if localActivityType(e) == activity {
				seen++
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED,
			enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
			open--
			lastDone = i
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
			pendingTask = true
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			pendingTask, lastTask = false, i
		}
	}
	// Commands (upserts, timers) follow the last completed task; the workflow is idle
	// when no activity or task is pending and a task ran after the last activity.
	return (activity == "" || seen >= n) && open == 0 && !pendingTask && lastTask > lastDone
}
