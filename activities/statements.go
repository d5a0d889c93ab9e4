package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/notify"
	"github.com/dunwell/dunwell/statement"
	"github.com/dunwell/dunwell/templates"
)

// StatementRequest asks to email a customer's statement dated AsOf (YYYY-MM-DD).
// With PeriodStart (YYYY-MM-DD, not after AsOf) a statement already sent dated
// from PeriodStart to before AsOf counts as this one: at most one per period.
type StatementRequest struct {
	CustomerID  string `json:"customer_id"`
	AsOf        string `json:"as_of"`
	PeriodStart string `json:"period_start,omitempty"`
}

// StatementResult says what SendStatement did: "sent" (now or by an earlier attempt,
// AlreadySent) or "skipped" with the reason (nothing to state, no email address
// known, opted out).
type StatementResult struct {
	Outcome     string `json:"outcome"`
	Reason      string `json:"reason,omitempty"`
	ProviderID  string `json:"provider_id,omitempty"`
	AlreadySent bool   `json:"already_sent,omitempty"`
}

// SendStatement emails the customer's statement with its PDF attached, at most once
// per customer and date: the ledger claim (statement/<customer>/<as of>) is taken
// before the provider is called, an attempt that found an unfinished claim asks the
// provider (FindEmail on that key) before sending again, and a statement already
// sent is not sent again.
func (a *Activities) SendStatement(ctx context.Context, req StatementRequest) (StatementResult, error) {
	asOf, err := time.Parse(time.DateOnly, req.AsOf)
	if req.CustomerID == "" || err != nil {
		return StatementResult{}, badRequest(fmt.Errorf("statement request: customer_id is required and as_of must be a date like 2026-12-01 (got %q, %q)", req.CustomerID, req.AsOf))
	}
	if req.PeriodStart != "" {
		if ps, err := time.Parse(time.DateOnly, req.PeriodStart); err != nil || ps.After(asOf) {
			return StatementResult{}, badRequest(fmt.Errorf("statement request: period_start must be a date not after as_of (got %q)", req.PeriodStart))
		}
		prev, found, err := a.Ledger.SentStatementBetween(ctx, req.CustomerID, req.PeriodStart, req.AsOf)
		if err != nil {
			return StatementResult{}, ledgerFailed("finding the statements of "+req.CustomerID+" since "+req.PeriodStart, err)
		}
		if found {
			return StatementResult{Outcome: "sent", ProviderID: prev.ProviderID, AlreadySent: true}, nil
		}
	}
	st, err := statement.Build(ctx, a.Ledger, req.CustomerID, statement.Options{AsOf: asOf})
	if errors.Is(err, statement.ErrUnknownCustomer) {
		return StatementResult{Outcome: "skipped", Reason: "unknown customer"}, nil
	}
	if err != nil {
		return StatementResult{}, ledgerFailed("building the statement of "+req.CustomerID, err)
	}
	key := ledger.StatementKey(req.CustomerID, st.AsOf)
	if len(st.Currencies) == 0 {
		return StatementResult{Outcome: "skipped", Reason: "nothing to state"}, nil
	}
	to, ok, err := a.Ledger.CustomerEmail(ctx, req.CustomerID)
	if err != nil {
		return StatementResult{}, ledgerFailed("finding the email of "+req.CustomerID, err)
	}
	if !ok {
		return StatementResult{Outcome: "skipped", Reason: "no email address known for the customer"}, nil
	}
	if o, out, err := a.Ledger.OptedOut(ctx, ledger.ChannelEmail, to); err != nil {
		return StatementResult{}, ledgerFailed("checking opt-outs for "+key, err)
	} else if out {
		return StatementResult{Outcome: "skipped", Reason: "the address opted out of email (" + string(o.Source) + ")"}, nil
	}
	row, err := a.Ledger.ClaimStatement(ctx, ledger.StatementClaim{CustomerID: req.CustomerID, AsOf: st.AsOf, Since: st.Since, Address: to})
	if err != nil {
		return StatementResult{}, ledgerFailed("claiming "+key, err)
	}
	switch row.Status {
	case ledger.StatementSent:
		return StatementResult{Outcome: "sent", ProviderID: row.ProviderID, AlreadySent: true}, nil
	case ledger.StatementFailed:
		return StatementResult{}, temporal.NewNonRetryableApplicationError(key+" failed earlier: "+row.Error, "StatementFailed", nil)
	}
	if row.NeedsReconcile() {
		r, found, err := a.Email.FindEmail(ctx, key, row.ClaimedAt.Add(-reconcileMargin))
		if err != nil {
			return StatementResult{}, fmt.Errorf("reconciling %s with the provider: %w", key, err)
		}
		if found {
			return a.statementSent(ctx, key, r, true)
		}
	}
	who, _, err := a.Ledger.CustomerProfile(ctx, req.CustomerID)
	if err != nil {
		return StatementResult{}, ledgerFailed("reading the name and locale of "+req.CustomerID, err)
	}
	pdf, err := statement.PDF(st, statement.PDFOptions{From: a.Business, CustomerName: who.Name, Locale: who.Locale})
	if err != nil {
		return StatementResult{}, badRequest(err)
	}
	portalURL, err := a.portalURL(ctx, req.CustomerID, key)
	if err != nil {
		return StatementResult{}, err
	}
	subject, text := statementEmail(st, a.Business, who)
	text += portalLine(portalURL, who.Locale)
	r, err := a.Email.SendEmail(ctx, notify.Email{
		Key: key, To: row.Address, ToName: who.Name, Subject: subject, Text: text,
		Attachments: []notify.Attachment{{Filename: "statement-" + req.CustomerID + "-" + st.AsOf + ".pdf", Type: "application/pdf", Content: pdf}},
	})
	if err != nil {
		if notify.IsPermanent(err) {
			if lerr := a.Ledger.CompleteStatement(ctx, key, ledger.StatementFailed, "", err.Error(), time.Now().UTC()); lerr != nil {
				return StatementResult{}, ledgerFailed("recording failed "+key, lerr)
			}
			return StatementResult{}, temporal.NewNonRetryableApplicationError("sending "+key+": "+err.Error(), "StatementFailed", err)
		}
		return StatementResult{}, fmt.Errorf("sending %s: %w", key, err)
	}
	return a.statementSent(ctx, key, r, false)
}

