package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/dunwell/dunwell/internal/metrics"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/notify"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/templates"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// reconcileMargin widens the provider look-up window around the first claim of a
// notice, for clock skew between the worker, the database and the provider.
const reconcileMargin = 5 * time.Minute

// Activities are the collection workflow's side effects. The worker builds one and
// registers a pointer to it.
type Activities struct {
	Ledger *ledger.Store
	Email  notify.EmailSender
	SMS    notify.SMSSender
	// EmailTemplateIDs maps template names to SendGrid dynamic templates: those
	// emails are rendered by SendGrid from the reminder's data (see templateData).
	EmailTemplateIDs map[string]string
	// Business is who every reminder says it comes from: name, postal address, the
	// reply-to a person reads, phone (config DUNWELL_BUSINESS_*).
	Business templates.Business
}

// SendNotice sends one reminder on one channel, exactly once per notice key:
//
//  1. the key is claimed in the ledger (a unique row) before the provider is called;
//  2. a key already sent returns the stored result and sends nothing;
//  3. a key claimed by an earlier attempt that never finished (the worker crashed, or
//     the call timed out) is reconciled with the provider first: if the provider
//     already has the message, it is recorded as sent and not sent again;
//  4. an address that opted out (STOP, unsubscribe, spam report, hard bounce) is
//     never sent to: the notice is marked failed instead (see checkOptOut);
//  5. after the provider accepts, the ledger row is marked sent.
//
// The crash windows, and why each sends at most one message:
//   - before the provider call: the row is 'sending' and the provider has nothing;
//     the retry reconciles (finds nothing) and sends.
//   - after the provider accepted, before the ledger write: the row is 'sending'; the
//     retry reconciles, finds the message at the provider (SendGrid by the notice_key
//     custom arg, Twilio by recipient, sender and text since the first claim) and
//     marks it sent without sending.
//   - after the ledger write, before Temporal heard of it: the row is 'sent'; the
//     retry returns it and sends nothing.
//
// Neither provider takes an idempotency key, so reconciliation is what closes the
// second window. Where the provider cannot be asked, the notice is recorded as
// OutcomeUnknown for an operator rather than risking a duplicate.
//
// A recipient the provider says can never receive the message fails with the
// non-retryable ErrTypeRecipientInvalid, so the workflow falls back to another channel;
// 429, 5xx and timeouts are returned as retryable errors (429 honours Retry-After).
func (a *Activities) SendNotice(ctx context.Context, req invoiceapi.NoticeRequest) (invoiceapi.NoticeResult, error) {
	logger := activity.GetLogger(ctx)
	if err := validateNotice(req); err != nil {
		return invoiceapi.NoticeResult{}, badRequest(err)
	}
	msg, err := render(req, a.Business)
	if err != nil {
		return invoiceapi.NoticeResult{}, badRequest(err)
	}
	if info := templates.MeasureSMS(msg.sms); req.Channel == policy.SMS && info.MultiSegment() {
		// Sent all the same, but flagged: it costs more, and long texts read badly.
		logger.Warn("SMS longer than one segment", "key", req.Key(), "template", req.Template, "locale", req.Locale,
			"encoding", info.Encoding, "units", info.Units, "segments", info.Segments)
	}
	row, err := a.Ledger.ClaimNotice(ctx, ledger.NoticeClaim{
		Key: req.Key(), InvoiceID: req.InvoiceID, Step: req.Step, Channel: string(req.Channel), NotAfter: req.NotAfter,
	})
	if err != nil {
		return invoiceapi.NoticeResult{}, ledgerFailed("claiming notice "+req.Key(), err)
	}
	switch row.Status {
	case ledger.NoticeSent:
		logger.Info("Notice already sent; not sending again", "key", req.Key(), "provider_id", row.ProviderID)
		res := invoiceapi.NoticeResult{ProviderID: row.ProviderID, AlreadySent: true}
		if row.SentAt != nil {
			res.SentAt = *row.SentAt
		}
		return res, nil
	case ledger.NoticeFailed, ledger.NoticeUndeliverable:
		if row.Withheld != "" {
			// Settled by an earlier attempt that found it withheld, or failed before.
			return invoiceapi.NoticeResult{}, temporal.NewNonRetryableApplicationError("notice "+req.Key()+" not sent: "+row.Withheld, invoiceapi.ErrTypeWithheld, nil)
		}
		return invoiceapi.NoticeResult{}, temporal.NewNonRetryableApplicationError(
			"notice "+req.Key()+" failed permanently earlier: "+row.Error, invoiceapi.ErrTypeRecipientInvalid, nil)
	}
	if row.NeedsReconcile() {
		// An earlier attempt claimed this notice and never recorded the outcome: the
		// provider may have accepted it. Ask before sending again.
		receipt, found, err := a.find(ctx, req, msg, row.ClaimedAt.Add(-reconcileMargin))
		if err != nil && notify.IsPermanent(err) {
			text := "outcome unknown: an interrupted send could not be checked with the provider: " + err.Error()
			if lerr := a.Ledger.CompleteNotice(ctx, req.Key(), ledger.NoticeFailed, "", text, time.Now().UTC()); lerr != nil {
				return invoiceapi.NoticeResult{}, ledgerFailed("recording notice "+req.Key()+" as unknown", lerr)
			}
			return invoiceapi.NoticeResult{}, temporal.NewNonRetryableApplicationError(text, invoiceapi.ErrTypeOutcomeUnknown, err)
		}
		if err != nil {
			return invoiceapi.NoticeResult{}, fmt.Errorf("reconciling notice %s with the provider: %w", req.Key(), err)
		}
		if found {
			logger.Info("Notice found at the provider after an interrupted attempt; not sending again", "key", req.Key(), "provider_id", receipt.ProviderID)
			return a.complete(ctx, req, receipt, true)
		}
	}
	if row.Withheld == "" && withdrawn(ctx) {
		row.Withheld = "the workflow withdrew it: the invoice left the reminding states while the send waited"
	}
	if row.Withheld != "" {
		return invoiceapi.NoticeResult{}, a.withhold(ctx, req, row.Withheld)
	}
	if err := a.checkOptOut(ctx, req); err != nil {
		return invoiceapi.NoticeResult{}, err
	}
	receipt, err := a.send(ctx, req, msg)
	if err != nil {
		return invoiceapi.NoticeResult{}, a.sendFailed(ctx, req, err)
	}
	return a.complete(ctx, req, receipt, false)
}

