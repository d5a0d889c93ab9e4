// Package accountapi is the contract of the customer account workflow
// (`customer-<customer id>`): its workflow, update, signal and query names, input and
// result types, the workflow-id helper, the send activity's name and types, and the
// typed client that starts it with an update (UpdateWithStart). The account is the
// long-lived entity of one customer with open invoices: it owns the contact budget
// across them and sends their reminders of one window as ONE message (see
// docs/accounts.md).
//
// Everything here is serialized into workflow histories: renaming a name or a JSON
// field breaks the replay of open accounts.
package accountapi

import (
	"fmt"
	"strings"
	"time"

	"github.com/dunwell/dunwell/policy"
)

// WorkflowName is the account workflow's type. It runs on invoiceapi.TaskQueue.
const WorkflowName = "CustomerAccount"

// Names of the account's updates, signals and query.
const (
	// UpdateAttach: an invoice of the customer is open (AttachRequest → Ack).
	UpdateAttach = "attach"
	// UpdateRemind: a reminder of one invoice step on one channel is due
	// (ReminderRequest → Ack). Idempotent by ReminderRequest.Key.
	UpdateRemind = "remind"
	// SignalRemind carries the same ReminderRequest as UpdateRemind: an invoice whose
	// account is running hands its reminder over with a signal (no activity, no
	// update round trip); only when the account is not running does it fall back to
	// the activity's UpdateWithStart. Idempotent by ReminderRequest.Key too.
	SignalRemind = "remind-signal"
	// SignalIssued: an invoice of the customer was issued (AttachRequest), sent by the
	// API with SignalWithStart as it starts the invoice's workflow, so the account
	// knows the invoice and its first reminder before the invoice's workflow has run a
	// task (it attaches too: UpdateAttach). Idempotent.
	SignalIssued = "issued"
	// SignalDetach: the invoice's workflow closed (Detach).
	SignalDetach = "detach"
	// SignalWithdraw: the invoice left the reminding states (paid, disputed,
	// promised, paused...) while its reminder waited (Withdraw).
	SignalWithdraw = "withdraw"
	// SignalExpect: the invoice's next reminder moved other than its last request
	// or attach said (a hold, a deferral, a step sent without the account) (Expect).
	SignalExpect = "expect"
	// QueryState returns View.
	QueryState = "state"
)

// ActivitySendAccountMessage sends one consolidated message (MessageRequest →
// MessageResult); it runs on the channel's provider task queue
// (invoiceapi.NoticeTaskQueue), exactly once per message key.
const ActivitySendAccountMessage = "SendAccountMessage"

// WorkflowID is the id of the customer's account workflow.
func WorkflowID(customerID string) string { return "customer-" + customerID }

// Input starts (or continues) a customer's account.
type Input struct {
	CustomerID string `json:"customer_id"`
	// State is set when the workflow continues as new; nil on the first run.
	State *State `json:"state,omitempty"`
}

// AttachRequest tells the account an invoice of the customer is open.
type AttachRequest struct {
	CustomerID string `json:"customer_id"`
	InvoiceID  string `json:"invoice_id"`
	// Next is when the invoice's first reminder falls due.
	Next NextReminder `json:"next"`
}

// NextReminder is when an invoice's next reminder falls due, so the account knows
// which invoices a window should wait for (account.Due). A zero At: none is planned.
type NextReminder struct {
	At time.Time `json:"at,omitzero"`
	// Day is the customer's local day of At ("2026-12-07").
	Day string `json:"day,omitempty"`
}

// NextAt builds a NextReminder in the customer's zone loc; zero at: none.
func NextAt(at time.Time, loc *time.Location) NextReminder {
	if at.IsZero() {
		return NextReminder{}
	}
	return NextReminder{At: at, Day: at.In(loc).Format(time.DateOnly)}
}

// Validate names what is wrong: a day that is not a date, or a day without a time.
func (n NextReminder) Validate() error {
	if n.At.IsZero() {
		if n.Day != "" {
			return fmt.Errorf("next.day %q without next.at", n.Day)
		}
		return nil
	}
	if _, err := time.Parse(time.DateOnly, n.Day); err != nil {
		return fmt.Errorf("next.day %q is not a date like 2026-12-07", n.Day)
	}
	return nil
}

// Expect is the argument of SignalExpect.
type Expect struct {
	InvoiceID string       `json:"invoice_id"`
	Next      NextReminder `json:"next"`
}

