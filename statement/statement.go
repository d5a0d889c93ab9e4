// Package statement computes a customer's account statement from ledger data: the
// open items with their fees, interest and payments, the payments and credits since
// the last statement, aging buckets and the balance, one section per currency (never
// summed across currencies). Compute is pure; Build reads the ledger and calls it,
// PDF renders the result.
package statement

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/money"
)

// Buckets are the aging buckets in order, by days past due on the statement date
// (the same as the aging report's).
var Buckets = []string{"current", "1_30", "31_60", "61_90", "90_plus"}

// bucketOf returns the index in Buckets for days past due.
func bucketOf(days int) int {
	switch {
	case days <= 0:
		return 0
	case days <= 30:
		return 1
	case days <= 60:
		return 2
	case days <= 90:
		return 3
	}
	return 4
}

// Adjustment kinds that are charges: they appear on an open item as fees or interest,
// not among the credits. They are the ledger's kinds as the collection package books
// them (the late fee, and the statutory compensation for recovery costs).
var (
	FeeKinds     = []string{collection.AdjLateFee, collection.AdjCompensation}
	InterestKind = collection.AdjInterest
)

// Data is what the ledger holds about one customer, up to the statement's cut-off.
type Data struct {
	CustomerID  string
	Invoices    []Invoice
	Payments    []Payment
	Adjustments []Adjustment
	// InterestLines are the half-year lines of reference-rate interest booked on an
	// invoice by At (the workflow records them with each interest booking).
	InterestLines []InterestLines
}

// InterestLines are an invoice's reference-rate interest lines as booked at At.
type InterestLines struct {
	InvoiceID string
	At        time.Time
	Lines     []collection.InterestLineView
}

// Invoice is one invoice of the customer as stored.
type Invoice struct {
	InvoiceID string
	Currency  string
	AmountDue int64 // minor units, the original amount
	IssuedAt  time.Time
	DueDate   string // YYYY-MM-DD
	Status    string // the current status
	PolicyID  string
	// ClosedAt is when the invoice was paid, cancelled or written off; nil while open.
	ClosedAt *time.Time
}

// Payment is one payment applied to an invoice.
type Payment struct {
	InvoiceID string
	PaymentID string
	Currency  string
	Amount    int64 // received
	Applied   int64 // towards the balance
	PaidAt    time.Time
}

// Adjustment is one change of an invoice's balance that is not a payment (a refund,
// credit note, write-off, fee, interest...). Amount is the effect on the balance.
type Adjustment struct {
	InvoiceID    string
	AdjustmentID string
	Kind         string
	Currency     string
	Amount       int64
	Reason       string
	At           time.Time
}

// Money is an amount in minor units of a currency; it reads in JSON as the decimal
// string in major units ("1250.00"), as everywhere in the API.
type Money struct {
	Minor    int64
	Currency string
}

// String formats m in major units without the currency code.
func (m Money) String() string { return money.Format(m.Minor, m.Currency) }

// MarshalJSON writes the decimal string.
func (m Money) MarshalJSON() ([]byte, error) { return json.Marshal(m.String()) }

// Statement is one customer's statement as of a date.
type Statement struct {
	CustomerID string `json:"customer_id"`
	// AsOf is the statement date (YYYY-MM-DD, UTC): everything up to its end counts,
	// days overdue are counted on it.
	AsOf string `json:"as_of"`
	// Since is the first day of the activity shown (the day after the last statement
	// sent, unless asked otherwise); empty when the activity starts with the account.
	Since string `json:"since,omitempty"`
	// Currencies has one section per currency, in code order.
	Currencies []Section `json:"currencies"`
}

// Section is the part of a statement in one currency.
type Section struct {
	Currency  string     `json:"currency"`
	OpenItems []OpenItem `json:"open_items"`
	// Aging has every bucket of Buckets, in order.
	Aging   []Bucket `json:"aging"`
	Balance Money    `json:"balance"`
	// Payments and Credits are the activity since Since, in time order.
	Payments []PaymentLine `json:"payments"`
	Credits  []CreditLine  `json:"credits"`
	// PaidSince and CreditedSince total them (credits by their effect on the balance,
	// negative when they lowered it).
	PaidSince     Money `json:"paid_since"`
	CreditedSince Money `json:"credited_since"`
}

