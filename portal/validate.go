package portal

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/templates"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// The page's forms, read into the workflow inputs an operator would send. These
// functions are pure: they see the form and the facts of the invoice and decide; the
// workflow's own validator checks again when the update arrives, so a page that was
// stale when submitted still changes nothing it should not.

// Refusal is a form value the portal does not accept: which field, and the sentence
// (a texts key and its arguments) that tells the customer why.
type Refusal struct {
	Field string
	Key   string
	Args  []any
}

func (r *Refusal) Error() string { return r.Field + ": " + words("en").T(r.Key, r.Args...) }

func refuse(field, key string, args ...any) *Refusal {
	return &Refusal{Field: field, Key: key, Args: args}
}

// Facts are what the forms are checked against: the invoice as its workflow sees it
// and the customer's local date.
type Facts struct {
	InvoiceID string
	Status    collection.Status
	Currency  string
	Balance   int64 // minor units
	Locale    string
	Today     collection.Date
}

// amount formats minor units for the customer.
func (f Facts) amount(minor int64) string { return templates.FormatAmount(minor, f.Currency, f.Locale) }

// date formats a date for the customer.
func (f Facts) date(d collection.Date) string { return templates.FormatDate(d.String(), f.Locale) }

// closed reports whether the invoice is settled one way or another.
func (f Facts) closed() bool {
	switch f.Status {
	case collection.StatusPaid, collection.StatusCancelled, collection.StatusWrittenOff:
		return true
	}
	return false
}

// Form field limits.
const (
	maxTextChars     = 1000
	maxInstallments  = 24
	planGraceDays    = 3
	maxPlanFirstDays = 366
)

// DisputeReasons are the reasons a customer picks from, in the order the page lists
// them.
var DisputeReasons = []string{"not_received", "wrong_amount", "already_paid", "quality", "other"}

func parseDate(form url.Values, field string) (collection.Date, *Refusal) {
	d, err := collection.ParseDate(strings.TrimSpace(form.Get(field)))
	if err != nil {
		return collection.Date{}, refuse(field, "err_date")
	}
	return d, nil
}

func parseAmount(form url.Values, field string, f Facts) (int64, *Refusal) {
	text := strings.TrimSpace(form.Get(field))
	v, err := money.Parse(text, f.Currency)
	if err != nil {
		if strings.HasPrefix(text, "-") || strings.Trim(text, "0.,") == "" && text != "" {
			return 0, refuse(field, "err_amount_zero")
		}
		return 0, refuse(field, "err_amount")
	}
	if v <= 0 {
		return 0, refuse(field, "err_amount_zero")
	}
	return v, nil
}

// PromiseLimit is the last date a customer may promise on the portal.
func PromiseLimit(p *policy.Policy, today collection.Date) collection.Date {
	return today.AddDays(int(p.PromiseLength() / (24 * time.Hour)))
}

// Promise reads the promise form (date, amount): a date from today to the policy's
// limit (until), an amount above zero and at most the balance.
func Promise(form url.Values, f Facts, until collection.Date) (invoiceapi.PromiseInput, *Refusal) {
	if f.closed() {
		return invoiceapi.PromiseInput{}, refuse("invoice", "err_closed", f.InvoiceID, f.Status)
	}
	date, r := parseDate(form, "date")
	if r != nil {
		return invoiceapi.PromiseInput{}, r
	}
	switch {
	case date.Before(f.Today):
		return invoiceapi.PromiseInput{}, refuse("date", "err_date_past")
	case date.After(until):
		return invoiceapi.PromiseInput{}, refuse("date", "err_date_late", f.date(until))
	}
	amount, r := parseAmount(form, "amount", f)
	if r != nil {
		return invoiceapi.PromiseInput{}, r
	}
	if amount > f.Balance {
		return invoiceapi.PromiseInput{}, refuse("amount", "err_amount_balance", f.amount(f.Balance))
	}
	return invoiceapi.PromiseInput{Date: date.String(), Amount: amount}, nil
}

// Dispute reads the dispute form: a reason from DisputeReasons and a text (required
// for "other"). It returns the reason as the workflow records it.
func Dispute(form url.Values, f Facts) (string, *Refusal) {
	if f.closed() {
		return "", refuse("invoice", "err_closed", f.InvoiceID, f.Status)
	}
	reason := form.Get("reason")
	if !slices.Contains(DisputeReasons, reason) {
		return "", refuse("reason", "err_reason")
	}
	text := strings.TrimSpace(form.Get("text"))
	switch {
	case len([]rune(text)) > maxTextChars:
		return "", refuse("text", "err_text_long", maxTextChars)
	case reason == "other" && text == "":
		return "", refuse("text", "err_text_required")
	case ledger.TextProblem(text) != "":
		// A NUL reached the workflow and then failed the audit entry; other control
		// characters garble the timeline.
		return "", refuse("text", "err_text_chars")
	}
	out := "customer: " + strings.ReplaceAll(reason, "_", " ")
	if text != "" {
		out += ": " + strings.Join(strings.Fields(text), " ")
	}
	return out, nil
}

