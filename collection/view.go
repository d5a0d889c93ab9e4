package collection

import (
	"time"

	"github.com/dunwell/dunwell/bank/rf"
	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/policy"
)

// View is the collection state as the `state` query and GET /v1/invoices/{id} return
// it: money as decimal strings in major units of the invoice's currency.
type View struct {
	InvoiceID string `json:"invoice_id"`
	// RFReference is the invoice's ISO 11649 creditor reference (bank/rf.ForInvoice):
	// a transfer that quotes it is matched to this invoice when the statement is
	// imported.
	RFReference string `json:"rf_reference"`
	CustomerID  string `json:"customer_id"`
	Status      Status `json:"status"`
	Currency    string `json:"currency"`
	AmountDue   string `json:"amount_due"`
	Balance     string `json:"balance"`
	Credit      string `json:"credit"`
	Fees        string `json:"fees"`
	// Interest and Discount are the interest charged and the early-payment discount
	// taken so far (both already in Balance).
	Interest string `json:"interest"`
	Discount string `json:"discount"`
	// Compensation is the fixed compensation for recovery costs charged (in Balance;
	// "0.00" when none).
	Compensation string `json:"compensation"`
	// InterestLines split reference-rate interest by half-year, each with its period,
	// days late and rate; they add up to Interest.
	InterestLines []InterestLineView `json:"interest_lines,omitempty"`
	DueDate       string             `json:"due_date"`
	Policy        PolicyRef          `json:"policy"`
	Stage         string             `json:"dunning_stage"`
	NextAction    NextActionView     `json:"next_action"`
	Notices       []Notice           `json:"notices"`
	Payments      []PaymentView      `json:"payments"`
	Escalation    *EscalationView    `json:"escalation"`
	SkippedSteps  []string           `json:"skipped_steps,omitempty"`
	// ApprovedSteps are the reminder steps that needed a person's approval and got it.
	ApprovedSteps []string   `json:"approved_steps,omitempty"`
	ClosedAt      *time.Time `json:"closed_at,omitempty"`
	// OriginalAmount is the amount issued; AmountDue includes adjustments and credit
	// notes.
	OriginalAmount string `json:"original_amount"`
	// The holds in force, if any.
	Dispute  *Dispute      `json:"dispute,omitempty"`
	Promise  *Promise      `json:"promise,omitempty"`
	Plan     *Plan         `json:"plan,omitempty"`
	Pause    *Pause        `json:"pause,omitempty"`
	Approval *ApprovalWait `json:"approval,omitempty"`
	// EscalationRejected: an operator decided this invoice is never handed off.
	EscalationRejected bool             `json:"escalation_rejected,omitempty"`
	OptedOut           []policy.Channel `json:"opted_out,omitempty"`
	// Deferred is a reminder the per-customer daily cap (or the call rules) moved to
	// a later day.
	Deferred *Deferral `json:"deferred,omitempty"`
	// Call is the open call task the invoice waits for (its id, step and due time);
	// CallAttempts the calls made and their outcomes.
	Call         *CallWait     `json:"call,omitempty"`
	CallAttempts []CallAttempt `json:"call_attempts,omitempty"`
	Adjustments  []Adjustment  `json:"adjustments"`
	Events       []Event       `json:"events"`
	// PaymentURL is where the billing system takes payment of this invoice, if it gave
	// one; Locale and Timezone are the customer's (all three for the customer's portal).
	PaymentURL string `json:"payment_url,omitempty"`
	Locale     string `json:"locale,omitempty"`
	Timezone   string `json:"timezone,omitempty"`
}

// InterestLineView is one interest line: the days late of one half-year at its rate.
type InterestLineView struct {
	Half          string `json:"half"`
	From          string `json:"from"`
	Through       string `json:"through"`
	Days          int    `json:"days"`
	Reference     string `json:"reference"`
	ReferenceRate string `json:"reference_rate"`
	Margin        string `json:"margin"`
	Rate          string `json:"rate"`
	Amount        string `json:"amount"`
	Fallback      bool   `json:"fallback,omitempty"`
	Missing       bool   `json:"missing,omitempty"`
	Capped        bool   `json:"capped,omitempty"`
}

