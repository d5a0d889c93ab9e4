package bank

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dunwell/dunwell/bank/rf"
	"github.com/dunwell/dunwell/money"
)

// Method is how a transaction was matched, in falling order of confidence.
type Method string

// Methods.
const (
	MethodReference     Method = "reference"      // a structured creditor reference (RF) of the invoice
	MethodDocument      Method = "document"       // the invoice number as a structured referred document
	MethodInvoiceNumber Method = "invoice_number" // the invoice number in the remittance text
	MethodPayer         Method = "payer"          // amount and a payer remembered for the customer
	MethodOperator      Method = "operator"       // an operator's decision
)

// Confidence of each method; Config.Threshold decides which are applied unasked.
var confidence = map[Method]int{
	MethodReference: 100, MethodDocument: 95, MethodInvoiceNumber: 90, MethodPayer: 80,
}

// payerSumConfidence: a remembered payer's amount equals the sum of the customer's
// oldest open invoices (several at once).
const payerSumConfidence = 75

// DefaultThreshold is the confidence from which a match is applied without an
// operator: every method above, down to a remembered payer paying the sum of their
// oldest invoices.
const DefaultThreshold = 75

// Invoice is an invoice as matching needs it. Closed invoices are given too, so that
// a transfer for one is explained instead of lost.
type Invoice struct {
	ID         string
	CustomerID string
	Currency   string
	Balance    int64 // minor units still owed
	IssuedAt   time.Time
	Status     string // the invoice's status; Closed says whether it takes payments
	Closed     bool
}

// Allocation is the part of a transaction applied to one invoice.
type Allocation struct {
	InvoiceID string `json:"invoice_id"`
	Amount    int64  `json:"amount_minor"`
}

// Suggestion is an invoice an operator might match a transaction to, and why.
type Suggestion struct {
	InvoiceID string `json:"invoice_id"`
	Why       string `json:"why"`
}

// Decision is what Match made of a transaction. Apply says whether it is confident
// enough to apply; otherwise it waits for an operator with Why and Suggestions.
type Decision struct {
	Apply       bool         `json:"apply"`
	Method      Method       `json:"method,omitempty"`
	Confidence  int          `json:"confidence"`
	Why         string       `json:"why"`
	Allocations []Allocation `json:"allocations,omitempty"`
	Suggestions []Suggestion `json:"suggestions,omitempty"`
}

// Config tunes a Matcher.
type Config struct {
	// Threshold is the confidence from which a match is applied (DefaultThreshold).
	Threshold int
}

// maxSuggestions bounds the suggestions of one transaction.
const maxSuggestions = 5

// Matcher matches credits against a snapshot of invoices. Build it once per import
// (NewMatcher is linear in the invoices); each Match is linear in the transaction's
// remittance, not in the invoices. It remembers what it allocated, so two transfers
// of one import do not both pay the same balance. Not safe for concurrent use.
type Matcher struct {
	threshold int
	byID      map[string]*Invoice   // upper-cased id
	byRF      map[string]*Invoice   // the invoice's RF reference
	byAmount  map[string][]*Invoice // currency + balance, open invoices only (for suggestions)
	customers map[string][]*Invoice // open invoices per customer, oldest first once sorted
	sorted    map[string]bool
	payers    map[string]string // PayerKeys -> customer id
	// currencies the invoices are in, to tell a transfer no invoice could take
	currencies map[string]bool
}

// NewMatcher indexes invoices and the payers remembered per customer (PayerKeys to
// customer id).
func NewMatcher(invoices []Invoice, payers map[string]string, cfg Config) *Matcher {
	if cfg.Threshold <= 0 {
		cfg.Threshold = DefaultThreshold
	}
	m := &Matcher{
		threshold:  cfg.Threshold,
		byID:       make(map[string]*Invoice, len(invoices)),
		byRF:       make(map[string]*Invoice, len(invoices)),
		byAmount:   make(map[string][]*Invoice, len(invoices)),
		customers:  map[string][]*Invoice{},
		sorted:     map[string]bool{},
		payers:     payers,
		currencies: map[string]bool{},
	}
	for i := range invoices {
		inv := &invoices[i]
		m.currencies[inv.Currency] = true
		m.byID[strings.ToUpper(inv.ID)] = inv
		m.byRF[rf.ForInvoice(inv.ID)] = inv
		if !inv.Closed && inv.Balance > 0 {
			k := amountKey(inv.Currency, inv.Balance)
			if len(m.byAmount[k]) < maxSuggestions {
				m.byAmount[k] = append(m.byAmount[k], inv)
			}
			m.customers[inv.CustomerID] = append(m.customers[inv.CustomerID], inv)
		}
	}
	return m
}