// OpenItem is one invoice with a balance on the statement date.
type OpenItem struct {
	InvoiceID string `json:"invoice_id"`
	Status    string `json:"status"`
	PolicyID  string `json:"policy_id"`
	Issued    string `json:"issued"` // YYYY-MM-DD
	Due       string `json:"due"`    // YYYY-MM-DD
	Original  Money  `json:"original_amount"`
	// Fees are the charges by kind (late_fee, ...), in FeeKinds order; FeesTotal sums them.
	Fees      []Fee `json:"fees"`
	FeesTotal Money `json:"fees_total"`
	Interest  Money `json:"interest"`
	// InterestLines split Interest (reference-rate interest) by half-year, each with
	// its days late and the rate used: the invoice's state's lines when last booked
	// before the end of the statement date.
	InterestLines []collection.InterestLineView `json:"interest_lines,omitempty"`
	// Paid is what payments applied; Adjusted the net effect of every other
	// adjustment (refunds raise it, credit notes and discounts lower it).
	Paid     Money `json:"paid"`
	Adjusted Money `json:"adjusted"`
	Balance  Money `json:"balance"`
	// DaysOverdue is counted on the statement date; 0 when not yet due.
	DaysOverdue int    `json:"days_overdue"`
	Bucket      string `json:"bucket"`
	// Terms states the terms that apply to the invoice (its policy's fees and
	// interest, in words), when known.
	Terms string `json:"terms,omitempty"`
}

// Fee is one kind of fee charged on an invoice.
type Fee struct {
	Kind   string `json:"kind"`
	Amount Money  `json:"amount"`
}

// Bucket is one aging bucket.
type Bucket struct {
	Bucket   string `json:"bucket"`
	Invoices int    `json:"invoices"`
	Amount   Money  `json:"amount"`
}

// PaymentLine is one payment received in the period.
type PaymentLine struct {
	InvoiceID string `json:"invoice_id"`
	PaymentID string `json:"payment_id"`
	Date      string `json:"date"` // YYYY-MM-DD
	Amount    Money  `json:"amount"`
	Applied   Money  `json:"applied"`
}

// CreditLine is one refund, credit note, adjustment, discount or write-off in the
// period; Amount is its effect on the balance.
type CreditLine struct {
	InvoiceID    string `json:"invoice_id"`
	AdjustmentID string `json:"adjustment_id"`
	Kind         string `json:"kind"`
	Date         string `json:"date"` // YYYY-MM-DD
	Amount       Money  `json:"amount"`
	Reason       string `json:"reason,omitempty"`
}

// Options are the statement's dates and its terms.
type Options struct {
	// AsOf is the statement date; only its UTC calendar day counts.
	AsOf time.Time
	// Since is the first day of the activity shown; zero: from the beginning.
	Since time.Time
	// Terms, when set, states in words the terms of an invoice's policy for an
	// amount in currency (its late fee and interest).
	Terms func(policyID, currency string) string
}

// Day is the UTC calendar day of t, at midnight.
func Day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// Cutoff is the instant a statement as of asOf ends: the start of the next UTC day.
func Cutoff(asOf time.Time) time.Time { return Day(asOf).AddDate(0, 0, 1) }

