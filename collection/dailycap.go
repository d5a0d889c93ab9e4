package collection

import (
	"fmt"
	"time"

	"github.com/dunwell/dunwell/policy"
)

// AfterDailyCap is where a reminder goes when the per-customer daily cap refused it at
// t (see activities.ReserveContact): the first moment the contact rules allow on a
// later local day of the customer, and the move reason to record. Pure, for the
// workflow.
func AfterDailyCap(p *policy.Policy, inv *Invoice, t time.Time) (time.Time, string) {
	loc := inv.Location()
	l := t.In(loc)
	next := time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc)
	at, _ := NextAllowedContact(p, inv, next)
	limit := 0
	if p.Contact != nil {
		limit = p.Contact.MaxPerCustomerPerDay
	}
	return at, fmt.Sprintf("at most %d reminders per customer per day", limit)
}
