package bench

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/dunwell/dunwell/notify"
)

// The ceiling: a bare workflow doing the least an invoice on the compressed policy must
// do — its reminder timers (each cancelled by a payment), one message per reminder
// through the same fake providers with the same SDK clients (email, then SMS), each on
// its channel's own send queue polled by a send worker as Dunwell's are, and the
// payment update — and nothing else: no decision logic, no search attributes, no
// version marker, no ledger write (no local activity), no template. It is issued and
// paid over HTTP by the same load generator, through a front that only decodes the
// request and calls Temporal (bareFront), so the two runs are paced alike. Dunwell does
// all of this and more, so the ceiling bounds it from above.

// bareTaskQueue keeps the ceiling's worker apart from Dunwell's.
const bareTaskQueue = "bench-ceiling"

// bareSendQueues are the ceiling's send queues, one per channel like
// invoiceapi.EmailTaskQueue and SMSTaskQueue: reminder i goes to queue i%2.
var bareSendQueues = []string{"bench-ceiling-email", "bench-ceiling-sms"}

// bareUpdate is the ceiling's payment update, named like Dunwell's.
const bareUpdate = "payment"

// BareInput is the bare workflow's schedule — reminder offsets from the invoice's
// issue instant, the first by email, the second by SMS — and its recipient.
type BareInput struct {
	IssuedAt  time.Time       `json:"issued_at"`
	Reminders []time.Duration `json:"reminders"`
	Email     string          `json:"email"`
	Phone     string          `json:"phone"`
}

// BarePayment is the bare payment update's argument.
type BarePayment struct {
	PaymentID string `json:"payment_id"`
	Amount    int64  `json:"amount_minor"`
}

// BareInvoice waits for each reminder's time (or the payment), sends it through the
// fake provider (an activity on the channel's send queue), then waits for the payment.
// Like Dunwell's policy (collection.Next), it counts from the invoice's issued_at and,
// of the reminders already due when it wakes, sends only the latest: a workflow that
// wakes late does not send stale reminders.
func BareInvoice(ctx workflow.Context, in BareInput) (string, error) {
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	var acts *bareActivities
	paid := false
	if err := workflow.SetUpdateHandler(ctx, bareUpdate, func(ctx workflow.Context, p BarePayment) (string, error) {
		paid = true
		return "paid", nil
	}); err != nil {
		return "", err
	}
	isPaid := func() bool { return paid }
	due := func(step int) time.Time { return in.IssuedAt.Add(in.Reminders[step]) }
	for step := 0; step < len(in.Reminders) && !paid; {
		now := workflow.Now(ctx)
		for step+1 < len(in.Reminders) && !due(step+1).After(now) {
			step++ // superseded by a later reminder that is due as well
		}
		if d := due(step).Sub(now); d > 0 {
			if _, err := workflow.AwaitWithTimeout(ctx, d, isPaid); err != nil {
				return "", err
			}
			continue // look again: woken late, a later reminder may be due too
		}
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			TaskQueue: bareSendQueues[step%len(bareSendQueues)], StartToCloseTimeout: 15 * time.Second})
		if err := workflow.ExecuteActivity(actx, acts.BareSend, id, step, in).Get(ctx, nil); err != nil {
			return "", err
		}
		step++
	}
	if err := workflow.Await(ctx, func() bool { return paid && workflow.AllHandlersFinished(ctx) }); err != nil {
		return "", err
	}
	return "paid", nil
}

// bareActivities send the bare reminders through the same provider clients as
// Dunwell's activities.
type bareActivities struct {
	email notify.EmailSender
	sms   notify.SMSSender
}

// BareSend sends reminder step of workflow id: an email for even steps, an SMS for odd
// ones (as the compressed policy: email, then SMS). The fake provider's acceptance of
// the SMS releases the benchmark's payment, as it does for Dunwell's invoices.
func (a *bareActivities) BareSend(ctx context.Context, id string, step int, in BareInput) error {
	key := fmt.Sprintf("%s/%d", id, step)
	text := fmt.Sprintf("Invoice %s: reminder %d.", id, step+1)
	if step%2 == 1 {
		_, err := a.sms.SendSMS(ctx, notify.SMS{Key: key, To: in.Phone, Body: text})
		return err
	}
	_, err := a.email.SendEmail(ctx, notify.Email{Key: key, InvoiceID: id, To: in.Email, Subject: "Invoice reminder", Text: text})
	return err
}

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