func amountKey(currency string, amount int64) string {
	return fmt.Sprintf("%s:%d", currency, amount)
}

// PayerKeys are the keys a payer is remembered by: the account (IBAN or other id)
// first, else the name, normalized.
func PayerKeys(p Party) []string {
	var keys []string
	if a := strings.ToUpper(strings.Join(strings.Fields(p.Account), "")); a != "" {
		keys = append(keys, "account:"+a)
	}
	if n := strings.ToLower(strings.Join(strings.Fields(p.Name), " ")); n != "" {
		keys = append(keys, "name:"+n)
	}
	return keys
}

// Match decides what to do with tx. Only applicable transactions (booked credits,
// not reversals) are matched; for the others the decision says why not.
func (m *Matcher) Match(tx *Transaction) Decision {
	switch {
	case !tx.Credit:
		return Decision{Why: "a debit: recorded, nothing to apply"}
	case tx.Reversal:
		return Decision{Why: "a reversal: recorded, nothing to apply"}
	case tx.Booking != Booked:
		return Decision{Why: fmt.Sprintf("not booked (%s): recorded, applied only once booked", tx.Booking)}
	case !m.currencies[tx.Currency]:
		return Decision{Why: fmt.Sprintf("no invoice is in %s: it waits for an operator (a refund, or an invoice issued later)", tx.Currency)}
	}
	if d, ok := m.byReference(tx); ok {
		return m.decide(d, tx)
	}
	if d, ok := m.byPayer(tx); ok {
		return m.decide(d, tx)
	}
	return m.unmatched(tx, "no invoice reference or number in the remittance, and no payer remembered for this amount", nil)
}

// decide applies d when it is confident enough, and counts its allocations against
// the balances for the rest of the import.
func (m *Matcher) decide(d Decision, tx *Transaction) Decision {
	if d.Allocations == nil {
		return d
	}
	d.Apply = d.Confidence >= m.threshold
	if !d.Apply {
		for _, a := range d.Allocations {
			d.Suggestions = append(d.Suggestions, Suggestion{InvoiceID: a.InvoiceID, Why: d.Why})
		}
		d.Allocations = nil
		d.Why = fmt.Sprintf("confidence %d is below the threshold %d: %s", d.Confidence, m.threshold, d.Why)
		return d
	}
	for _, a := range d.Allocations {
		inv := m.byID[strings.ToUpper(a.InvoiceID)]
		inv.Balance = max(0, inv.Balance-a.Amount)
	}
	return d
}

// reference is an invoice a transaction names, and how.
type reference struct {
	inv    *Invoice
	method Method
	token  string
}