// staleSendAfter: a send that starts this long after the workflow scheduled it (a
// retry, or one that waited in its provider's queue) asks Temporal whether the
// workflow has withdrawn it before it calls the provider.
const staleSendAfter = 5 * time.Second

// withdrawn reports whether the workflow has asked to cancel this send. Cancellation
// reaches an activity only through a heartbeat; the first heartbeat of an attempt
// goes to the server at once and its answer cancels ctx. A fresh first attempt skips
// it: the workflow scheduled it a moment ago from its current state, and the ledger's
// check in the claim covers the rest.
func withdrawn(ctx context.Context) bool {
	if !activity.IsActivity(ctx) {
		return false
	}
	info := activity.GetInfo(ctx)
	if info.Attempt <= 1 && time.Since(info.ScheduledTime) < staleSendAfter {
		return false
	}
	activity.RecordHeartbeat(ctx)
	return ctx.Err() != nil
}

// withhold settles a claimed notice that must not go out any more: it is recorded as
// failed with the reason, and the non-retryable ErrTypeWithheld tells the workflow
// that nothing was sent.
func (a *Activities) withhold(ctx context.Context, req invoiceapi.NoticeRequest, why string) error {
	text := "not sent: " + why
	// A cancelled ctx must not stop the ledger from recording why nothing was sent.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := a.Ledger.CompleteNotice(lctx, req.Key(), ledger.NoticeFailed, "", text, time.Now().UTC()); err != nil {
		return ledgerFailed("recording withheld notice "+req.Key(), err)
	}
	activity.GetLogger(ctx).Info("Notice withheld", "key", req.Key(), "reason", why)
	metrics.Notice(string(req.Channel), "withheld")
	return temporal.NewNonRetryableApplicationError("notice "+req.Key()+" "+text, invoiceapi.ErrTypeWithheld, nil)
}

func (a *Activities) complete(ctx context.Context, req invoiceapi.NoticeRequest, r notify.Receipt, alreadySent bool) (invoiceapi.NoticeResult, error) {
	now := time.Now().UTC()
	if err := a.Ledger.CompleteNotice(ctx, req.Key(), ledger.NoticeSent, r.ProviderID, "", now); err != nil {
		// The provider accepted; a retry will find the message through reconciliation.
		return invoiceapi.NoticeResult{}, ledgerFailed("recording notice "+req.Key()+" as sent", err)
	}
	metrics.Notice(string(req.Channel), "sent")
	return invoiceapi.NoticeResult{ProviderID: r.ProviderID, SentAt: now, AlreadySent: alreadySent}, nil
}

