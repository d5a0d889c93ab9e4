package reports

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Payment-behaviour bands (docs/kpis.md, "Customer view").
const (
	BandAtRisk = "at_risk"
	BandNew    = "new"
	BandPrompt = "prompt"
	BandSlow   = "slow"
)

// Band thresholds.
const (
	bandMinPaid        = 3
	bandPromptShare    = 0.9
	bandPromptDaysLate = 3
	bandAtRiskDaysLate = 30
)

// customerInvoicesSQL: every invoice of customer $1 as of $2 (now).
const customerInvoicesSQL = `
SELECT i.invoice_id, i.currency, i.status, i.due_date,
	i.amount_due_minor + a.total - p.applied,
	` + paidSQL + `,
	COALESCE((p.last_paid AT TIME ZONE 'UTC')::date - i.due_date, 0),
	a.write_offs > 0,
	EXISTS (SELECT 1 FROM escalations e WHERE e.invoice_id = i.invoice_id AND e.escalated_at < $2)
FROM invoices i` + asOfSQL + `
WHERE i.customer_id = $1 AND i.issued_at < $2
ORDER BY i.due_date, i.invoice_id`

const lastContactSQL = `
SELECT max(n.sent_at) FROM notices n JOIN invoices i ON i.invoice_id = n.invoice_id
WHERE i.customer_id = $1 AND n.status = 'sent' AND n.sent_at < $2`

const optOutsSQL = `
SELECT COALESCE(e.details->>'channel', ''), e.at, e.invoice_id
FROM lifecycle_events e JOIN invoices i ON i.invoice_id = e.invoice_id
WHERE i.customer_id = $1 AND e.kind = 'opted_out' AND e.at < $2
ORDER BY e.at, e.invoice_id`

// OpenInvoice is one of the customer's invoices with a balance.
type OpenInvoice struct {
	InvoiceID   string `json:"invoice_id"`
	Currency    string `json:"currency"`
	Status      string `json:"status"`
	DueDate     string `json:"due_date"`
	Balance     Money  `json:"balance"`
	DaysPastDue int64  `json:"days_past_due"`
}

// CurrencyBalance is the customer's open balance in one currency.
type CurrencyBalance struct {
	Currency string `json:"currency"`
	Invoices int64  `json:"invoices"`
	Balance  Money  `json:"balance"`
}

// OptOut is a channel the customer opted out of.
type OptOut struct {
	Channel   string    `json:"channel"`
	At        time.Time `json:"at"`
	InvoiceID string    `json:"invoice_id"`
}

// Customer is one customer's invoices and payment behaviour.
type Customer struct {
	CustomerID      string            `json:"customer_id"`
	AsOf            time.Time         `json:"as_of"`
	Invoices        int64             `json:"invoices"`
	OpenInvoices    []OpenInvoice     `json:"open_invoices"`
	Balances        []CurrencyBalance `json:"balances"`
	InvoicesPaid    int64             `json:"invoices_paid"`
	PaidOnTime      int64             `json:"paid_on_time"`
	DaysLateTotal   int64             `json:"days_late_total"`
	AverageDaysLate *float64          `json:"average_days_late"`
	OnTimeShare     *float64          `json:"on_time_share"`
	WrittenOff      int64             `json:"written_off"`
	Escalated       int64             `json:"escalated"`
	LastContact     *time.Time        `json:"last_contact"`
	OptOuts         []OptOut          `json:"opt_outs"`
	Band            string            `json:"band"`
}

// Customer returns the customer's view as of now, or ErrNotFound if the ledger has
// no invoice for it.
func (r *Reporter) Customer(ctx context.Context, customerID string) (Customer, error) {
	now := r.now()
	today := Day(now)
	c := Customer{CustomerID: customerID, AsOf: now, OpenInvoices: []OpenInvoice{}, Balances: []CurrencyBalance{},
		OptOuts: []OptOut{}}
	balances := map[string]*CurrencyBalance{}
	err := r.snapshot(ctx, func(tx pgx.Tx) error {
		var (
			inv                   OpenInvoice
			due                   time.Time
			paid, wo, escalated   bool
			balance, daysLateSign int64
		)
		err := each(ctx, tx, customerInvoicesSQL, []any{customerID, now},
			[]any{&inv.InvoiceID, &inv.Currency, &inv.Status, &due, &balance, &paid, &daysLateSign, &wo, &escalated}, func() {
				c.Invoices++
				if wo {
					c.WrittenOff++
				}
				if escalated {
					c.Escalated++
				}
				if paid {
					c.InvoicesPaid++
					if daysLateSign <= 0 {
						c.PaidOnTime++
					} else {
						c.DaysLateTotal += daysLateSign
					}
				}
				if balance > 0 {
					o := inv
					o.DueDate = due.Format(time.DateOnly)
					o.Balance = Money{Minor: balance, Currency: inv.Currency}
					o.DaysPastDue = int64(today.Sub(due) / (24 * time.Hour))
					c.OpenInvoices = append(c.OpenInvoices, o)
					b, ok := balances[inv.Currency]
					if !ok {
						b = &CurrencyBalance{Currency: inv.Currency, Balance: Money{Currency: inv.Currency}}
						balances[inv.Currency] = b
					}
					b.Invoices++
					b.Balance.Minor += balance
				}
			})
		if err != nil {
			return err
		}
		if c.Invoices == 0 {
			return ErrNotFound
		}
		if err := tx.QueryRow(ctx, lastContactSQL, customerID, now).Scan(&c.LastContact); err != nil {
			return err
		}
		var o OptOut
		return each(ctx, tx, optOutsSQL, []any{customerID, now}, []any{&o.Channel, &o.At, &o.InvoiceID}, func() {
			o.At = o.At.UTC()
			c.OptOuts = append(c.OptOuts, o)
		})
	})
	if errors.Is(err, ErrNotFound) {
		return Customer{}, fmt.Errorf("reports: customer %q: %w", customerID, ErrNotFound)
	}
	if err != nil {
		return Customer{}, fmt.Errorf("reports: customer %q: %w", customerID, err)
	}
	if c.LastContact != nil {
		t := c.LastContact.UTC()
		c.LastContact = &t
	}
	for _, cur := range currencies(balances) {
		c.Balances = append(c.Balances, *balances[cur])
	}
	if c.InvoicesPaid > 0 {
		c.AverageDaysLate = round(float64(c.DaysLateTotal)/float64(c.InvoicesPaid), 2)
		c.OnTimeShare = rate(c.PaidOnTime, c.InvoicesPaid)
	}
	c.Band = band(c)
	return c, nil
}

// band applies the rules of docs/kpis.md in order.
func band(c Customer) string {
	switch {
	case c.WrittenOff > 0 || c.Escalated > 0 ||
		(c.InvoicesPaid > 0 && c.DaysLateTotal > bandAtRiskDaysLate*c.InvoicesPaid):
		return BandAtRisk
	case c.InvoicesPaid < bandMinPaid:
		return BandNew
	case float64(c.PaidOnTime) >= bandPromptShare*float64(c.InvoicesPaid) &&
		c.DaysLateTotal <= bandPromptDaysLate*c.InvoicesPaid:
		return BandPrompt
	default:
		return BandSlow
	}
}