// byReference finds the invoices the remittance names: RF references, structured
// document numbers, invoice numbers in the text, in that order, each invoice once.
func (m *Matcher) byReference(tx *Transaction) (Decision, bool) {
	var refs []reference
	seen := map[*Invoice]bool{}
	add := func(inv *Invoice, method Method, token string) {
		if inv != nil && !seen[inv] {
			seen[inv] = true
			refs = append(refs, reference{inv, method, token})
		}
	}
	for _, r := range tx.References {
		n := rf.Normalize(r)
		add(m.byRF[n], MethodReference, n)
		add(m.byID[n], MethodDocument, r) // some payers put the number in the reference field
	}
	for _, d := range tx.Documents {
		add(m.byID[strings.ToUpper(strings.TrimSpace(d))], MethodDocument, d)
	}
	tokens := tokenize(tx.Text)
	for i, t := range tokens {
		if strings.HasPrefix(t, "RF") {
			if ref, ok := rfAt(tokens, i); ok {
				add(m.byRF[ref], MethodReference, ref)
				continue
			}
		}
		add(m.byID[t], MethodInvoiceNumber, t)
	}
	if len(refs) == 0 {
		return Decision{}, false
	}
	// The weakest method found is the match's: a reference plus a guessed number is
	// only as sure as the number.
	method := refs[0].method
	var open []*Invoice
	var problems []string
	for _, r := range refs {
		if confidence[r.method] < confidence[method] {
			method = r.method
		}
		switch {
		case r.inv.Currency != tx.Currency:
			problems = append(problems, fmt.Sprintf("invoice %s is in %s, the transfer in %s", r.inv.ID, r.inv.Currency, tx.Currency))
		case r.inv.Closed:
			problems = append(problems, fmt.Sprintf("invoice %s is %s (closed): refund the transfer or match it to another invoice of the customer, where it is kept as credit", r.inv.ID, r.inv.Status))
		case r.inv.Balance == 0:
			problems = append(problems, fmt.Sprintf("invoice %s has no balance left (paid by an earlier transfer of this import)", r.inv.ID))
		default:
			open = append(open, r.inv)
		}
	}
	if len(problems) > 0 {
		var sugg []Suggestion
		for _, r := range refs {
			sugg = append(sugg, Suggestion{InvoiceID: r.inv.ID, Why: fmt.Sprintf("named in the remittance (%s %s)", r.method, r.token)})
		}
		return m.unmatched(tx, strings.Join(problems, "; "), sugg), true
	}
	allocs := Allocate(tx.Amount, open)
	names := make([]string, len(open))
	for i, inv := range open {
		names[i] = inv.ID
	}
	why := fmt.Sprintf("%s names %s", methodWords(method), strings.Join(names, ", "))
	return Decision{Method: method, Confidence: confidence[method], Why: why + m.shape(tx, open), Allocations: allocs}, true
}

// shape says whether the transfer pays the invoices exactly, partly or over.
func (m *Matcher) shape(tx *Transaction, invs []*Invoice) string {
	var sum int64
	for _, inv := range invs {
		sum += inv.Balance
	}
	switch {
	case tx.Amount == sum:
		return ""
	case tx.Amount < sum:
		return fmt.Sprintf("; a partial payment (%s of %s %s)", money.Format(tx.Amount, tx.Currency), money.Format(sum, tx.Currency), tx.Currency)
	default:
		return fmt.Sprintf("; an over-payment (%s over, kept as credit)", money.Format(tx.Amount-sum, tx.Currency))
	}
}

func methodWords(m Method) string {
	switch m {
	case MethodReference:
		return "the RF creditor reference"
	case MethodDocument:
		return "the structured document number"
	case MethodInvoiceNumber:
		return "the remittance text"
	}
	return string(m)
}

// byPayer matches a transfer from a payer remembered for a customer: one open invoice
// of exactly its amount, or the customer's oldest open invoices adding up to it.
func (m *Matcher) byPayer(tx *Transaction) (Decision, bool) {
	customer := ""
	for _, k := range PayerKeys(tx.Payer) {
		if c, ok := m.payers[k]; ok {
			customer = c
			break
		}
	}
	if customer == "" {
		return Decision{}, false
	}
	invs := m.openOf(customer, tx.Currency)
	var exact []*Invoice
	for _, inv := range invs {
		if inv.Balance == tx.Amount {
			exact = append(exact, inv)
		}
	}
	who := cmp.Or(tx.Payer.Account, tx.Payer.Name)
	if len(exact) == 1 {
		return Decision{Method: MethodPayer, Confidence: confidence[MethodPayer],
			Why:         fmt.Sprintf("payer %s is remembered for customer %s, whose only open invoice of this amount is %s", who, customer, exact[0].ID),
			Allocations: []Allocation{{InvoiceID: exact[0].ID, Amount: tx.Amount}}}, true
	}
	var sum int64
	for k, inv := range invs {
		sum += inv.Balance
		if sum == tx.Amount && k > 0 && len(exact) == 0 {
			names := make([]string, k+1)
			for i := range names {
				names[i] = invs[i].ID
			}
			return Decision{Method: MethodPayer, Confidence: payerSumConfidence,
				Why:         fmt.Sprintf("payer %s is remembered for customer %s; the amount is the sum of their %d oldest open invoices (%s)", who, customer, k+1, strings.Join(names, ", ")),
				Allocations: Allocate(tx.Amount, invs[:k+1])}, true
		}
		if sum > tx.Amount {
			break
		}
	}
	var sugg []Suggestion
	for _, inv := range invs {
		if len(sugg) == maxSuggestions {
			break
		}
		why := "an open invoice of customer " + customer + ", whose payer this is"
		if inv.Balance == tx.Amount {
			why = "its balance equals the amount, and the payer is remembered for its customer " + customer
		}
		sugg = append(sugg, Suggestion{InvoiceID: inv.ID, Why: why})
	}
	return m.unmatched(tx, fmt.Sprintf("payer %s is remembered for customer %s, but no single open invoice nor their oldest ones add up to %s %s",
		who, customer, money.Format(tx.Amount, tx.Currency), tx.Currency), sugg), true
}

