package invoiceapi

import (
	"time"

	"github.com/dunwell/dunwell/policy"
)

// An invoice whose policy consolidates (policy.Consolidates) sends its reminders
// through the customer's account workflow (package accountapi) instead of
// ActivitySendNotice: it attaches to the account when it starts, asks the account for
// each reminder, and hears the outcome back as SignalReminderOutcome.
const (
	// ActivityAttachToAccount starts the customer's account if it is not running and
	// attaches the invoice to it (UpdateWithStart): accountapi.AttachRequest.
	ActivityAttachToAccount = "AttachToAccount"
	// ActivityRequestReminder hands one reminder (step and channel) to the account,
	// starting the account if needed (UpdateWithStart): accountapi.ReminderRequest.
	ActivityRequestReminder = "RequestReminder"
	// SignalReminderOutcome carries the account's answer to a reminder request:
	// ReminderOutcome.
	SignalReminderOutcome = "reminder-outcome"
)

// Outcome statuses of a reminder the account was asked to send.
const (
	// OutcomeSent: the message listing the invoice went out (MessageKey, ProviderID).
	OutcomeSent = "sent"
	// OutcomeWithheld: the invoice was left out (paid, disputed, promised, paused...).
	OutcomeWithheld = "withheld"
	// OutcomeDeferred: the customer's contact budget is spent; ask again from NotBefore.
	OutcomeDeferred = "deferred"
	// OutcomeFailed: the message failed on this channel; the next channel may be tried
	// (ErrorType says why: RecipientInvalid, BadRequest, or the send gave up).
	OutcomeFailed = "failed"
	// OutcomeUnknown: an interrupted send could not be checked with the provider; the
	// customer may have it, so no other channel is tried.
	OutcomeUnknown = "unknown"
)

// ReminderOutcome is the account's answer to one reminder request.
type ReminderOutcome struct {
	Step       string         `json:"step"`
	Channel    policy.Channel `json:"channel"`
	Status     string         `json:"status"`
	MessageKey string         `json:"message_key,omitempty"`
	ProviderID string         `json:"provider_id,omitempty"`
	SentAt     time.Time      `json:"sent_at,omitzero"`
	// Reason says why it was withheld, deferred or failed.
	Reason    string    `json:"reason,omitempty"`
	ErrorType string    `json:"error_type,omitempty"`
	NotBefore time.Time `json:"not_before,omitzero"`
}
