package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/templates"
	"github.com/dunwell/dunwell/workflows/accountapi"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// AttachToAccount starts the customer's account workflow if it is not running and
// attaches the invoice to it (one UpdateWithStart; see accountapi.Client). A refusal
// by the account is the non-retryable ErrTypeBadRequest.
func (a *Activities) AttachToAccount(ctx context.Context, r accountapi.AttachRequest) error {
	if a.Accounts == nil {
		return badRequest(errors.New("attach to account: the worker has no Temporal client for accounts"))
	}
	_, err := a.Accounts.Attach(ctx, "attach:"+r.InvoiceID, r)
	return accountFailed(err)
}

// RequestReminder hands one reminder to the customer's account, starting the account
// if it is missing or closed. The update id is the request's, so a retry is the same
// update; the account answers later with a signal to the invoice.
func (a *Activities) RequestReminder(ctx context.Context, r accountapi.ReminderRequest) error {
	if a.Accounts == nil {
		return badRequest(errors.New("request reminder: the worker has no Temporal client for accounts"))
	}
	if err := r.Validate(); err != nil {
		return badRequest(fmt.Errorf("request reminder %s: %w", r.Key(), err))
	}
	_, err := a.Accounts.Remind(ctx, "remind:"+r.RequestID(), r)
	return accountFailed(err)
}

// accountFailed makes the account's refusal of an update final; anything else is
// retried.
func accountFailed(err error) error {
	var invalid *invoiceapi.InvalidError
	if errors.As(err, &invalid) {
		return badRequest(err)
	}
	return err
}

// SendAccountMessage sends one consolidated message listing several invoices of one
// customer, exactly once per message key (<customer>/<channel>/<window>/<batch>), with
// the machinery of SendNotice (see deliver for the crash windows):
//
//  1. the message is claimed in the ledger (account_messages) before the provider is
//     called; the first claim fixes which invoices it lists, leaving out each one that
//     is paid, disputed, promised, paused, handed off, or whose step was already sent;
//  2. a message already sent returns its stored result; one claimed by an attempt that
//     never finished is reconciled with the provider before anything is sent;
//  3. after the provider accepts, the message is marked sent and each listed invoice
//     step gets its notices row naming the message, in one transaction.
//
// A message that lists nothing (every invoice was left out) is not sent: the result
// has no Covered invoices and says why each was left out.
func (a *Activities) SendAccountMessage(ctx context.Context, req accountapi.MessageRequest) (accountapi.MessageResult, error) {
	if err := validateMessage(req); err != nil {
		return accountapi.MessageResult{}, badRequest(err)
	}
	claimReq := ledger.MessageClaim{Key: req.Key, CustomerID: req.CustomerID, Channel: string(req.Channel), WindowDay: req.WindowDay}
	for _, l := range req.Lines {
		claimReq.Lines = append(claimReq.Lines, ledger.MessageLine{InvoiceID: l.InvoiceID, Step: l.Step, NotAfter: l.NotAfter})
	}
	row, err := a.Ledger.ClaimMessage(ctx, claimReq)
	if err != nil {
		return accountapi.MessageResult{}, ledgerFailed("claiming message "+req.Key, err)
	}
	res := accountapi.MessageResult{Covered: []string{}}
	for _, l := range row.Covered {
		res.Covered = append(res.Covered, l.InvoiceID)
	}
	for _, l := range row.LeftOut {
		res.LeftOut = append(res.LeftOut, accountapi.LeftOut{InvoiceID: l.InvoiceID, Reason: l.Reason})
	}
	logger := activity.GetLogger(ctx)
	switch {
	case row.Status == ledger.MessageSent:
		logger.Info("Message already sent; not sending again", "key", req.Key, "provider_id", row.ProviderID)
		res.ProviderID, res.AlreadySent = row.ProviderID, true
		if row.SentAt != nil {
			res.SentAt = *row.SentAt
		}
		return res, nil
	case row.Status == ledger.MessageFailed && len(row.Covered) == 0:
		res.Covered = []string{}
		return res, nil
	case row.Status == ledger.MessageFailed:
		return accountapi.MessageResult{}, temporal.NewNonRetryableApplicationError(
			"message "+req.Key+" failed permanently earlier: "+row.Error, invoiceapi.ErrTypeRecipientInvalid, nil)
	case len(row.Covered) == 0:
		if err := a.Ledger.CompleteMessage(ctx, req.Key, ledger.MessageFailed, "", "not sent: every invoice was left out", time.Now().UTC()); err != nil {
			return accountapi.MessageResult{}, ledgerFailed("recording message "+req.Key+" as withheld", err)
		}
		logger.Info("Message not sent: every invoice was left out", "key", req.Key)
		return res, nil
	}
	portalURL, err := a.portalURL(ctx, req.CustomerID, req.Key)
	if err != nil {
		return accountapi.MessageResult{}, err
	}
	msg, err := a.renderAccount(req, row.Covered, portalURL)
	if err != nil {
		return accountapi.MessageResult{}, badRequest(err)
	}
	o := outbound{
		kind: "message", key: req.Key, channel: req.Channel, customerID: req.CustomerID, toName: req.To.Name, msg: msg,
		record: func(ctx context.Context, sent bool, providerID, errText string, at time.Time) error {
			status := ledger.MessageFailed
			if sent {
				status = ledger.MessageSent
			}
			return a.Ledger.CompleteMessage(ctx, req.Key, status, providerID, errText, at)
		},
	}
	o.to = req.To.Email
	if req.Channel == policy.SMS {
		o.to = req.To.Phone
	}
	// Withdrawal reaches each invoice through the claim (the ledger's statuses); the
	// account itself never withdraws a message once it runs.
	r, already, err := a.deliver(ctx, o, claim{reconcile: row.NeedsReconcile(), claimedAt: row.ClaimedAt})
	if err != nil {
		return accountapi.MessageResult{}, err
	}
	res.ProviderID, res.SentAt, res.AlreadySent = r.ProviderID, r.at, already
	return res, nil
}

