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
	"github.com/dunwell/dunwell/letter"
	"github.com/dunwell/dunwell/notify"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/templates"
	"github.com/dunwell/dunwell/workflows/accountapi"
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
	// Accounts reaches customers' account workflows (AttachToAccount,
	// RequestReminder); nil in a worker that runs no collection workflows.
	Accounts *accountapi.Client
	// Business is who every reminder says it comes from: name, postal address, the
	// reply-to a person reads, phone (config DUNWELL_BUSINESS_*).
	Business templates.Business
	// Portal, when set, makes the customer's portal link every message carries.
	Portal *PortalLinks
	// Letters is the print-and-mail provider (DUNWELL_PRINT_*); nil: letters wait in
	// the ledger's letter outbox for an operator (SendLetter).
	Letters notify.LetterSender
	// Bank is where the letters' payment slip sends bank transfers
	// (DUNWELL_BANK_*); zero: the slip says to see the invoice.
	Bank letter.Bank
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
	// The customer's portal link, the notice's own (see PortalLinks): every attempt
	// renders the same text.
	portalURL, err := a.portalURL(ctx, req.CustomerID, NoticeLinkKey(req))
	if err != nil {
		return invoiceapi.NoticeResult{}, err
	}
	msg, err := render(req, a.Business, portalURL)
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
	o := a.noticeOutbound(req, msg, portalURL)
	r, already, err := a.deliver(ctx, o, claim{reconcile: row.NeedsReconcile(), claimedAt: row.ClaimedAt, withheld: row.Withheld})
	if err != nil {
		return invoiceapi.NoticeResult{}, err
	}
	return invoiceapi.NoticeResult{ProviderID: r.ProviderID, SentAt: r.at, AlreadySent: already}, nil
}

// outbound is one message to send exactly once: a single notice (SendNotice) or a
// customer's consolidated message (SendAccountMessage). Both are claimed in the
// ledger by their own kind of row first; deliver does the rest the same way.
type outbound struct {
	kind       string // "notice" or "message", for errors and logs
	key        string
	channel    policy.Channel
	to, toName string
	customerID string
	invoiceID  string // the email's invoice_id custom arg; empty for an account message
	template   string
	msg        message
	// data, when the template has a SendGrid dynamic template, is its data.
	data func() map[string]any
	// record stores the outcome in the ledger: sent with the provider's id, or failed
	// with the reason.
	record func(ctx context.Context, sent bool, providerID, errText string, at time.Time) error
}

// claim is what the ledger's claim said about an outbound not settled yet.
type claim struct {
	// reconcile: an earlier attempt claimed it and never recorded the outcome.
	reconcile bool
	claimedAt time.Time
	// withheld says why it may no longer go out ("" if it may).
	withheld string
}

// receipt is a sent outbound: the provider's id and when it was recorded.
type receipt struct {
	notify.Receipt
	at time.Time
}

// deliver sends a claimed outbound exactly once (see SendNotice for the crash windows):
// it reconciles an interrupted earlier attempt with the provider, withholds what may no
// longer go, refuses an opted-out address, sends, and records the outcome.
func (a *Activities) deliver(ctx context.Context, o outbound, c claim) (receipt, bool, error) {
	logger := activity.GetLogger(ctx)
	if c.reconcile {
		// An earlier attempt claimed this and never recorded the outcome: the
		// provider may have accepted it. Ask before sending again.
		r, found, err := a.find(ctx, o, c.claimedAt.Add(-reconcileMargin))
		if err != nil && notify.IsPermanent(err) {
			text := "outcome unknown: an interrupted send could not be checked with the provider: " + err.Error()
			if lerr := o.record(ctx, false, "", text, time.Now().UTC()); lerr != nil {
				return receipt{}, false, ledgerFailed("recording "+o.kind+" "+o.key+" as unknown", lerr)
			}
			return receipt{}, false, temporal.NewNonRetryableApplicationError(text, invoiceapi.ErrTypeOutcomeUnknown, err)
		}
		if err != nil {
			return receipt{}, false, fmt.Errorf("reconciling %s %s with the provider: %w", o.kind, o.key, err)
		}
		if found {
			logger.Info("Found at the provider after an interrupted attempt; not sending again", "kind", o.kind, "key", o.key, "provider_id", r.ProviderID)
			res, err := a.complete(ctx, o, r)
			return res, true, err
		}
	}
	if c.withheld == "" && withdrawn(ctx) {
		c.withheld = "the workflow withdrew it: the invoice left the reminding states while the send waited"
	}
	if c.withheld != "" {
		return receipt{}, false, a.withhold(ctx, o, c.withheld)
	}
	if err := a.checkOptOut(ctx, o); err != nil {
		return receipt{}, false, err
	}
	r, err := a.send(ctx, o)
	if err != nil {
		return receipt{}, false, a.sendFailed(ctx, o, err)
	}
	res, err := a.complete(ctx, o, r)
	return res, false, err
}