// checkOptOut refuses to send to an opted-out address: the notice is marked failed
// and the non-retryable ErrTypeRecipientInvalid moves the workflow to the step's next
// channel. It runs after the claim and any reconciliation (a notice that already went
// out stays sent) and right before the provider call, so correctness never depends
// on the workflow having heard the opt-out signal. It also records where the
// customer is contacted, so an inbound STOP from that address finds the customer.
func (a *Activities) checkOptOut(ctx context.Context, req invoiceapi.NoticeRequest) error {
	o, out, err := a.Ledger.OptedOut(ctx, string(req.Channel), req.To)
	if err != nil {
		return ledgerFailed("checking opt-outs for notice "+req.Key(), err)
	}
	if out {
		text := fmt.Sprintf("the recipient opted out of %s (%s)", req.Channel, o.Source)
		if err := a.Ledger.CompleteNotice(ctx, req.Key(), ledger.NoticeFailed, "", text, time.Now().UTC()); err != nil {
			return ledgerFailed("recording opted-out notice "+req.Key(), err)
		}
		activity.GetLogger(ctx).Info("Recipient opted out; not sending", "key", req.Key(), "source", o.Source)
		metrics.Notice(string(req.Channel), "opted_out")
		return temporal.NewNonRetryableApplicationError("notice "+req.Key()+": "+text, invoiceapi.ErrTypeRecipientInvalid, nil)
	}
	if req.CustomerID != "" {
		if err := a.Ledger.RememberAddress(ctx, string(req.Channel), req.To, req.CustomerID); err != nil {
			return ledgerFailed("recording the address of notice "+req.Key(), err)
		}
	}
	return nil
}

// twilioOptedOut is Twilio's error code for a recipient who replied STOP.
const twilioOptedOut = 21610

// sendFailed classifies a provider error for Temporal's retry machinery.
func (a *Activities) sendFailed(ctx context.Context, req invoiceapi.NoticeRequest, err error) error {
	var perr *notify.Error
	if errors.As(err, &perr) && perr.Code == twilioOptedOut {
		// Twilio knows of a STOP we never heard of: record it, so no later notice tries.
		_, oerr := a.Ledger.RecordOptOut(ctx, ledger.OptOutChange{
			EventID: "twilio-21610:" + req.Key(), Channel: ledger.ChannelSMS, Address: req.To,
			CustomerIDs: nonEmpty(req.CustomerID), OptedOut: true, Source: ledger.SourceStop, At: time.Now().UTC(),
		})
		if oerr != nil {
			return ledgerFailed("recording the opt-out Twilio reported for notice "+req.Key(), oerr)
		}
	}
	if notify.IsPermanent(err) {
		errType := invoiceapi.ErrTypeBadRequest
		if notify.IsRecipientInvalid(err) {
			errType = invoiceapi.ErrTypeRecipientInvalid
		}
		if lerr := a.Ledger.CompleteNotice(ctx, req.Key(), ledger.NoticeFailed, "", err.Error(), time.Now().UTC()); lerr != nil {
			return ledgerFailed(fmt.Sprintf("recording failed notice %s (provider said: %v)", req.Key(), err), lerr)
		}
		metrics.Notice(string(req.Channel), "failed")
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("sending notice %s: %v", req.Key(), err), errType, err)
	}
	metrics.Notice(string(req.Channel), "retried")
	if d := notify.RetryAfter(err); d > 0 {
		return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("sending notice %s: %v", req.Key(), err), invoiceapi.ErrTypeRateLimited,
			temporal.ApplicationErrorOptions{NextRetryDelay: d, Cause: err})
	}
	return fmt.Errorf("sending notice %s: %w", req.Key(), err)
}

// message is a rendered notice for either channel.
type message struct {
	email templates.Email
	sms   string
}

// render renders a notice as the message business sends about the invoice.
func render(req invoiceapi.NoticeRequest, business templates.Business) (message, error) {
	d := templates.Data{
		CustomerName: req.CustomerName, InvoiceID: req.InvoiceID, Currency: req.Currency, Balance: req.Balance,
		DueDate: req.DueDate, PaymentURL: req.PaymentURL, Locale: req.Locale, Business: business, Terms: req.Terms,
		// From the scheduled time, not the clock: every retry renders the same text,
		// which reconciliation by content relies on.
		DaysOverdue: templates.DaysOverdue(req.DueDate, req.ScheduledAt),
	}
	if req.Channel == policy.SMS {
		s, err := templates.RenderSMS(req.Template, d)
		return message{sms: s}, err
	}
	e, err := templates.RenderEmail(req.Template, d)
	return message{email: e}, err
}