// renderAccount renders the message from the lines the claim covered, in the order
// the account listed them, with the customer's portal link (portalURL, "" for none).
// Days overdue count from ScheduledAt and the link is the message's own, so every
// retry renders the same text (reconciliation by content relies on it).
func (a *Activities) renderAccount(req accountapi.MessageRequest, covered []ledger.MessageLine, portalURL string) (message, error) {
	m := templates.AccountMessage{Business: a.Business, CustomerName: req.To.Name, Locale: req.To.Locale, PortalURL: portalURL}
	for _, l := range req.Lines {
		if !slices.ContainsFunc(covered, func(c ledger.MessageLine) bool { return c.InvoiceID == l.InvoiceID }) {
			continue
		}
		m.Lines = append(m.Lines, templates.AccountLine{
			InvoiceID: l.InvoiceID, Currency: l.Currency, AmountDue: l.AmountDue, Fees: l.Fees, Interest: l.Interest,
			DueDate: l.DueDate, DaysOverdue: templates.DaysOverdue(l.DueDate, req.ScheduledAt), PaymentURL: l.PaymentURL,
			Template: l.Template, Terms: templates.TermsOf(l.Terms.Policy()),
		})
	}
	if req.Channel == policy.SMS {
		s, err := templates.RenderAccountSMS(m)
		return message{sms: s}, err
	}
	e, err := templates.RenderAccountEmail(m)
	return message{email: e}, err
}

func validateMessage(r accountapi.MessageRequest) error {
	var problems []error
	if r.Key == "" || r.CustomerID == "" || r.WindowDay == "" {
		problems = append(problems, errors.New("key, customer_id and window_day are required"))
	}
	if !r.Channel.Electronic() {
		problems = append(problems, fmt.Errorf("channel %q is not email or sms", r.Channel))
	}
	if (r.Channel == policy.SMS && r.To.Phone == "") || (r.Channel == policy.Email && r.To.Email == "") {
		problems = append(problems, errors.New("to: no recipient address"))
	}
	if len(r.Lines) == 0 {
		problems = append(problems, errors.New("lines: at least one invoice is required"))
	}
	if r.ScheduledAt.IsZero() {
		problems = append(problems, errors.New("scheduled_at is required"))
	}
	return errors.Join(problems...)
}
