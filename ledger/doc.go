// Package ledger is Dunwell's PostgreSQL ledger: the durable record of issued
// invoices, the reminders sent for them, payments applied, escalation hand-offs and
// an audit trail of status changes.
//
// Every write is idempotent, because its callers are Temporal activities that may
// run more than once: issuing an invoice is keyed by invoice id and request hash,
// notices by <invoice>/<step>/<channel>, payments by (invoice, payment id),
// escalations by invoice and status changes by (invoice, status, time).
//
// A customer's consolidated reminder (one message listing several of their invoices,
// sent by their account workflow) is a row of account_messages keyed by
// <customer>/<channel>/<window day>/<batch> (ClaimMessage, CompleteMessage); each
// invoice step it covered has its notices row naming it in notices.message_key
// (MessageOfNotice, ListMessages). See docs/accounts.md.
//
// Money is int64 minor units plus an ISO 4217 currency code. The schema is created
// and upgraded by Open, from goose migrations embedded in the binary.
package ledger