// BookedInterestLines are the reference-rate interest lines of the interest booked,
// computed where it was last booked (the state's interest_lines; the details of an
// interest_charged event in the ledger); nil for a policy without interest.reference.
func (s *State) BookedInterestLines(p *policy.Policy, inv *Invoice) []InterestLineView {
	if !p.Interest.IsReference() || s.ChargesAt.IsZero() {
		return nil
	}
	return InterestLineViews(ComputeCharges(p, inv, s.Payments, s.ChargesAt).InterestLines, inv.Currency)
}

// DetailInterestLines is the key of an interest_charged event's details that holds
// the BookedInterestLines after it.
const DetailInterestLines = "interest_lines"

// InterestLineViews renders interest lines in major units of currency.
func InterestLineViews(lines []InterestLine, currency string) []InterestLineView {
	var out []InterestLineView
	for _, ln := range lines {
		out = append(out, InterestLineView{Half: ln.Half.String(), From: ln.From, Through: ln.Through, Days: ln.Days,
			Reference: ln.Reference, ReferenceRate: ln.ReferenceRate.String(), Margin: ln.Margin.String(), Rate: ln.Rate.String(),
			Amount: money.Format(ln.Amount, currency), Fallback: ln.Fallback, Missing: ln.Missing, Capped: ln.Capped})
	}
	return out
}

// PolicyRef names the policy version an invoice runs under.
type PolicyRef struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
}

// NextActionView is the next scheduled action.
type NextActionView struct {
	Kind    ActionKind `json:"kind"`
	At      *time.Time `json:"at"`
	Summary string     `json:"summary"`
}

// PaymentView is one applied payment.
type PaymentView struct {
	PaymentID string    `json:"payment_id"`
	Amount    string    `json:"amount"`
	PaidAt    time.Time `json:"paid_at"`
}

// EscalationView is the hand-off, once it happened.
type EscalationView struct {
	To      policy.EscalationTarget `json:"to"`
	At      time.Time               `json:"at"`
	Balance string                  `json:"balance"`
}

// NewView renders the state for people and API clients.
func NewView(p *policy.Policy, inv *Invoice, s *State, next Action) View {
	cur := inv.Currency
	v := View{
		InvoiceID:    inv.ID,
		RFReference:  rf.ForInvoice(inv.ID),
		CustomerID:   inv.Customer.ID,
		Status:       s.Status,
		Currency:     cur,
		AmountDue:    money.Format(s.AmountDue(inv), cur),
		Balance:      money.Format(s.Balance, cur),
		Credit:       money.Format(s.Credit, cur),
		Fees:         money.Format(s.Fees, cur),
		DueDate:      inv.DueDate.String(),
		Policy:       PolicyRef{ID: p.ID, Version: p.Version},
		Stage:        s.Stage(p),
		NextAction:   NextActionView{Kind: next.Kind, Summary: Describe(p, inv, next)},
		Notices:      append([]Notice{}, s.Notices...),
		Payments:     make([]PaymentView, 0, len(s.Payments)),
		SkippedSteps: s.Skipped,

		ApprovedSteps:      s.ApprovedSteps,
		OriginalAmount:     money.Format(inv.AmountDue, cur),
		Interest:           money.Format(s.Interest, cur),
		Discount:           money.Format(s.Discount, cur),
		Dispute:            s.Dispute,
		Promise:            s.Promise,
		Plan:               s.Plan,
		Pause:              s.Pause,
		Approval:           s.Approval,
		EscalationRejected: s.EscalationRejected,
		OptedOut:           s.OptedOut,
		Deferred:           s.Deferred,
		Call:               s.Call,
		CallAttempts:       s.CallAttempts,
		Adjustments:        append([]Adjustment{}, s.Adjustments...),
		Events:             append([]Event{}, s.Events...),
		PaymentURL:         inv.PaymentURL,
		Locale:             inv.Customer.Locale,
		Timezone:           inv.Customer.Timezone,
	}
	v.Compensation = money.Format(s.Compensation, cur)
	v.InterestLines = s.BookedInterestLines(p, inv)
	if !next.At.IsZero() {
		at := next.At.UTC()
		v.NextAction.At = &at
	}
	for _, pay := range s.Payments {
		v.Payments = append(v.Payments, PaymentView{PaymentID: pay.PaymentID, Amount: money.Format(pay.Amount, cur), PaidAt: pay.PaidAt})
	}
	if e := s.Escalation; e != nil {
		v.Escalation = &EscalationView{To: e.To, At: e.At, Balance: money.Format(e.Balance, cur)}
	}
	if !s.ClosedAt.IsZero() {
		c := s.ClosedAt
		v.ClosedAt = &c
	}
	return v
}