// Expected is an open invoice's next reminder as the account last heard it.
type Expected struct {
	InvoiceID string       `json:"invoice_id"`
	Next      NextReminder `json:"next"`
}

// Ack answers an update: Duplicate when the account already had it.
type Ack struct {
	Duplicate bool `json:"duplicate"`
}

// Detach is the argument of SignalDetach.
type Detach struct {
	InvoiceID string `json:"invoice_id"`
}

// Withdraw is the argument of SignalWithdraw: the invoice's pending reminders are
// left out of the messages not yet claimed.
type Withdraw struct {
	InvoiceID string `json:"invoice_id"`
	Reason    string `json:"reason"`
}

// Recipient is how the invoice knows the customer.
type Recipient struct {
	Name     string `json:"name"`
	Email    string `json:"email,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Locale   string `json:"locale,omitempty"`
	Timezone string `json:"timezone"`
}

// Terms are the policy's charges, so the message can state them.
type Terms struct {
	PolicyID    string           `json:"policy_id"`
	Anchor      policy.Anchor    `json:"anchor,omitempty"`
	LateFee     *policy.LateFee  `json:"late_fee,omitempty"`
	Interest    *policy.Interest `json:"interest,omitempty"`
	GracePeriod policy.Offset    `json:"grace_period,omitzero"`
	// Compensation is the policy's fixed compensation for recovery costs; nil: none.
	Compensation policy.Compensation `json:"compensation,omitempty"`
}

// Policy returns a policy carrying only the terms, for templates.TermsOf.
func (t Terms) Policy() *policy.Policy {
	return &policy.Policy{ID: t.PolicyID, Anchor: t.Anchor, LateFee: t.LateFee, Interest: t.Interest, GracePeriod: t.GracePeriod,
		Compensation: t.Compensation}
}

// Line is one invoice in a message, as of its reminder.
type Line struct {
	InvoiceID string `json:"invoice_id"`
	Currency  string `json:"currency"`
	// AmountDue includes Fees and Interest; all in minor units of Currency.
	AmountDue   int64  `json:"amount_due_minor"`
	Fees        int64  `json:"fees_minor"`
	Interest    int64  `json:"interest_minor"`
	DueDate     string `json:"due_date"` // YYYY-MM-DD
	DaysOverdue int    `json:"days_overdue"`
	PaymentURL  string `json:"payment_url,omitempty"`
	// Step is the policy step; Template its message template.
	Step     string `json:"step"`
	Template string `json:"template"`
	Terms    Terms  `json:"terms"`
	// NotAfter is when the invoice's policy hands it off: it is left out from then.
	NotAfter time.Time `json:"not_after,omitzero"`
}

// Budget is the contact budget a reminder's policy sets; the account applies the
// strictest of a message's lines.
type Budget struct {
	MaxPerDay  int `json:"max_per_day,omitempty"`
	MaxPerWeek int `json:"max_per_week,omitempty"`
}

// ReminderRequest asks the account to carry one invoice step on one channel in its
// next message of the window.
type ReminderRequest struct {
	CustomerID string         `json:"customer_id"`
	Channel    policy.Channel `json:"channel"`
	To         Recipient      `json:"to"`
	Line       Line           `json:"line"`
	// Gather is how long the account waits after the first reminder of a window.
	Gather time.Duration `json:"gather"`
	Budget Budget        `json:"budget"`
	// At is when the invoice's policy scheduled the step: the window is the
	// customer's local day of At, however late the request arrives.
	At time.Time `json:"at"`
	// Next is when the invoice's following reminder falls due once this one is done.
	Next NextReminder `json:"next"`
}

// Key is the request's business key <invoice>/<step>/<channel>, which is also the key
// of the notice the invoice step gets when the message goes.
func (r ReminderRequest) Key() string {
	return r.Line.InvoiceID + "/" + r.Line.Step + "/" + string(r.Channel)
}

// RequestID tells one request of a key from the next: a reminder the contact budget
// deferred is asked for again later, at another At.
func (r ReminderRequest) RequestID() string {
	return r.Key() + "@" + r.At.UTC().Format(time.RFC3339Nano)
}

// Validate names the first missing or malformed field.
func (r ReminderRequest) Validate() error {
	switch {
	case r.CustomerID == "":
		return fmt.Errorf("customer_id is required")
	case r.Line.InvoiceID == "" || r.Line.Step == "" || r.Line.Template == "":
		return fmt.Errorf("line: invoice_id, step and template are required")
	case !r.Channel.Electronic():
		return fmt.Errorf("channel %q is not email or sms", r.Channel)
	case r.Channel == policy.Email && r.To.Email == "", r.Channel == policy.SMS && r.To.Phone == "":
		return fmt.Errorf("to: no %s address", r.Channel)
	case r.Gather < 0:
		return fmt.Errorf("gather %s is negative", r.Gather)
	case r.At.IsZero():
		return fmt.Errorf("at is required")
	}
	if err := r.Next.Validate(); err != nil {
		return err
	}
	if _, err := time.LoadLocation(r.To.Timezone); err != nil || r.To.Timezone == "" {
		return fmt.Errorf("to.timezone %q is not an IANA zone", r.To.Timezone)
	}
	return nil
}

// MessageRequest is one message the account sends: the lines of its window.
type MessageRequest struct {
	// Key is <customer>/<channel>/<window day>/<batch>: see MessageKey.
	Key        string         `json:"key"`
	CustomerID string         `json:"customer_id"`
	Channel    policy.Channel `json:"channel"`
	// WindowDay is the customer's local day of the window ("2026-12-07").
	WindowDay string    `json:"window_day"`
	To        Recipient `json:"to"`
	Lines     []Line    `json:"lines"`
	// ScheduledAt is when the account decided to send it: every retry renders from it.
	ScheduledAt time.Time `json:"scheduled_at"`
}

// MessageKey builds a message's key from the window and the sorted request keys'
// digest, so the same batch is the same message even when a recreated account sends
// it again.
func MessageKey(customerID string, ch policy.Channel, windowDay, batch string) string {
	return strings.Join([]string{customerID, string(ch), windowDay, batch}, "/")
}

// LeftOut is an invoice a message did not list, and why.
type LeftOut struct {
	InvoiceID string `json:"invoice_id"`
	Reason    string `json:"reason"`
}

// MessageResult reports a message: the provider's id and which invoices it listed.
// Covered empty: nothing was sent (every line was left out).
type MessageResult struct {
	ProviderID  string    `json:"provider_id,omitempty"`
	SentAt      time.Time `json:"sent_at,omitzero"`
	AlreadySent bool      `json:"already_sent,omitempty"`
	Covered     []string  `json:"covered"`
	LeftOut     []LeftOut `json:"left_out,omitempty"`
}

// Pending is a reminder waiting for its message.
type Pending struct {
	Request ReminderRequest `json:"request"`
	// WindowDay is the customer's local day the reminder falls due on (Request.At).
	WindowDay string `json:"window_day"`
	// ArrivedAt is when it reached the account; ReadyAt is ArrivedAt plus the gather
	// delay: its window's message goes from then, once no invoice the window expects
	// is missing (account.Due).
	ArrivedAt time.Time `json:"arrived_at"`
	ReadyAt   time.Time `json:"ready_at"`
	// Withdrawn: the invoice left the reminding states; it is answered as withheld.
	Withdrawn string `json:"withdrawn,omitempty"`
}

// Message is a message the account sent (or tried to), for the query and the budget.
type Message struct {
	Key        string         `json:"key"`
	Channel    policy.Channel `json:"channel"`
	WindowDay  string         `json:"window_day"`
	Status     string         `json:"status"` // sent, failed, withheld
	ProviderID string         `json:"provider_id,omitempty"`
	At         time.Time      `json:"at"`
	Invoices   []string       `json:"invoices"`
	Error      string         `json:"error,omitempty"`
}

// State is what the account carries across continue-as-new.
type State struct {
	// Open lists the customer's open invoices, in the order they attached.
	Open []string `json:"open"`
	// Expected holds the open invoices' next reminders, in the order they told them.
	Expected []Expected `json:"expected,omitempty"`
	Pending  []Pending  `json:"pending"`
	// Messages are the recent messages, newest last (the last week, at least the
	// last RecentMessages).
	Messages []Message `json:"messages"`
	// Answered are the RequestIDs of the latest requests answered, so a retried update is
	// not sent twice.
	Answered []string `json:"answered"`
}

// RecentMessages is how many messages the state keeps beyond the budget's week.
const RecentMessages = 20

// View answers QueryState.
type View struct {
	CustomerID string     `json:"customer_id"`
	Open       []string   `json:"open_invoices"`
	Expected   []Expected `json:"expected,omitempty"`
	Pending    []Pending  `json:"pending"`
	Messages   []Message  `json:"messages"`
}
