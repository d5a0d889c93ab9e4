package collection

import (
	"strings"
	"testing"
	"time"

	"github.com/dunwell/dunwell/policy"
)

func mustOffset(t *testing.T, s string) policy.Offset {
	t.Helper()
	o, err := policy.ParseOffset(s)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// standardPolicy mirrors policies/standard.yaml.
func standardPolicy(t *testing.T) *policy.Policy {
	step := func(name, off string, chs ...policy.Channel) policy.Step {
		return policy.Step{Name: name, Offset: mustOffset(t, off), Channels: chs, Template: name}
	}
	p := &policy.Policy{ID: "standard", Version: 1, SendAt: "10:00", Steps: []policy.Step{
		step("due-soon", "-3d", policy.Email),
		step("overdue-1", "+1d", policy.Email),
		step("overdue-7", "+7d", policy.SMS, policy.Email),
		step("overdue-14", "+14d", policy.Email),
	}, Escalation: &policy.Escalation{After: mustOffset(t, "+30d"), To: policy.ToAgency}}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

func testInvoice() *Invoice {
	return &Invoice{
		ID: "INV-1", Currency: "USD", AmountDue: 125000,
		Customer: Customer{ID: "C-1", Name: "Ada", Email: "ada@example.com", Phone: "+14155550100", Timezone: "America/New_York"},
		IssuedAt: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC),
		DueDate:  Date{2026, time.December, 1},
	}
}

func TestNextFollowsTheStandardSchedule(t *testing.T) {
	p, inv := standardPolicy(t), testInvoice()
	s := NewState(inv)
	ny, _ := time.LoadLocation("America/New_York")
	now := inv.IssuedAt

	a := Next(p, inv, &s, now)
	if a.Kind != ActionRemind || a.Step != 0 || !a.At.Equal(time.Date(2026, 11, 28, 10, 0, 0, 0, ny)) {
		t.Fatalf("first action = %+v, want due-soon at 2026-11-28 10:00 New York", a)
	}
	s.StepsDone = 1
	a = Next(p, inv, &s, a.At)
	if a.Kind != ActionOverdue || !a.At.Equal(time.Date(2026, 12, 2, 0, 0, 0, 0, ny)) {
		t.Fatalf("second action = %+v, want overdue at the end of the due date", a)
	}
	s.Status = StatusOverdue
	a = Next(p, inv, &s, a.At)
	if a.Kind != ActionRemind || a.Step != 1 || !a.At.Equal(time.Date(2026, 12, 2, 10, 0, 0, 0, ny)) {
		t.Fatalf("third action = %+v, want overdue-1 at 2026-12-02 10:00", a)
	}
	s.StepsDone = 4
	a = Next(p, inv, &s, time.Date(2026, 12, 20, 0, 0, 0, 0, ny))
	if a.Kind != ActionEscalate || !a.At.Equal(time.Date(2026, 12, 31, 10, 0, 0, 0, ny)) {
		t.Fatalf("after the last step = %+v, want escalation at +30d", a)
	}
	s.Escalation = &Escalation{To: policy.ToAgency}
	if a = Next(p, inv, &s, a.At); a.Kind != ActionNone {
		t.Fatalf("after escalation = %+v, want none", a)
	}
}

func TestNextSkipsStaleStepsAndEscalatesWhenLate(t *testing.T) {
	p, inv := standardPolicy(t), testInvoice()
	s := NewState(inv)
	s.Status = StatusOverdue
	ny, _ := time.LoadLocation("America/New_York")
	// Issued (or resumed) on Dec 10: due-soon and overdue-1 are stale, overdue-7 is due.
	a := Next(p, inv, &s, time.Date(2026, 12, 10, 12, 0, 0, 0, ny))
	if a.Kind != ActionRemind || a.Step != 2 || strings.Join(a.Skip, ",") != "due-soon,overdue-1" {
		t.Fatalf("late action = %+v, want overdue-7 skipping the first two", a)
	}
	a = Next(p, inv, &s, time.Date(2027, 2, 1, 0, 0, 0, 0, ny))
	if a.Kind != ActionEscalate {
		t.Fatalf("far past = %+v, want escalation", a)
	}
}

func TestNextForIssuedAnchor(t *testing.T) {
	p := &policy.Policy{ID: "demo", Version: 1, Anchor: policy.AnchorIssued, Steps: []policy.Step{
		{Name: "a", Offset: mustOffset(t, "+15s"), Channels: []policy.Channel{policy.Email}, Template: "t"},
	}, Escalation: &policy.Escalation{After: mustOffset(t, "+50s"), To: policy.ToLegal},
		Contact: &policy.Contact{Hours: "00:00-24:00"}}
	inv := testInvoice()
	inv.DueDate = Date{2026, time.November, 1}
	s := NewState(inv)
	a := Next(p, inv, &s, inv.IssuedAt)
	if a.Kind != ActionRemind || !a.At.Equal(inv.IssuedAt.Add(15*time.Second)) {
		t.Fatalf("got %+v, want reminder 15s after issue", a)
	}
}

func TestApplyPayment(t *testing.T) {
	inv := testInvoice()
	s := NewState(inv)
	at := inv.IssuedAt
	out := s.ApplyPayment(Payment{PaymentID: "p1", Amount: 25000, AppliedAt: at})
	if out.Applied != 25000 || out.Paid || s.Balance != 100000 {
		t.Fatalf("partial: %+v balance %d", out, s.Balance)
	}
	if out = s.ApplyPayment(Payment{PaymentID: "p1", Amount: 25000}); !out.Duplicate || s.Balance != 100000 {
		t.Fatalf("duplicate applied twice: %+v balance %d", out, s.Balance)
	}
	out = s.ApplyPayment(Payment{PaymentID: "p2", Amount: 100500, AppliedAt: at})
	if !out.Paid || out.Credit != 500 || s.Balance != 0 || s.Credit != 500 || s.Status != StatusPaid {
		t.Fatalf("over-payment: %+v state %+v", out, s)
	}
	if Next(standardPolicy(t), inv, &s, at).Kind != ActionNone {
		t.Fatal("a paid invoice has a next action")
	}
}

func TestDescribe(t *testing.T) {
	p, inv := standardPolicy(t), testInvoice()
	s := NewState(inv)
	s.StepsDone, s.Status = 2, StatusOverdue
	got := Describe(p, inv, Next(p, inv, &s, time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)))
	want := "reminder 3 of 4 (overdue-7) by sms or email at 2026-12-08 10:00:00 America/New_York"
	if got != want {
		t.Fatalf("Describe = %q, want %q", got, want)
	}
}