// Plan reads the plan form: how many payments (count, 2 to 24), the first one's date
// (first_date, from today to a year ahead) and, optionally, its amount
// (first_amount, less than the balance). The others fall due monthly after it and
// share the rest equally, any remainder of the split in the last one; without a first
// amount all share the balance equally, the remainder in the first.
func Plan(form url.Values, f Facts) ([]invoiceapi.Installment, *Refusal) {
	if f.closed() {
		return nil, refuse("invoice", "err_closed", f.InvoiceID, f.Status)
	}
	n, err := strconv.Atoi(strings.TrimSpace(form.Get("count")))
	if err != nil || n < 2 || n > maxInstallments {
		return nil, refuse("count", "err_count", maxInstallments)
	}
	first, r := parseDate(form, "first_date")
	if r != nil {
		return nil, r
	}
	switch {
	case first.Before(f.Today):
		return nil, refuse("first_date", "err_date_past")
	case first.After(f.Today.AddDays(maxPlanFirstDays)):
		return nil, refuse("first_date", "err_date_late", f.date(f.Today.AddDays(maxPlanFirstDays)))
	}
	if f.Balance < int64(n) {
		return nil, refuse("count", "err_count", max(2, min(maxInstallments, int(f.Balance))))
	}
	amounts := make([]int64, n)
	if strings.TrimSpace(form.Get("first_amount")) != "" {
		a, r := parseAmount(form, "first_amount", f)
		if r != nil {
			return nil, r
		}
		rest := f.Balance - a
		if rest < int64(n-1) {
			return nil, refuse("first_amount", "err_first_amount", f.amount(f.Balance))
		}
		amounts[0] = a
		each := rest / int64(n-1)
		for i := 1; i < n; i++ {
			amounts[i] = each
		}
		amounts[n-1] += rest - each*int64(n-1)
	} else {
		each := f.Balance / int64(n)
		for i := range amounts {
			amounts[i] = each
		}
		amounts[0] += f.Balance - each*int64(n)
	}
	start := first.In(time.UTC)
	out := make([]invoiceapi.Installment, n)
	for i := range out {
		out[i] = invoiceapi.Installment{DueDate: collection.DateOf(start.AddDate(0, i, 0)).String(), Amount: amounts[i]}
	}
	return out, nil
}

// SelfService says whether a plan keeps to the policy's self-service limits, and if
// not, why (for the operator who decides it instead).
func SelfService(items []invoiceapi.Installment, f Facts, limits *policy.SelfServicePlan) (bool, string) {
	if limits == nil {
		return false, "the policy accepts no plan without an operator"
	}
	if len(items) > limits.MaxInstallments {
		return false, fmt.Sprintf("%d installments; at most %d are accepted at once", len(items), limits.MaxInstallments)
	}
	last, err := collection.ParseDate(items[len(items)-1].DueDate)
	if err != nil {
		return false, "the last installment has no date"
	}
	if until := f.Today.AddDays(limits.MaxLength.Days); last.After(until) {
		return false, fmt.Sprintf("the last installment is due %s, after %s (%s from today)", last, until, limits.MaxLength)
	}
	// The first installment pays at least MinFirstPayment of the balance, rounded up
	// (split so that no product of a balance and a rate overflows).
	bp := limits.MinFirstPayment.BasisPoints()
	if need := f.Balance/10_000*bp + (f.Balance%10_000*bp+9_999)/10_000; items[0].Amount < need {
		return false, fmt.Sprintf("the first installment pays %s, less than %s of the balance (%s)",
			money.Format(items[0].Amount, f.Currency), limits.MinFirstPayment, money.Format(need, f.Currency))
	}
	return true, ""
}

// ChannelOrder reads the preferences form's "first" (the channel a reminder that may
// go either way tries first): absent, nil (the order stays as it is); "email" or
// "sms", the whole order with that channel first; anything else is refused.
func ChannelOrder(form url.Values) ([]string, *Refusal) {
	first, ok := form["first"]
	if !ok {
		return nil, nil
	}
	if len(first) == 1 {
		for _, o := range ledger.ChannelOrders {
			if first[0] == o {
				order := []string{o}
				for _, rest := range ledger.ChannelOrders {
					if rest != o {
						order = append(order, rest)
					}
				}
				return order, nil
			}
		}
	}
	return nil, refuse("first", "err_first")
}
