// Package activities holds Dunwell's side effects: email through SendGrid, SMS through
// Twilio, the PostgreSQL ledger and the escalation hand-off. Activities is a struct
// holding its clients; the worker registers a pointer to it. Their names, requests,
// results and error types are the workflow's contract (package invoiceapi), so the
// workflow calls them by name without importing this package.
package activities