// Compute builds the statement from d. Only rows before the end of o.AsOf count; an
// invoice is an open item when it was issued by then, was not closed by then and has
// a balance (original + fees + interest + adjustments - applied payments) above
// zero. Activity is what happened from o.Since (a day) to the end of o.AsOf.
func Compute(d Data, o Options) Statement {
	asOf := Day(o.AsOf)
	end := asOf.AddDate(0, 0, 1)
	var since time.Time
	if !o.Since.IsZero() {
		since = Day(o.Since)
	}
	st := Statement{CustomerID: d.CustomerID, AsOf: asOf.Format(time.DateOnly), Currencies: []Section{}}
	if !since.IsZero() {
		st.Since = since.Format(time.DateOnly)
	}
	sections := map[string]*Section{}
	section := func(cur string) *Section {
		s, ok := sections[cur]
		if !ok {
			s = &Section{Currency: cur, OpenItems: []OpenItem{}, Payments: []PaymentLine{}, Credits: []CreditLine{},
				Balance: Money{0, cur}, PaidSince: Money{0, cur}, CreditedSince: Money{0, cur}}
			for _, b := range Buckets {
				s.Aging = append(s.Aging, Bucket{Bucket: b, Amount: Money{0, cur}})
			}
			sections[cur] = s
		}
		return s
	}
	inPeriod := func(t time.Time) bool { return t.Before(end) && !t.Before(since) }

	type sums struct {
		fees                     map[string]int64
		interest, paid, adjusted int64
	}
	per := map[string]*sums{}
	for _, inv := range d.Invoices {
		per[inv.InvoiceID] = &sums{fees: map[string]int64{}}
	}
	for _, p := range d.Payments {
		s, ok := per[p.InvoiceID]
		if !ok || !p.PaidAt.Before(end) {
			continue
		}
		s.paid += p.Applied
		if inPeriod(p.PaidAt) {
			sec := section(p.Currency)
			sec.Payments = append(sec.Payments, PaymentLine{InvoiceID: p.InvoiceID, PaymentID: p.PaymentID,
				Date: p.PaidAt.UTC().Format(time.DateOnly), Amount: Money{p.Amount, p.Currency}, Applied: Money{p.Applied, p.Currency}})
			sec.PaidSince.Minor += p.Amount
		}
	}
	for _, a := range d.Adjustments {
		s, ok := per[a.InvoiceID]
		if !ok || !a.At.Before(end) {
			continue
		}
		switch {
		case slices.Contains(FeeKinds, a.Kind):
			s.fees[a.Kind] += a.Amount
		case a.Kind == InterestKind:
			s.interest += a.Amount
		default:
			s.adjusted += a.Amount
			if inPeriod(a.At) {
				sec := section(a.Currency)
				sec.Credits = append(sec.Credits, CreditLine{InvoiceID: a.InvoiceID, AdjustmentID: a.AdjustmentID, Kind: a.Kind,
					Date: a.At.UTC().Format(time.DateOnly), Amount: Money{a.Amount, a.Currency}, Reason: a.Reason})
				sec.CreditedSince.Minor += a.Amount
			}
		}
	}
	for _, inv := range d.Invoices {
		if !inv.IssuedAt.Before(end) || inv.ClosedAt != nil && inv.ClosedAt.Before(end) {
			continue
		}
		s := per[inv.InvoiceID]
		item := openItem(inv, s.fees, s.interest, s.paid, s.adjusted, asOf)
		if item.Balance.Minor <= 0 {
			continue
		}
		if o.Terms != nil {
			item.Terms = o.Terms(inv.PolicyID, inv.Currency)
		}
		item.InterestLines = latestInterestLines(d.InterestLines, inv.InvoiceID, end)
		sec := section(inv.Currency)
		sec.OpenItems = append(sec.OpenItems, item)
		b := &sec.Aging[bucketOf(item.DaysOverdue)]
		b.Invoices++
		b.Amount.Minor += item.Balance.Minor
		sec.Balance.Minor += item.Balance.Minor
	}
	for _, cur := range slices.Sorted(maps.Keys(sections)) {
		sec := sections[cur]
		slices.SortStableFunc(sec.OpenItems, func(a, b OpenItem) int {
			return strings.Compare(a.Due+a.InvoiceID, b.Due+b.InvoiceID)
		})
		slices.SortStableFunc(sec.Payments, func(a, b PaymentLine) int { return strings.Compare(a.Date, b.Date) })
		slices.SortStableFunc(sec.Credits, func(a, b CreditLine) int { return strings.Compare(a.Date, b.Date) })
		st.Currencies = append(st.Currencies, *sec)
	}
	return st
}

func openItem(inv Invoice, fees map[string]int64, interest, paid, adjusted int64, asOf time.Time) OpenItem {
	cur := inv.Currency
	item := OpenItem{
		InvoiceID: inv.InvoiceID, Status: inv.Status, PolicyID: inv.PolicyID,
		Issued: inv.IssuedAt.UTC().Format(time.DateOnly), Due: inv.DueDate,
		Original: Money{inv.AmountDue, cur}, Fees: []Fee{}, FeesTotal: Money{0, cur},
		Interest: Money{interest, cur}, Paid: Money{paid, cur}, Adjusted: Money{adjusted, cur},
	}
	for _, k := range FeeKinds {
		if fees[k] != 0 {
			item.Fees = append(item.Fees, Fee{Kind: k, Amount: Money{fees[k], cur}})
			item.FeesTotal.Minor += fees[k]
		}
	}
	item.Balance = Money{inv.AmountDue + item.FeesTotal.Minor + interest + adjusted - paid, cur}
	if due, err := time.Parse(time.DateOnly, inv.DueDate); err == nil && asOf.After(due) {
		item.DaysOverdue = int(asOf.Sub(due) / (24 * time.Hour))
	}
	item.Bucket = Buckets[bucketOf(item.DaysOverdue)]
	return item
}

// latestInterestLines are the invoice's interest lines booked last before end.
func latestInterestLines(all []InterestLines, invoiceID string, end time.Time) []collection.InterestLineView {
	var best *InterestLines
	for i := range all {
		l := &all[i]
		if l.InvoiceID == invoiceID && l.At.Before(end) && (best == nil || l.At.After(best.At)) {
			best = l
		}
	}
	if best == nil {
		return nil
	}
	return best.Lines
}