// openOf returns the customer's open invoices in currency with a balance, oldest first.
func (m *Matcher) openOf(customer, currency string) []*Invoice {
	all := m.customers[customer]
	if !m.sorted[customer] {
		slices.SortFunc(all, func(a, b *Invoice) int {
			return cmp.Or(a.IssuedAt.Compare(b.IssuedAt), cmp.Compare(a.ID, b.ID))
		})
		m.sorted[customer] = true
	}
	var out []*Invoice
	for _, inv := range all {
		if inv.Currency == currency && inv.Balance > 0 {
			out = append(out, inv)
		}
	}
	return out
}

// unmatched is a decision for the operator: why, the suggestions given plus the open
// invoices whose balance equals the amount.
func (m *Matcher) unmatched(tx *Transaction, why string, sugg []Suggestion) Decision {
	have := map[string]bool{}
	for _, s := range sugg {
		have[s.InvoiceID] = true
	}
	for _, inv := range m.byAmount[amountKey(tx.Currency, tx.Amount)] {
		if len(sugg) >= maxSuggestions {
			break
		}
		if !have[inv.ID] && inv.Balance == tx.Amount {
			sugg = append(sugg, Suggestion{InvoiceID: inv.ID, Why: "its open balance equals the amount"})
		}
	}
	if tx.Batch > 1 {
		why = fmt.Sprintf("a batch booking of %d transfers without their details; ", tx.Batch) + why
	}
	return Decision{Why: why, Suggestions: sugg}
}

// Allocate spreads amount over invoices in order, each up to its balance; what is
// left goes to the last one (an over-payment, kept there as credit). A partial
// payment pays the first ones in full and the next in part.
func Allocate(amount int64, invoices []*Invoice) []Allocation {
	var out []Allocation
	left := amount
	for i, inv := range invoices {
		if left == 0 {
			break
		}
		part := min(left, inv.Balance)
		if i == len(invoices)-1 {
			part = left
		}
		if part <= 0 {
			continue
		}
		out = append(out, Allocation{InvoiceID: inv.ID, Amount: part})
		left -= part
	}
	return out
}

// tokenize splits remittance text into upper-cased words that may be invoice numbers
// or parts of an RF reference: runs of letters, digits and - _ / . with the
// punctuation trimmed from their ends.
func tokenize(s string) []string {
	f := strings.FieldsFunc(strings.ToUpper(s), func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '/' || r == '.')
	})
	out := f[:0]
	for _, t := range f {
		if t = strings.Trim(t, "-_/."); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// rfAt reads an RF reference starting at tokens[i], printed whole or in groups of
// four ("RF18 5390 0754 7034").
func rfAt(tokens []string, i int) (string, bool) {
	acc := tokens[i]
	for j := i; ; j++ {
		if rf.Valid(acc) {
			return acc, true
		}
		if j+1 >= len(tokens) || len(acc)+len(tokens[j+1]) > 25 {
			return "", false
		}
		acc += tokens[j+1]
	}
}
