package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/dunwell/dunwell/notify"
	"github.com/dunwell/dunwell/worker/assembly"
)

// The spike's ceiling: bare workflows of the spike's shape, with no decision logic and
// no database. Each invoice sleeps until the one due instant and hands its reminder to
// its customer's account (a signal); each account, once its invoices' reminders are in,
// sends one email listing them through the same fake SendGrid (limited to R) on a send
// queue limited as Dunwell's are (after the same gather delay as Dunwell's accounts),
// answers each invoice (a signal), and each invoice
// then sleeps on (waiting for its escalation). How fast that drains at R is what the
// machine and the Temporal server allow; Dunwell's spike is compared with it.

// bareSendQueue is the ceiling's send queue, limited like workflows.EmailTaskQueue.
const bareSendQueue = "bench-ceiling-send"

// The bare spike's signals: an invoice's reminder to its account, the account's answer.
const (
	bareRemindSignal = "remind"
	bareAnswerSignal = "answer"
)

// BareSpikeInput is when the bare reminder is due, whose account takes it, and how long
// the invoice then sleeps.
type BareSpikeInput struct {
	Due     time.Time     `json:"due"`
	Account string        `json:"account"`
	Sleep   time.Duration `json:"sleep"`
}

// BareSpike is a bare invoice: it sleeps until the due instant, hands its reminder to
// its account, waits for the answer and sleeps on.
func BareSpike(ctx workflow.Context, in BareSpikeInput) error {
	if d := in.Due.Sub(workflow.Now(ctx)); d > 0 {
		if err := workflow.Sleep(ctx, d); err != nil {
			return err
		}
	}
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	if err := workflow.SignalExternalWorkflow(ctx, in.Account, "", bareRemindSignal, id).Get(ctx, nil); err != nil {
		return err
	}
	workflow.GetSignalChannel(ctx, bareAnswerSignal).Receive(ctx, nil)
	return workflow.Sleep(ctx, in.Sleep)
}

// BareSpikeAccountInput is how many invoices' reminders a bare account waits for, and
// its gather delay from the first (as Dunwell's policy's consolidate gather).
type BareSpikeAccountInput struct {
	Invoices int           `json:"invoices"`
	Gather   time.Duration `json:"gather"`
}

// BareSpikeAccount is a bare customer account: it gathers its invoices' reminders
// (all of them, and at least the gather delay from the first), sends them as one
// email and answers each invoice.
func BareSpikeAccount(ctx workflow.Context, in BareSpikeAccountInput) error {
	remind := workflow.GetSignalChannel(ctx, bareRemindSignal)
	var ids []string
	var gathered workflow.Future
	for len(ids) < in.Invoices {
		var id string
		remind.Receive(ctx, &id)
		ids = append(ids, id)
		if gathered == nil {
			gathered = workflow.NewTimer(ctx, in.Gather)
		}
	}
	if err := gathered.Get(ctx, nil); err != nil {
		return err
	}
	var acts *bareSpikeActivities
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{TaskQueue: bareSendQueue, StartToCloseTimeout: 15 * time.Second})
	if err := workflow.ExecuteActivity(actx, acts.BareSpikeSend, ids).Get(ctx, nil); err != nil {
		return err
	}
	answers := make([]workflow.Future, 0, len(ids))
	for _, id := range ids {
		answers = append(answers, workflow.SignalExternalWorkflow(ctx, id, "", bareAnswerSignal, nil))
	}
	for _, f := range answers {
		if err := f.Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// bareSpikeActivities send the bare reminders and record when each was accepted.
type bareSpikeActivities struct {
	email       notify.EmailSender
	mu          sync.Mutex
	sent        int
	first, last time.Time
}

// BareSpikeSend sends the account's one email listing its invoices through the fake
// and notes when it was accepted.
func (a *bareSpikeActivities) BareSpikeSend(ctx context.Context, invoices []string) error {
	id := activity.GetInfo(ctx).WorkflowExecution.ID
	text := "Invoices due: " + strings.Join(invoices, ", ")
	if _, err := a.email.SendEmail(ctx, notify.Email{Key: id, To: id + "@example.com", Subject: "Invoice reminder", Text: text}); err != nil {
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

// runSpikeCeiling starts the bare spike's accounts (customers, gathering for gather)
// and invoices (perCustomer each), every reminder due at one instant, with their send
// queue limited to r per second as Dunwell's are, and times the drain of the accounts'
// emails.
func runSpikeCeiling(ctx context.Context, s *stack, customers, perCustomer, r int, gather time.Duration) SpikeCeiling {
	acts := &bareSpikeActivities{email: s.acts.Email}
	wf := worker.New(s.client, bareTaskQueue, assembly.CollectionWorkerOptions())
	wf.RegisterWorkflow(BareSpike)
	wf.RegisterWorkflow(BareSpikeAccount)
	send := worker.New(s.client, bareSendQueue, assembly.SendWorkerOptions(float64(r)))
	send.RegisterActivity(acts)
	for _, w := range []worker.Worker{wf, send} {
		if err := w.Start(); err != nil {
			return SpikeCeiling{Error: fmt.Sprintf("starting a ceiling worker: %v", err)}
		}
		defer w.Stop()
	}
	// Starting workflows directly is fast (hundreds a second): 15 s of lead is ample.
	due := time.Now().Add(15 * time.Second).Truncate(time.Second).Add(time.Second)
	accountID := func(i int) string { return fmt.Sprintf("spike-ceiling-account-%06d", i%customers) }
	if err := forEach(ctx, customers, 32, func(ctx context.Context, i int) error {
		id := accountID(i)
		if _, err := s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: bareTaskQueue}, BareSpikeAccount,
			BareSpikeAccountInput{Invoices: perCustomer, Gather: gather}); err != nil {
			return fmt.Errorf("starting %s: %w", id, err)
		}
		return nil
	}); err != nil {
		return SpikeCeiling{Error: err.Error()}
	}
	if err := forEach(ctx, customers*perCustomer, 32, func(ctx context.Context, i int) error {
		id := fmt.Sprintf("spike-ceiling-%06d", i)
		in := BareSpikeInput{Due: due, Account: accountID(i), Sleep: time.Hour}
		if _, err := s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: bareTaskQueue}, BareSpike, in); err != nil {
			return fmt.Errorf("starting %s: %w", id, err)
		}
		return nil
	}); err != nil {
		return SpikeCeiling{Error: err.Error()}
	}
	late := time.Now().After(due)
	limit := time.Until(due) + max(60*time.Second, 4*time.Duration(customers/r)*time.Second+30*time.Second)
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if sent, _, _ := acts.snapshot(); sent >= customers {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	sent, first, last := acts.snapshot()
	res := SpikeCeiling{Sent: sent}
	switch {
	case sent < customers:
		res.Error = fmt.Sprintf("only %d of %d bare sends ran within %s", sent, customers, limit.Round(time.Second))
	case late:
		res.Error = "starting the bare workflows ran past the due instant: the drain is not comparable"
	}
	// As Dunwell's, the drain counts from the end of the accounts' gather.
	res.Drain = drainOf(due.Add(gather), first, last, sent, r)
	return res
}