func TestInvoiceRequestValidation(t *testing.T) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	good := InvoiceRequest{
		ID: "INV-1001", Currency: "USD", AmountDue: "1250.00", IssuedAt: "2026-11-01T10:00:00Z", DueDate: "2026-12-01",
		Customer: CustomerRequest{ID: "C-42", Name: "Ada", Email: "ada@example.com", Phone: "+14155550100", Timezone: "America/New_York", Channels: []string{"email", "sms"}},
	}
	inv, fe := good.Validate(now)
	if fe != nil {
		t.Fatalf("valid invoice rejected: %v", fe)
	}
	if inv.AmountDue != 125000 || inv.DueDate != (Date{2026, 12, 1}) {
		t.Fatalf("converted wrongly: %+v", inv)
	}
	bad := good
	bad.Customer.Email, bad.Customer.Phone, bad.Customer.Timezone = "not-an-email", "4155550100", "Mars/Olympus"
	bad.Currency, bad.DueDate, bad.IssuedAt, bad.ID = "usd", "2026-02-30", "yesterday", "bad id!"
	_, fe = bad.Validate(now)
	for _, f := range []string{"id", "customer.email", "customer.phone", "customer.timezone", "currency", "due_date", "issued_at"} {
		if _, ok := fe[f]; !ok {
			t.Errorf("no error for %s in %v", f, fe)
		}
	}
	allBad := good
	allBad.Currency, allBad.AmountDue, allBad.DueDate, allBad.Customer.Timezone = "usd", "-1", "2026-10-01", "Mars/Base"
	_, fe = allBad.Validate(now)
	for _, f := range []string{"currency", "amount_due", "due_date", "customer.timezone"} {
		if fe[f] == "" {
			t.Errorf("with everything wrong, no error for %s: %v", f, fe)
		}
	}
	early := good
	early.DueDate = "2026-10-01"
	if _, fe = early.Validate(now); fe["due_date"] == "" {
		t.Errorf("due date before issue accepted: %v", fe)
	}
	for _, amt := range []string{"0", "-5", "12.345", "abc"} {
		r := good
		r.AmountDue = amt
		if _, fe = r.Validate(now); fe["amount_due"] == "" {
			t.Errorf("amount_due %q accepted", amt)
		}
	}
}

func FuzzInvoiceRequestValidate(f *testing.F) {
	f.Add("INV-1", "USD", "10.00", "2026-11-01T10:00:00Z", "2026-12-01", "+14155550100", "a@b.co", "UTC")
	f.Fuzz(func(t *testing.T, id, cur, amt, issued, due, phone, email, tz string) {
		r := InvoiceRequest{ID: id, Currency: cur, AmountDue: amt, IssuedAt: issued, DueDate: due,
			Customer: CustomerRequest{ID: "c", Name: "n", Phone: phone, Email: email, Timezone: tz}}
		inv, fe := r.Validate(time.Now())
		if fe == nil && inv.AmountDue <= 0 {
			t.Fatalf("accepted non-positive amount: %+v", inv)
		}
	})
}
