package ledger

import (
	"time"
)

// Validation of inputs before they reach PostgreSQL; the schema's CHECK constraints
// enforce the same rules again.

func validateInvoice(op string, r InvoiceRecord) error {
	switch {
	case r.InvoiceID == "":
		return invalid(op, "empty invoice id")
	case r.CustomerID == "":
		return invalid(op, "invoice %s: empty customer id", r.InvoiceID)
	case !currencyRE.MatchString(r.Currency):
		return invalid(op, "invoice %s: currency %q is not an ISO 4217 code", r.InvoiceID, r.Currency)
	case r.AmountDue < 0:
		return invalid(op, "invoice %s: negative amount due %d", r.InvoiceID, r.AmountDue)
	case r.IssuedAt.IsZero():
		return invalid(op, "invoice %s: issued_at is zero", r.InvoiceID)
	case r.PolicyID == "":
		return invalid(op, "invoice %s: empty policy id", r.InvoiceID)
	case r.PolicyVersion < 0 || r.PolicyVersion > 1<<31-1:
		return invalid(op, "invoice %s: policy version %d out of range", r.InvoiceID, r.PolicyVersion)
	case len(r.BodySHA256) != 32:
		return invalid(op, "invoice %s: body hash has %d bytes, want 32", r.InvoiceID, len(r.BodySHA256))
	case len(r.CustomerName) > 200 || len(r.CustomerLocale) > 35:
		return invalid(op, "invoice %s: customer name over 200 or locale over 35 bytes", r.InvoiceID)
	}
	_, err := parseDate(op, r.DueDate)
	return err
}

func validatePayment(op string, r PaymentRecord) error {
	switch {
	case r.InvoiceID == "" || r.PaymentID == "":
		return invalid(op, "empty invoice or payment id")
	case !currencyRE.MatchString(r.Currency):
		return invalid(op, "payment %s: currency %q is not an ISO 4217 code", r.PaymentID, r.Currency)
	case r.Amount <= 0 || r.Applied < 0 || r.Credit < 0 || r.BalanceAfter < 0:
		return invalid(op, "payment %s: amounts must be positive (amount) or non-negative (applied, credit, balance after)", r.PaymentID)
	case r.Applied > r.Amount || r.Credit != r.Amount-r.Applied:
		return invalid(op, "payment %s: applied %d + credit %d != amount %d", r.PaymentID, r.Applied, r.Credit, r.Amount)
	case r.PaidAt.IsZero() || r.AppliedAt.IsZero():
		return invalid(op, "payment %s: paid_at and applied_at must be set", r.PaymentID)
	}
	return nil
}

func validateEscalation(op string, r EscalationRecord) error {
	switch {
	case r.InvoiceID == "" || r.CustomerID == "":
		return invalid(op, "empty invoice or customer id")
	case r.Target != TargetAgency && r.Target != TargetLegal:
		return invalid(op, "invoice %s: unknown escalation target %q", r.InvoiceID, r.Target)
	case !currencyRE.MatchString(r.Currency):
		return invalid(op, "invoice %s: currency %q is not an ISO 4217 code", r.InvoiceID, r.Currency)
	case r.Balance < 0:
		return invalid(op, "invoice %s: negative balance %d", r.InvoiceID, r.Balance)
	case r.EscalatedAt.IsZero():
		return invalid(op, "invoice %s: escalated_at is zero", r.InvoiceID)
	}
	_, err := parseDate(op, r.DueDate)
	return err
}

func validateClaim(op string, c NoticeClaim) error {
	switch {
	case c.InvoiceID == "" || c.Step == "" || c.Channel == "":
		return invalid(op, "notice %q: invoice, step and channel are required", c.Key)
	case c.Key != c.InvoiceID+"/"+c.Step+"/"+c.Channel:
		return invalid(op, "notice key %q is not <invoice>/<step>/<channel>", c.Key)
	}
	return nil
}

// parseDate parses a YYYY-MM-DD due date.
func parseDate(op, s string) (time.Time, error) {
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, invalid(op, "due date %q is not YYYY-MM-DD", s)
	}
	return d, nil
}

// utcPtr returns t in UTC, or nil for a NULL timestamp.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
