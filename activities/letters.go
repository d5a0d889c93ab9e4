package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/dunwell/dunwell/internal/metrics"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/letter"
	"github.com/dunwell/dunwell/notify"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// SendLetter renders a policy step's dunning letter and hands it over exactly once per
// letter key (invoice, step): to the print-and-mail provider (a.Letters), or, with no
// provider configured, to the ledger's letter outbox, where an operator downloads,
// prints and mails it (GET /v1/letters?status=to_print).
//
//  1. the letter is rendered (the same bytes on every retry: rendering reads the
//     request only) and claimed in the ledger with its PDF before the provider call;
//  2. a letter already handed over returns the stored result and sends nothing;
//  3. a claim an earlier attempt never settled is reconciled with the provider first
//     (its letters listed by the metadata dunwell_key); found, it is recorded as sent;
//  4. the provider call carries the key as its Idempotency-Key, so even a repeated
//     call the look-up missed answers the first letter instead of printing a second;
//  5. after the provider accepts, the ledger row is marked sent.
//
// Crash windows: before the call (the retry finds nothing and sends), after the
// provider accepted and before the ledger write (the retry finds it by its key and
// sends nothing), after the ledger write (the retry reads 'sent').
//
// A recipient the provider refuses fails with the non-retryable
// ErrTypeRecipientInvalid (the workflow tries the step's next channel); 429, 5xx and
// timeouts are retried.
func (a *Activities) SendLetter(ctx context.Context, req invoiceapi.LetterRequest) (invoiceapi.LetterResult, error) {
	l, err := letterOf(req)
	if err != nil {
		return invoiceapi.LetterResult{}, badRequest(err)
	}
	pdf, err := letter.PDF(l, letter.Options{From: a.Business, Bank: a.Bank})
	if err != nil {
		return invoiceapi.LetterResult{}, badRequest(err)
	}
	key := req.Key()
	row, err := a.Ledger.ClaimLetter(ctx, ledger.LetterClaim{
		Key: key, InvoiceID: req.InvoiceID, CustomerID: req.CustomerID, Step: req.Step, Template: req.Template,
		PDF: pdf, NotAfter: req.NotAfter,
	})
	if err != nil {
		return invoiceapi.LetterResult{}, ledgerFailed("claiming letter "+key, err)
	}
	if res, done, err := settledLetter(row); done {
		return res, err
	}
	record := func(ctx context.Context, status ledger.LetterStatus, providerID, errText string) (time.Time, error) {
		at := time.Now().UTC()
		return at, a.Ledger.CompleteLetter(ctx, key, status, providerID, errText, at)
	}
	if a.Letters == nil {
		if row.Withheld != "" {
			return invoiceapi.LetterResult{}, a.withholdLetter(ctx, key, row.Withheld, record)
		}
		at, err := record(ctx, ledger.LetterToPrint, "", "")
		if err != nil {
			return invoiceapi.LetterResult{}, ledgerFailed("putting letter "+key+" in the outbox", err)
		}
		activity.GetLogger(ctx).Info("Letter waits in the outbox for an operator", "key", key, "letter_id", row.ID)
		metrics.Notice("letter", "to_print")
		return invoiceapi.LetterResult{LetterID: row.ID, Status: invoiceapi.LetterToPrint, SentAt: at}, nil
	}
	if row.NeedsReconcile() {
		r, found, err := a.Letters.FindLetter(ctx, key)
		if err != nil {
			return invoiceapi.LetterResult{}, fmt.Errorf("reconciling letter %s with the provider: %w", key, err)
		}
		if found {
			activity.GetLogger(ctx).Info("Letter found at the provider after an interrupted attempt; not sending again", "key", key, "provider_id", r.ProviderID)
			return a.letterSent(ctx, row, r, true, record)
		}
	}
	if row.Withheld == "" && withdrawn(ctx) {
		row.Withheld = "the workflow withdrew it: the invoice left the reminding states while the letter waited"
	}
	if row.Withheld != "" {
		return invoiceapi.LetterResult{}, a.withholdLetter(ctx, key, row.Withheld, record)
	}
	r, err := a.Letters.SendLetter(ctx, notify.Letter{
		Key: key, InvoiceID: req.InvoiceID, To: req.To, ToName: req.CustomerName, PDF: pdf,
		Description: req.InvoiceID + " " + req.Step,
	})
	if err != nil {
		return invoiceapi.LetterResult{}, a.letterFailed(ctx, key, err, record)
	}
	return a.letterSent(ctx, row, r, false, record)
}