func (a *Activities) statementSent(ctx context.Context, key string, r notify.Receipt, already bool) (StatementResult, error) {
	if err := a.Ledger.CompleteStatement(ctx, key, ledger.StatementSent, r.ProviderID, "", time.Now().UTC()); err != nil {
		return StatementResult{}, ledgerFailed("recording "+key+" as sent", err)
	}
	if activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Info("Statement sent", "key", key, "provider_id", r.ProviderID, "found_at_provider", already)
	}
	return StatementResult{Outcome: "sent", ProviderID: r.ProviderID, AlreadySent: already}, nil
}

// statementEmail is the email that carries a statement, in the customer's language
// (en, de, ja; English otherwise): whom it is for, who sends it, the balance per
// currency and where to ask.
func statementEmail(st statement.Statement, b templates.Business, who ledger.CustomerProfile) (subject, text string) {
	tx := statement.TextsFor(who.Locale)
	from := b.Name
	if from == "" {
		from = tx.FromU
	}
	date := templates.FormatDate(st.AsOf, who.Locale)
	subject = fmt.Sprintf(tx.Subject, date)
	if b.Name != "" {
		subject += fmt.Sprintf(tx.SubjectFrom, b.Name)
	}
	var t strings.Builder
	if who.Name != "" {
		fmt.Fprintf(&t, tx.HelloName+"\n\n", who.Name)
	} else {
		t.WriteString(tx.Hello + "\n\n")
	}
	fmt.Fprintf(&t, tx.Attached+"\n\n", from, date)
	for _, sec := range st.Currencies {
		fmt.Fprintf(&t, tx.Balance+"\n", sec.Currency, templates.FormatAmount(sec.Balance.Minor, sec.Currency, who.Locale), len(sec.OpenItems))
	}
	t.WriteString("\n" + tx.Reply + "\n")
	if b.Name != "" {
		fmt.Fprintf(&t, "\n%s\n%s\n", tx.Regards, b.Name)
	}
	return subject, t.String()
}

// StatementCustomers lists the customers with open invoices, limited to segments and
// customers when either is given (a statement run's selection).
func (a *Activities) StatementCustomers(ctx context.Context, sel StatementSelection) ([]string, error) {
	ids, err := a.Ledger.StatementCustomers(ctx, sel.Segments, sel.Customers)
	return ids, ledgerFailed("listing the customers for statements", err)
}

// StatementSelection picks the customers of a statement run: those with open
// invoices in Segments or named in Customers; neither: every such customer.
type StatementSelection struct {
	Segments  []string `json:"segments,omitempty"`
	Customers []string `json:"customers,omitempty"`
}
