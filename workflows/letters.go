package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/templates"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// Letters: a policy step on the channel "letter" renders a PDF letter about this
// invoice and hands it to the print-and-mail provider, or to the letter outbox
// (activities.SendLetter), exactly once per invoice and step. A letter is never
// consolidated: it goes from the invoice even when the policy consolidates its
// messages, and the step's other channels are its fallbacks.

// letterGiveUpAfter: a provider that stays down this long marks the letter failed and
// the step falls back to its next channel.
const letterGiveUpAfter = sendGiveUpAfter

// noteUnreachableLetter records, on a step that lists the letter channel, why no
// letter can go to this customer, so the state says why the step fell back.
func (c *collector) noteUnreachableLetter(ctx workflow.Context, step policy.Step) {
	if !slices.Contains(step.Channels, policy.Letter) || c.inv.Customer.Reachable(policy.Letter) {
		return
	}
	why := "no letter: the customer has no postal address"
	if c.inv.Customer.Address != nil {
		why = "no letter: the customer's channels do not include letter"
	}
	c.st.Notices = append(c.st.Notices, collection.Notice{
		Step: step.Name, Channel: policy.Letter, Status: collection.NoticeFailed, SentAt: workflow.Now(ctx), Error: why,
	})
}

// remindByLetter sends step's letter and records the notice. It reports whether the
// step should go on to its next channel: the provider refused the letter for good.
func (c *collector) remindByLetter(ctx workflow.Context, a collection.Action, step policy.Step, last bool, summary string) bool {
	res, err := c.sendLetter(ctx, summary, c.letterRequest(step, a.At))
	if c.withheld(ctx, err, step.Name, policy.Letter) {
		return false
	}
	if err == nil {
		c.st.Notices = append(c.st.Notices, withMove(collection.Notice{
			Step: step.Name, Channel: policy.Letter, Status: collection.NoticeSent, SentAt: res.SentAt, ProviderID: res.Reference(),
		}, a))
		return false
	}
	status := collection.NoticeFailed
	if last {
		status = collection.NoticeUndeliverable
	}
	c.logger.Warn("Letter failed", "step", step.Name, "error", err)
	c.st.Notices = append(c.st.Notices, withMove(collection.Notice{
		Step: step.Name, Channel: policy.Letter, Status: status, SentAt: workflow.Now(ctx), Error: failureMessage(err),
	}, a))
	return true
}

// sendLetter runs SendLetter on the collection's task queue and withdraws it, as
// sendNotice does a notice, when the invoice leaves the reminding states meanwhile.
func (c *collector) sendLetter(ctx workflow.Context, summary string, req invoiceapi.LetterRequest) (invoiceapi.LetterResult, error) {
	var res invoiceapi.LetterResult
	if err := workflow.Await(ctx, func() bool { return c.ledgerIdle() || c.remindersStopped() }); err != nil {
		return res, err
	}
	if c.remindersStopped() {
		return res, errWithheld
	}
	sctx, cancel := workflow.WithCancel(workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    sendStartToClose,
		ScheduleToCloseTimeout: letterGiveUpAfter,
		WaitForCancellation:    true,
		Summary:                summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
			NonRetryableErrorTypes: []string{invoiceapi.ErrTypeRecipientInvalid, invoiceapi.ErrTypeBadRequest, invoiceapi.ErrTypeWithheld},
		},
	}))
	defer cancel()
	f := workflow.ExecuteActivity(sctx, invoiceapi.ActivitySendLetter, req)
	_ = workflow.Await(ctx, func() bool { return f.IsReady() || c.remindersStopped() })
	if !f.IsReady() {
		c.logger.Info("Withdrawing a letter still being sent", "step", req.Step, "status", c.st.Status)
		cancel()
	}
	err := f.Get(ctx, &res)
	return res, err
}

func (c *collector) letterRequest(step policy.Step, at time.Time) invoiceapi.LetterRequest {
	cu := c.inv.Customer
	r := invoiceapi.LetterRequest{
		InvoiceID: c.inv.ID, CustomerID: cu.ID, CustomerName: cu.Name, Step: step.Name, Template: step.Template,
		Locale: cu.Locale, Timezone: cu.Timezone, ScheduledAt: at, Currency: c.inv.Currency,
		Original: c.inv.AmountDue, Fees: c.st.Fees + c.st.Compensation, Interest: c.st.Interest, Balance: c.st.Balance,
		DueDate: c.inv.DueDate.String(), PaymentURL: c.inv.PaymentURL, NotAfter: c.handOffAt(), Terms: templates.TermsOf(&c.pol),
	}
	if cu.Address != nil {
		r.To = *cu.Address
	}
	return r
}

// letterSummary is the activity's summary in the UI.
func (c *collector) letterSummary(a collection.Action, step policy.Step) string {
	return fmt.Sprintf("reminder %d of %d (%s) by letter", a.Step+1, len(c.pol.Steps), step.Name)
}
