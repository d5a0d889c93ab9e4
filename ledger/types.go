package ledger

import (
	"regexp"
	"time"
)

// Invoice statuses, as in collection.Status and DESIGN.md.
const (
	StatusOpen             = "open"
	StatusOverdue          = "overdue"
	StatusPaused           = "paused"
	StatusDisputed         = "disputed"
	StatusPromised         = "promised"
	StatusOnPlan           = "on_plan"
	StatusAwaitingApproval = "awaiting_approval"
	StatusEscalated        = "escalated"
	StatusPaid             = "paid"
	StatusCancelled        = "cancelled"
	StatusWrittenOff       = "written_off"
)

// invoiceStatuses maps every valid invoice status to whether it closes the invoice.
var invoiceStatuses = map[string]bool{
	StatusOpen: false, StatusOverdue: false, StatusPaused: false, StatusDisputed: false,
	StatusPromised: false, StatusOnPlan: false, StatusAwaitingApproval: false,
	StatusEscalated: false, StatusPaid: true, StatusCancelled: true, StatusWrittenOff: true,
}

// NoticeStatus is where one notice (one reminder on one channel) stands.
type NoticeStatus string

// Notice statuses. NoticeSending is the only non-final one.
const (
	// NoticeSending: claimed; the send is in flight or its outcome was never recorded.
	NoticeSending NoticeStatus = "sending"
	// NoticeSent: the provider accepted the message; ProviderID identifies it.
	NoticeSent NoticeStatus = "sent"
	// NoticeFailed: permanently failed on this channel.
	NoticeFailed NoticeStatus = "failed"
	// NoticeUndeliverable: no channel could deliver this step.
	NoticeUndeliverable NoticeStatus = "undeliverable"
)

// Final reports whether s is a completed outcome that CompleteNotice can set.
func (s NoticeStatus) Final() bool {
	return s == NoticeSent || s == NoticeFailed || s == NoticeUndeliverable
}

// Escalation targets and statuses.
const (
	TargetAgency = "agency"
	TargetLegal  = "legal"
	// EscalationPending is a hand-off not yet picked up by the integration.
	EscalationPending = "pending"
	// EscalationHandedOff is a hand-off the integration has taken over.
	EscalationHandedOff = "handed_off"
)

// dateLayout is how due dates travel: ISO 8601 calendar dates.
const dateLayout = time.DateOnly

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// InvoiceRecord is an invoice to issue.
type InvoiceRecord struct {
	InvoiceID     string
	CustomerID    string
	Currency      string // ISO 4217, e.g. "EUR"
	AmountDue     int64  // minor units, >= 0
	IssuedAt      time.Time
	DueDate       string // YYYY-MM-DD
	PolicyID      string
	PolicyVersion int
	Segment       string
	// BodySHA256 is the SHA-256 of the canonical issue request (32 bytes).
	BodySHA256 []byte
	// CustomerName and CustomerLocale, when set, become the customer's profile
	// (CustomerProfile) unless a later-issued invoice already set it.
	CustomerName   string
	CustomerLocale string
}

// Invoice is an invoice as stored, with its current status and balance.
type Invoice struct {
	InvoiceRecord
	Status    string
	Balance   int64     // minor units still owed
	StatusAt  time.Time // when Status took effect
	CreatedAt time.Time
	UpdatedAt time.Time
	ClosedAt  *time.Time // set once paid, cancelled or written off
}

// IssueOutcome says what IssueInvoice did.
type IssueOutcome int

// Issue outcomes.
const (
	// IssueCreated: the invoice was new and is now stored.
	IssueCreated IssueOutcome = iota + 1
	// IssueExisting: the same invoice (same id and body hash) was already stored;
	// nothing changed.
	IssueExisting
)

// String returns "created" or "existing".
func (o IssueOutcome) String() string {
	switch o {
	case IssueCreated:
		return "created"
	case IssueExisting:
		return "existing"
	default:
		return "unknown"
	}
}

// InvoiceEvent is one entry of an invoice's status audit trail.
type InvoiceEvent struct {
	InvoiceID  string
	Status     string
	Balance    int64
	At         time.Time // when the change took effect
	RecordedAt time.Time
}

// NoticeClaim asks to claim the right to send one notice.
type NoticeClaim struct {
	Key       string // <InvoiceID>/<Step>/<Channel>
	InvoiceID string
	Step      string
	Channel   string // "email" or "sms"
	// NotAfter is when the invoice's policy hands it off (its escalation): no reminder
	// may go out from then on. Zero: no such moment.
	NotAfter time.Time
}

// NoticeRow is a stored notice. After ClaimNotice, the caller acts on it as follows:
//
//   - Fresh: this call created the claim and nothing was ever attempted; send.
//   - NeedsReconcile(): an earlier attempt claimed it and never recorded an outcome
//     (a crash or timeout); ask the provider whether it went out before sending.
//   - Status NoticeSent: already sent; return ProviderID and send nothing.
//   - Status NoticeFailed or NoticeUndeliverable: already settled as not delivered.
//   - Withheld set (and not sent): the invoice left the reminding states; send
//     nothing (after reconciling an earlier attempt) and settle the notice.
type NoticeRow struct {
	Key        string
	InvoiceID  string
	Step       string
	Channel    string
	Status     NoticeStatus
	ProviderID string
	Error      string
	// Attempts counts the claims, this one included.
	Attempts  int
	ClaimedAt time.Time // first claim
	SentAt    *time.Time
	UpdatedAt time.Time // latest claim or completion
	// Fresh is true only on the ClaimNotice call that created the notice.
	Fresh bool
	// Withheld says why no reminder may go out any more, as decided in the claim's
	// transaction; empty when it may.
	Withheld string
}

// NeedsReconcile reports whether an earlier claim is still 'sending': its outcome is
// unknown and the provider must be asked before sending again.
func (n NoticeRow) NeedsReconcile() bool {
	return !n.Fresh && n.Status == NoticeSending
}

// PaymentRecord is a payment applied to an invoice. Amount = Applied + Credit.
type PaymentRecord struct {
	InvoiceID    string
	PaymentID    string
	Currency     string
	Amount       int64 // minor units received, > 0
	Applied      int64 // towards the balance
	Credit       int64 // beyond the balance
	BalanceAfter int64
	PaidAt       time.Time
	AppliedAt    time.Time
	// Status, when set ("paid"), is the status the payment leaves the invoice in; it
	// is recorded in the same transaction, at AppliedAt (see SetInvoiceStatus).
	Status string
}

// EscalationRecord hands an invoice off to a collection agency or legal.
type EscalationRecord struct {
	InvoiceID   string
	CustomerID  string
	Target      string // TargetAgency or TargetLegal
	Currency    string
	Balance     int64
	DueDate     string // YYYY-MM-DD
	EscalatedAt time.Time
	// SetStatus also records the status "escalated" at EscalatedAt, in the same
	// transaction.
	SetStatus bool
}

// Escalation is a stored hand-off.
type Escalation struct {
	EscalationRecord
	Status     string // EscalationPending or EscalationHandedOff
	RecordedAt time.Time
}