func (a *Activities) send(ctx context.Context, req invoiceapi.NoticeRequest, m message) (notify.Receipt, error) {
	if req.Channel == policy.SMS {
		return a.SMS.SendSMS(ctx, notify.SMS{Key: req.Key(), To: req.To, Body: m.sms})
	}
	email := notify.Email{
		Key: req.Key(), InvoiceID: req.InvoiceID, To: req.To, ToName: req.CustomerName,
		Subject: m.email.Subject, Text: m.email.Text, HTML: m.email.HTML,
	}
	if id := a.EmailTemplateIDs[req.Template]; id != "" {
		email.TemplateID, email.TemplateData = id, templateData(req, a.Business, m)
	}
	return a.Email.SendEmail(ctx, email)
}

// templateData is what a SendGrid dynamic template gets: the reminder's variables,
// formatted for the customer's locale, and Dunwell's own rendering of the subject,
// text and opt-out-carrying body for templates that only wrap them.
func templateData(req invoiceapi.NoticeRequest, b templates.Business, m message) map[string]any {
	d := templates.Data{Currency: req.Currency, Balance: req.Balance, DueDate: req.DueDate, Locale: req.Locale}
	return map[string]any{
		"customer_name": req.CustomerName, "invoice_id": req.InvoiceID, "amount": d.Amount(), "currency": req.Currency,
		"due_date": d.Due(), "due_date_iso": req.DueDate, "days_overdue": templates.DaysOverdue(req.DueDate, req.ScheduledAt),
		"payment_url": req.PaymentURL, "locale": req.Locale,
		"business_name": b.Name, "business_address": b.Address, "reply_to": b.ReplyTo, "business_phone": b.Phone,
		"subject": m.email.Subject, "text": m.email.Text, "html": m.email.HTML,
	}
}

func (a *Activities) find(ctx context.Context, req invoiceapi.NoticeRequest, m message, since time.Time) (notify.Receipt, bool, error) {
	if req.Channel == policy.SMS {
		return a.SMS.FindSMS(ctx, notify.SMS{Key: req.Key(), To: req.To, Body: m.sms}, since)
	}
	return a.Email.FindEmail(ctx, req.Key(), since)
}

func validateNotice(r invoiceapi.NoticeRequest) error {
	var problems []error
	if r.InvoiceID == "" || r.Step == "" {
		problems = append(problems, errors.New("invoice_id and step are required"))
	}
	if !r.Channel.Valid() {
		problems = append(problems, fmt.Errorf("channel %q is not email or sms", r.Channel))
	}
	if r.To == "" {
		problems = append(problems, errors.New("no recipient address"))
	}
	return errors.Join(problems...)
}

// RecordPayment writes an applied payment to the ledger, once per payment id.
func (a *Activities) RecordPayment(ctx context.Context, p invoiceapi.PaymentRecord) error {
	inserted, err := a.Ledger.RecordPayment(ctx, ledger.PaymentRecord{
		InvoiceID: p.InvoiceID, PaymentID: p.PaymentID, Currency: p.Currency, Amount: p.Amount,
		Applied: p.Applied, Credit: p.Credit, BalanceAfter: p.BalanceAfter, PaidAt: p.PaidAt, AppliedAt: p.AppliedAt,
		Status: p.Status,
	})
	if err != nil {
		return ledgerFailed(fmt.Sprintf("recording payment %s of invoice %s", p.PaymentID, p.InvoiceID), err)
	}
	if inserted {
		metrics.PaymentApplied(p.Currency)
	}
	return nil
}

// Escalate hands the invoice off: it is written, once, to the escalations table, the
// queue the agency or legal integration works from.
func (a *Activities) Escalate(ctx context.Context, e invoiceapi.EscalationRequest) error {
	inserted, err := a.Ledger.RecordEscalation(ctx, ledger.EscalationRecord{
		InvoiceID: e.InvoiceID, CustomerID: e.CustomerID, Target: string(e.To), Currency: e.Currency,
		Balance: e.Balance, DueDate: e.DueDate, EscalatedAt: e.At, SetStatus: e.SetStatus,
	})
	if err != nil {
		return ledgerFailed(fmt.Sprintf("escalating invoice %s to %s", e.InvoiceID, e.To), err)
	}
	activity.GetLogger(ctx).Info("Invoice escalated", "invoice_id", e.InvoiceID, "to", e.To, "new", inserted)
	if inserted {
		metrics.Escalation(string(e.To))
	}
	return nil
}

// RecordStatus writes an invoice's status change to the ledger.
func (a *Activities) RecordStatus(ctx context.Context, s invoiceapi.StatusRecord) error {
	err := a.Ledger.SetInvoiceStatus(ctx, s.InvoiceID, s.Status, s.Balance, s.At)
	return ledgerFailed(fmt.Sprintf("recording status %s of invoice %s", s.Status, s.InvoiceID), err)
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
