package statement

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/ledger"
)

// ErrUnknownCustomer means the ledger holds no invoice of the customer.
var ErrUnknownCustomer = errors.New("unknown customer")

// Build reads the customer's account from the ledger and computes the statement as
// of o.AsOf (zero: today, UTC). Without o.Since the activity starts the day after the
// last statement sent to the customer before o.AsOf, or with the account when none
// was. A customer without invoices is ErrUnknownCustomer.
func Build(ctx context.Context, store *ledger.Store, customerID string, o Options) (Statement, error) {
	if o.AsOf.IsZero() {
		o.AsOf = time.Now()
	}
	o.AsOf = Day(o.AsOf)
	if o.Since.IsZero() {
		last, ok, err := store.LastStatement(ctx, customerID, o.AsOf)
		if err != nil {
			return Statement{}, fmt.Errorf("statement of %s: %w", customerID, err)
		}
		if ok {
			d, err := time.Parse(time.DateOnly, last)
			if err != nil {
				return Statement{}, fmt.Errorf("statement of %s: last statement date %q: %w", customerID, last, err)
			}
			o.Since = d.AddDate(0, 0, 1)
		}
	}
	if !o.Since.IsZero() {
		o.Since = Day(o.Since)
	}
	acc, err := store.ReadCustomerAccount(ctx, customerID, o.Since, Cutoff(o.AsOf))
	if errors.Is(err, ledger.ErrNotFound) {
		return Statement{}, fmt.Errorf("statement of %s: %w", customerID, ErrUnknownCustomer)
	}
	if err != nil {
		return Statement{}, fmt.Errorf("statement of %s: %w", customerID, err)
	}
	d, err := FromLedger(acc)
	if err != nil {
		return Statement{}, fmt.Errorf("statement of %s: %w", customerID, err)
	}
	return Compute(d, o), nil
}

// FromLedger turns the ledger's account rows into Compute's input. Interest lines
// that do not decode are an error (the ledger holds what the workflow wrote).
func FromLedger(acc ledger.CustomerAccount) (Data, error) {
	d := Data{CustomerID: acc.CustomerID}
	for _, inv := range acc.Invoices {
		d.Invoices = append(d.Invoices, Invoice{
			InvoiceID: inv.InvoiceID, Currency: inv.Currency, AmountDue: inv.AmountDue, IssuedAt: inv.IssuedAt,
			DueDate: inv.DueDate, Status: inv.Status, PolicyID: inv.PolicyID, ClosedAt: inv.ClosedAt,
		})
	}
	for _, p := range acc.Payments {
		d.Payments = append(d.Payments, Payment{InvoiceID: p.InvoiceID, PaymentID: p.PaymentID, Currency: p.Currency,
			Amount: p.Amount, Applied: p.Applied, PaidAt: p.PaidAt})
	}
	for _, a := range acc.Adjustments {
		d.Adjustments = append(d.Adjustments, Adjustment{InvoiceID: a.InvoiceID, AdjustmentID: a.AdjustmentID, Kind: a.Kind,
			Currency: a.Currency, Amount: a.Amount, Reason: a.Reason, At: a.At})
	}
	for _, l := range acc.InterestLines {
		var lines []collection.InterestLineView
		if err := json.Unmarshal(l.Lines, &lines); err != nil {
			return Data{}, fmt.Errorf("interest lines of %s at %s: %w", l.InvoiceID, l.At.Format(time.RFC3339), err)
		}
		d.InterestLines = append(d.InterestLines, InterestLines{InvoiceID: l.InvoiceID, At: l.At, Lines: lines})
	}
	return d, nil
}
