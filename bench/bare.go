package bench

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/workflow"
)

// The ceiling: a bare workflow with the shape of a collected invoice — the same
// timers, activities, local activities and payment update as InvoiceCollection on
// the compressed policy, each send on its channel's own queue polled by a send
// worker, as Dunwell's are — and nothing else: no decision logic, no
// search-attribute upserts, no version marker, no database, no provider. Its
// activities return at once.

// bareTaskQueue keeps the ceiling's worker apart from Dunwell's.
const bareTaskQueue = "bench-ceiling"

// bareSendQueues are the ceiling's send queues, one per channel like
// invoiceapi.EmailTaskQueue and SMSTaskQueue: reminder i goes to queue i%2.
var bareSendQueues = []string{"bench-ceiling-email", "bench-ceiling-sms"}

// bareUpdate is the ceiling's payment update, named like Dunwell's.
const bareUpdate = "payment"

// BareInput is the bare workflow's schedule: reminder offsets from its start and
// when it escalates if unpaid.
type BareInput struct {
	Reminders     []time.Duration `json:"reminders"`
	EscalateAfter time.Duration   `json:"escalate_after"`
}

// BarePayment is the bare payment update's argument.
type BarePayment struct {
	PaymentID string `json:"payment_id"`
	Amount    int64  `json:"amount_minor"`
}

// BareInvoice waits for each reminder's time (or the payment), "sends" it (an
// activity), waits for the payment or escalation, and records the payment with its
// paid status, or the hand-off with its escalated status (local activities), like
// InvoiceCollection.
func BareInvoice(ctx workflow.Context, in BareInput) (string, error) {
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	var acts *bareActivities
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
	paid := false
	if err := workflow.SetUpdateHandler(ctx, bareUpdate, func(ctx workflow.Context, p BarePayment) (string, error) {
		paid = true
		if err := workflow.ExecuteLocalActivity(lctx, acts.BareRecordPayment, id, p).Get(ctx, nil); err != nil {
			return "", err
		}
		return "paid", nil
	}); err != nil {
		return "", err
	}
	start := workflow.Now(ctx)
	isPaid := func() bool { return paid }
	for i, off := range in.Reminders {
		if d := start.Add(off).Sub(workflow.Now(ctx)); d > 0 {
			if _, err := workflow.AwaitWithTimeout(ctx, d, isPaid); err != nil {
				return "", err
			}
		}
		if paid {
			break
		}
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			TaskQueue: bareSendQueues[i%len(bareSendQueues)], StartToCloseTimeout: 15 * time.Second})
		if err := workflow.ExecuteActivity(actx, acts.BareSend, id, i).Get(ctx, nil); err != nil {
			return "", err
		}
	}
	status := "paid"
	if !paid {
		if d := start.Add(in.EscalateAfter).Sub(workflow.Now(ctx)); d > 0 {
			if _, err := workflow.AwaitWithTimeout(ctx, d, isPaid); err != nil {
				return "", err
			}
		}
		if !paid {
			status = "escalated"
			if err := workflow.ExecuteLocalActivity(lctx, acts.BareRecordStatus, id, status).Get(ctx, nil); err != nil {
				return "", err
			}
			if err := workflow.Await(ctx, isPaid); err != nil {
				return "", err
			}
			status = "paid"
		}
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return "", err
	}
	return status, nil
}

// bareActivities do nothing but tell the benchmark a reminder "went out".
type bareActivities struct {
	mu      sync.Mutex
	waiters map[string]func(time.Time)
}

// await calls fn once the bare workflow id has sent its reminder number step.
func (a *bareActivities) await(id string, fn func(time.Time)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.waiters == nil {
		a.waiters = map[string]func(time.Time){}
	}
	a.waiters[id] = fn
}

// BareSend stands for a provider call: it returns at once. The second reminder
// releases the benchmark's payment for that invoice, as the fake provider does for
// Dunwell.
func (a *bareActivities) BareSend(_ context.Context, id string, step int) error {
	if step != 1 {
		return nil
	}
	a.mu.Lock()
	fn := a.waiters[id]
	delete(a.waiters, id)
	a.mu.Unlock()
	if fn != nil {
		fn(time.Now())
	}
	return nil
}

// BareRecordPayment stands for the ledger write of a payment and its paid status.
func (a *bareActivities) BareRecordPayment(context.Context, string, BarePayment) error { return nil }

// BareRecordStatus stands for the ledger write of the hand-off and its status.
func (a *bareActivities) BareRecordStatus(context.Context, string, string) error { return nil }

// bareUpdateQueue is the payment ceiling's task queue.
const bareUpdateQueue = "bench-update-ceiling"

// BareAccount answers the payment update at once and does nothing else, asleep
// between updates for up to sleep: the least work a payment can cost Temporal (one
// workflow task per update), the payment latency ceiling.
func BareAccount(ctx workflow.Context, sleep time.Duration) error {
	if err := workflow.SetUpdateHandler(ctx, bareUpdate, func(workflow.Context, BarePayment) (string, error) {
		return "ok", nil
	}); err != nil {
		return err
	}
	return workflow.Sleep(ctx, sleep)
}