// noticeOutbound is a single notice as an outbound, recorded in notices.
func (a *Activities) noticeOutbound(req invoiceapi.NoticeRequest, m message, portalURL string) outbound {
	return outbound{
		kind: "notice", key: req.Key(), channel: req.Channel, to: req.To, toName: req.CustomerName,
		customerID: req.CustomerID, invoiceID: req.InvoiceID, template: req.Template, msg: m,
		data: func() map[string]any { return templateData(req, a.Business, m, portalURL) },
		record: func(ctx context.Context, sent bool, providerID, errText string, at time.Time) error {
			status := ledger.NoticeFailed
			if sent {
				status = ledger.NoticeSent
			}
			return a.Ledger.CompleteNotice(ctx, req.Key(), status, providerID, errText, at)
		},
	}
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
func (a *Activities) withhold(ctx context.Context, o outbound, why string) error {
	text := "not sent: " + why
	// A cancelled ctx must not stop the ledger from recording why nothing was sent.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := o.record(lctx, false, "", text, time.Now().UTC()); err != nil {
		return ledgerFailed("recording withheld "+o.kind+" "+o.key, err)
	}
	activity.GetLogger(ctx).Info("Withheld", "kind", o.kind, "key", o.key, "reason", why)
	metrics.Notice(string(o.channel), "withheld")
	return temporal.NewNonRetryableApplicationError(o.kind+" "+o.key+" "+text, invoiceapi.ErrTypeWithheld, nil)
}

func (a *Activities) complete(ctx context.Context, o outbound, r notify.Receipt) (receipt, error) {
	now := time.Now().UTC()
	if err := o.record(ctx, true, r.ProviderID, "", now); err != nil {
		// The provider accepted; a retry will find the message through reconciliation.
		return receipt{}, ledgerFailed("recording "+o.kind+" "+o.key+" as sent", err)
	}
	metrics.Notice(string(o.channel), "sent")
	return receipt{Receipt: r, at: now}, nil
}

// checkOptOut refuses to send to an opted-out address: the notice is marked failed
// and the non-retryable ErrTypeRecipientInvalid moves the workflow to the step's next
// channel. It runs after the claim and any reconciliation (a notice that already went
// out stays sent) and right before the provider call, so correctness never depends
// on the workflow having heard the opt-out signal. It also records where the
// customer is contacted, so an inbound STOP from that address finds the customer.
func (a *Activities) checkOptOut(ctx context.Context, o outbound) error {
	// One statement: the opt-out check and, unless opted out, the address remembered.
	opt, out, err := a.Ledger.OptedOutElseRemember(ctx, string(o.channel), o.to, o.customerID)
	if err != nil {
		return ledgerFailed("checking opt-outs for "+o.kind+" "+o.key, err)
	}
	if out {
		text := fmt.Sprintf("the recipient opted out of %s (%s)", o.channel, opt.Source)
		if err := o.record(ctx, false, "", text, time.Now().UTC()); err != nil {
			return ledgerFailed("recording opted-out "+o.kind+" "+o.key, err)
		}
		activity.GetLogger(ctx).Info("Recipient opted out; not sending", "kind", o.kind, "key", o.key, "source", opt.Source)
		metrics.Notice(string(o.channel), "opted_out")
		return temporal.NewNonRetryableApplicationError(o.kind+" "+o.key+": "+text, invoiceapi.ErrTypeRecipientInvalid, nil)
	}
	return nil
}

// twilioOptedOut is Twilio's error code for a recipient who replied STOP.
const twilioOptedOut = 21610

