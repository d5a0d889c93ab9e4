package invoiceapi

import (
	"testing"
	"time"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/policies"
)

// The start sets every search attribute the first task would, NextActionAt included,
// so a fresh run's first task upserts nothing.
func TestStartOptionsSetTheFirstNextActionAt(t *testing.T) {
	set, err := policies.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	pol, _ := set.Get("standard")
	inv := collection.Invoice{
		ID: "INV-1", Currency: "USD", AmountDue: 125000,
		Customer: collection.Customer{ID: "C-1", Timezone: "America/New_York", Segment: "smb"},
		IssuedAt: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC),
		DueDate:  collection.Date{Year: 2026, Month: time.December, Day: 1},
	}
	opts := StartOptions(inv, pol, inv.IssuedAt)
	next, ok := opts.TypedSearchAttributes.GetTime(AttrNextActionAt)
	// The first reminder, due-soon: 3 days before the due date at 10:00 New York.
	if want := time.Date(2026, 11, 28, 15, 0, 0, 0, time.UTC); !ok || !next.Equal(want) {
		t.Errorf("NextActionAt = %v (set %v), want %v", next, ok, want)
	}
	if n := opts.TypedSearchAttributes.Size(); n != len(SearchAttributes) {
		t.Errorf("%d search attributes at start, want all %d", n, len(SearchAttributes))
	}
}