// letterOf is the letter a request asks for, dated the day it was scheduled in the
// customer's zone.
func letterOf(req invoiceapi.LetterRequest) (letter.Letter, error) {
	if req.InvoiceID == "" || req.Step == "" || req.CustomerID == "" {
		return letter.Letter{}, errors.New("invoice_id, customer_id and step are required")
	}
	loc, err := time.LoadLocation(req.Timezone)
	if err != nil || req.Timezone == "" {
		loc = time.UTC
	}
	if req.ScheduledAt.IsZero() {
		return letter.Letter{}, errors.New("scheduled_at is required")
	}
	return letter.Letter{
		InvoiceID: req.InvoiceID, CustomerID: req.CustomerID, CustomerName: req.CustomerName, To: req.To,
		Template: req.Template, Step: req.Step, Locale: req.Locale, Date: req.ScheduledAt.In(loc).Format(time.DateOnly),
		Currency: req.Currency, Original: req.Original, Fees: req.Fees, Interest: req.Interest, AmountDue: req.Balance,
		DueDate: req.DueDate, PaymentURL: req.PaymentURL, Terms: req.Terms,
	}, nil
}

// settledLetter answers a letter an earlier attempt settled: handed over (done, the
// stored result) or failed (done, the error the workflow branches on).
func settledLetter(row ledger.LetterRow) (invoiceapi.LetterResult, bool, error) {
	at := row.UpdatedAt
	if row.SentAt != nil {
		at = *row.SentAt
	}
	switch row.Status {
	case ledger.LetterSent:
		return invoiceapi.LetterResult{LetterID: row.ID, Status: invoiceapi.LetterSent, ProviderID: row.ProviderID, SentAt: at, AlreadySent: true}, true, nil
	case ledger.LetterToPrint, ledger.LetterMailed:
		return invoiceapi.LetterResult{LetterID: row.ID, Status: invoiceapi.LetterToPrint, SentAt: at, AlreadySent: true}, true, nil
	case ledger.LetterFailed:
		key := row.Key
		if strings.HasPrefix(row.Error, "not sent: ") {
			return invoiceapi.LetterResult{}, true, temporal.NewNonRetryableApplicationError("letter "+key+" "+row.Error, invoiceapi.ErrTypeWithheld, nil)
		}
		return invoiceapi.LetterResult{}, true, temporal.NewNonRetryableApplicationError("letter "+key+" failed permanently earlier: "+row.Error, invoiceapi.ErrTypeRecipientInvalid, nil)
	}
	return invoiceapi.LetterResult{}, false, nil
}

type letterRecorder func(ctx context.Context, status ledger.LetterStatus, providerID, errText string) (time.Time, error)

func (a *Activities) letterSent(ctx context.Context, row ledger.LetterRow, r notify.Receipt, already bool, record letterRecorder) (invoiceapi.LetterResult, error) {
	at, err := record(ctx, ledger.LetterSent, r.ProviderID, "")
	if err != nil {
		// The provider has it; a retry finds it by its key.
		return invoiceapi.LetterResult{}, ledgerFailed("recording letter "+row.Key+" as sent", err)
	}
	if !already {
		metrics.Notice("letter", "sent")
	}
	return invoiceapi.LetterResult{LetterID: row.ID, Status: invoiceapi.LetterSent, ProviderID: r.ProviderID, SentAt: at, AlreadySent: already}, nil
}

// withholdLetter settles a letter that must not go out any more (see withhold).
func (a *Activities) withholdLetter(ctx context.Context, key, why string, record letterRecorder) error {
	text := "not sent: " + why
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := record(lctx, ledger.LetterFailed, "", text); err != nil {
		return ledgerFailed("recording withheld letter "+key, err)
	}
	activity.GetLogger(ctx).Info("Letter withheld", "key", key, "reason", why)
	metrics.Notice("letter", "withheld")
	return temporal.NewNonRetryableApplicationError("letter "+key+" "+text, invoiceapi.ErrTypeWithheld, nil)
}

// letterFailed classifies a provider error as sendFailed does for messages.
func (a *Activities) letterFailed(ctx context.Context, key string, err error, record letterRecorder) error {
	if notify.IsPermanent(err) {
		errType := invoiceapi.ErrTypeBadRequest
		if notify.IsRecipientInvalid(err) {
			errType = invoiceapi.ErrTypeRecipientInvalid
		}
		if _, lerr := record(ctx, ledger.LetterFailed, "", err.Error()); lerr != nil {
			return ledgerFailed(fmt.Sprintf("recording failed letter %s (provider said: %v)", key, err), lerr)
		}
		metrics.Notice("letter", "failed")
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("sending letter %s: %v", key, err), errType, err)
	}
	metrics.Notice("letter", "retried")
	if d := notify.RetryAfter(err); d > 0 {
		return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("sending letter %s: %v", key, err), invoiceapi.ErrTypeRateLimited,
			temporal.ApplicationErrorOptions{NextRetryDelay: d, Cause: err})
	}
	return fmt.Errorf("sending letter %s: %w", key, err)
}