// sendFailed classifies a provider error for Temporal's retry machinery.
func (a *Activities) sendFailed(ctx context.Context, o outbound, err error) error {
	var perr *notify.Error
	if errors.As(err, &perr) && perr.Code == twilioOptedOut {
		// Twilio knows of a STOP we never heard of: record it, so no later notice tries.
		_, oerr := a.Ledger.RecordOptOut(ctx, ledger.OptOutChange{
			EventID: "twilio-21610:" + o.key, Channel: ledger.ChannelSMS, Address: o.to,
			CustomerIDs: nonEmpty(o.customerID), OptedOut: true, Source: ledger.SourceStop, At: time.Now().UTC(),
		})
		if oerr != nil {
			return ledgerFailed("recording the opt-out Twilio reported for "+o.kind+" "+o.key, oerr)
		}
	}
	if notify.IsPermanent(err) {
		errType := invoiceapi.ErrTypeBadRequest
		if notify.IsRecipientInvalid(err) {
			errType = invoiceapi.ErrTypeRecipientInvalid
		}
		if lerr := o.record(ctx, false, "", err.Error(), time.Now().UTC()); lerr != nil {
			return ledgerFailed(fmt.Sprintf("recording failed %s %s (provider said: %v)", o.kind, o.key, err), lerr)
		}
		metrics.Notice(string(o.channel), "failed")
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("sending %s %s: %v", o.kind, o.key, err), errType, err)
	}
	metrics.Notice(string(o.channel), "retried")
	if d := notify.RetryAfter(err); d > 0 {
		return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("sending %s %s: %v", o.kind, o.key, err), invoiceapi.ErrTypeRateLimited,
			temporal.ApplicationErrorOptions{NextRetryDelay: d, Cause: err})
	}
	return fmt.Errorf("sending %s %s: %w", o.kind, o.key, err)
}

// message is a rendered notice for either channel.
type message struct {
	email templates.Email
	sms   string
}

// render renders a notice as the message business sends about the invoice.
func render(req invoiceapi.NoticeRequest, business templates.Business, portalURL string) (message, error) {
	d := templates.Data{
		CustomerName: req.CustomerName, InvoiceID: req.InvoiceID, Currency: req.Currency, Balance: req.Balance,
		DueDate: req.DueDate, PaymentURL: req.PaymentURL, PortalURL: portalURL, Locale: req.Locale, Business: business, Terms: req.Terms,
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

func (a *Activities) send(ctx context.Context, o outbound) (notify.Receipt, error) {
	if o.channel == policy.SMS {
		return a.SMS.SendSMS(ctx, notify.SMS{Key: o.key, To: o.to, Body: o.msg.sms})
	}
	email := notify.Email{
		Key: o.key, InvoiceID: o.invoiceID, To: o.to, ToName: o.toName,
		Subject: o.msg.email.Subject, Text: o.msg.email.Text, HTML: o.msg.email.HTML,
	}
	if id := a.EmailTemplateIDs[o.template]; id != "" && o.data != nil {
		email.TemplateID, email.TemplateData = id, o.data()
	}
	return a.Email.SendEmail(ctx, email)
}

// templateData is what a SendGrid dynamic template gets: the reminder's variables,
// formatted for the customer's locale, and Dunwell's own rendering of the subject,
// text and opt-out-carrying body for templates that only wrap them.
func templateData(req invoiceapi.NoticeRequest, b templates.Business, m message, portalURL string) map[string]any {
	d := templates.Data{Currency: req.Currency, Balance: req.Balance, DueDate: req.DueDate, Locale: req.Locale}
	return map[string]any{
		"customer_name": req.CustomerName, "invoice_id": req.InvoiceID, "amount": d.Amount(), "currency": req.Currency,
		"due_date": d.Due(), "due_date_iso": req.DueDate, "days_overdue": templates.DaysOverdue(req.DueDate, req.ScheduledAt),
		"payment_url": req.PaymentURL, "portal_url": portalURL, "locale": req.Locale,
		"business_name": b.Name, "business_address": b.Address, "reply_to": b.ReplyTo, "business_phone": b.Phone,
		"subject": m.email.Subject, "text": m.email.Text, "html": m.email.HTML,
	}
}

func (a *Activities) find(ctx context.Context, o outbound, since time.Time) (notify.Receipt, bool, error) {
	if o.channel == policy.SMS {
		return a.SMS.FindSMS(ctx, notify.SMS{Key: o.key, To: o.to, Body: o.msg.sms}, since)
	}
	return a.Email.FindEmail(ctx, o.key, since)
}

func validateNotice(r invoiceapi.NoticeRequest) error {
	var problems []error
	if r.InvoiceID == "" || r.Step == "" {
		problems = append(problems, errors.New("invoice_id and step are required"))
	}
	if !r.Channel.Electronic() {
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
