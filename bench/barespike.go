package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/dunwell/dunwell/notify"
	"github.com/dunwell/dunwell/worker/assembly"
)

// The spike's ceiling: bare workflows of the spike's shape — a timer that fires at the
// due instant, one email through the same fake SendGrid (limited to R) on a send queue
// limited as Dunwell's are, then a long sleep (an invoice waiting for its escalation) —
// with no decision logic and no database. How fast they drain at R is what the machine and the
// Temporal server allow; Dunwell's spike is compared with it.

// bareSendQueue is the ceiling's send queue, limited like workflows.EmailTaskQueue.
const bareSendQueue = "bench-ceiling-send"

// BareSpikeInput is when the bare reminder is due and how long the workflow then sleeps.
type BareSpikeInput struct {
	Due   time.Time     `json:"due"`
	Sleep time.Duration `json:"sleep"`
}

// BareSpike sleeps until the due instant, sends once on bareSendQueue and sleeps on.
func BareSpike(ctx workflow.Context, in BareSpikeInput) error {
	if d := in.Due.Sub(workflow.Now(ctx)); d > 0 {
		if err := workflow.Sleep(ctx, d); err != nil {
			return err
		}
	}
	var acts *bareSpikeActivities
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{TaskQueue: bareSendQueue, StartToCloseTimeout: 15 * time.Second})
	if err := workflow.ExecuteActivity(actx, acts.BareSpikeSend).Get(ctx, nil); err != nil {
		return err
	}
	return workflow.Sleep(ctx, in.Sleep)
}

// bareSpikeActivities send the bare reminders and record when each was accepted.
type bareSpikeActivities struct {
	email       notify.EmailSender
	mu          sync.Mutex
	sent        int
	first, last time.Time
}

// BareSpikeSend sends the workflow's one email through the fake and notes when it
// was accepted.
func (a *bareSpikeActivities) BareSpikeSend(ctx context.Context) error {
	id := activity.GetInfo(ctx).WorkflowExecution.ID
	if _, err := a.email.SendEmail(ctx, notify.Email{Key: id, To: id + "@example.com", Subject: "Invoice reminder", Text: "Invoice " + id + " is due."}); err != nil {
		return err
	}
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sent == 0 {
		a.first = now
	}
	a.sent++
	a.last = now
	return nil
}

func (a *bareSpikeActivities) snapshot() (int, time.Time, time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sent, a.first, a.last
}

// SpikeCeiling is how the bare spike drained.
type SpikeCeiling struct {
	Drain
	Sent  int    `json:"sent"`
	Error string `json:"error,omitempty"`
}

// runSpikeCeiling starts n bare spike workflows due at one instant, with their send
// queue limited to r per second as Dunwell's are, and times the drain.
func runSpikeCeiling(ctx context.Context, s *stack, n, r int) SpikeCeiling {
	acts := &bareSpikeActivities{email: s.acts.Email}
	wf := worker.New(s.client, bareTaskQueue, assembly.CollectionWorkerOptions())
	wf.RegisterWorkflow(BareSpike)
	send := worker.New(s.client, bareSendQueue, assembly.SendWorkerOptions(float64(r)))
	send.RegisterActivity(acts)
	for _, w := range []worker.Worker{wf, send} {
		if err := w.Start(); err != nil {
			return SpikeCeiling{Error: fmt.Sprintf("starting a ceiling worker: %v", err)}
		}
		defer w.Stop()
	}
	// Starting workflows directly is fast (hundreds a second): 10 s of lead is ample.
	due := time.Now().Add(10 * time.Second).Truncate(time.Second).Add(time.Second)
	in := BareSpikeInput{Due: due, Sleep: time.Hour}
	if err := forEach(ctx, n, 32, func(ctx context.Context, i int) error {
		id := fmt.Sprintf("spike-ceiling-%06d", i)
		if _, err := s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: bareTaskQueue}, BareSpike, in); err != nil {
			return fmt.Errorf("starting %s: %w", id, err)
		}
		return nil
	}); err != nil {
		return SpikeCeiling{Error: err.Error()}
	}
	limit := time.Until(due) + max(60*time.Second, 4*time.Duration(n/r)*time.Second+30*time.Second)
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if sent, _, _ := acts.snapshot(); sent >= n {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	sent, first, last := acts.snapshot()
	res := SpikeCeiling{Sent: sent}
	if sent < n {
		res.Error = fmt.Sprintf("only %d of %d bare sends ran within %s", sent, n, limit.Round(time.Second))
	}
	res.Drain = drainOf(due, first, last, sent, r)
	return res
}
