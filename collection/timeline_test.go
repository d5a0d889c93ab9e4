package collection

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/dunwell/dunwell/policy"
)

const timelinePolicy = `
id: standard
version: 2
anchor: due
send_at: "10:00"
steps:
  - {name: due-soon, offset: -3d, channels: [email], template: due_soon}
  - {name: overdue-1, offset: +1d, channels: [email], template: overdue}
  - {name: overdue-7, offset: +7d, channels: [sms, email], template: overdue_firm}
  - {name: overdue-14, offset: +14d, channels: [email], template: final_notice, approval: true}
grace_period: 5d
late_fee:
  amount: {USD: "25.00"}
  every: 15d
  cap: {amount: {USD: "50.00"}}
interest: {rate: 8%}
escalation:
  after: +30d
  to: agency
  approval: {required: true, timeout: 3d, default: reject}
contact:
  hours: "08:00-21:00"
  weekdays: [mon, tue, wed, thu, fri, sat]
  holiday_calendar: customer
  max_per_customer_per_day: 2
`

// parseTimelinePolicy parses timelinePolicy, the shipped policy with contact rules.
func parseTimelinePolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.Parse("standard.yaml", []byte(timelinePolicy))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTimelineOfTheStandardPolicy(t *testing.T) {
	p := parseTimelinePolicy(t)
	ny, _ := time.LoadLocation("America/New_York")
	inv := testInvoice()
	inv.Customer.Locale = "en-US"
	inv.DueDate = Date{2026, time.December, 18} // a Friday: +7d is Christmas, +14d New Year's Day
	tl := BuildTimeline(p, inv)

	type want struct {
		kind   EventKind
		at     time.Time
		step   string
		due    int64
		moved  bool
		reason string
	}
	wants := []want{
		{EventReminder, time.Date(2026, 12, 15, 10, 0, 0, 0, ny), "due-soon", 125_000, false, ""},
		{EventOverdue, time.Date(2026, 12, 19, 0, 0, 0, 0, ny), "", 125_000, false, ""},
		{EventInterestStart, time.Date(2026, 12, 24, 0, 0, 0, 0, ny), "", 127_500, false, ""},
		{EventLateFee, time.Date(2026, 12, 24, 0, 0, 0, 0, ny), "", 127_500, false, ""},
		{EventReminder, time.Date(2026, 12, 19, 10, 0, 0, 0, ny), "overdue-1", 125_000, false, ""},
		{EventReminder, time.Date(2026, 12, 26, 8, 0, 0, 0, ny), "overdue-7", 0, true, "2026-12-25 is a holiday"},
		{EventReminder, time.Date(2027, 1, 2, 8, 0, 0, 0, ny), "overdue-14", 0, true, "2027-01-01 is a holiday"},
		{EventLateFee, time.Date(2027, 1, 8, 0, 0, 0, 0, ny), "", 0, false, ""},
		{EventEscalation, time.Date(2027, 1, 17, 10, 0, 0, 0, ny), "", 0, false, ""},
	}
	if len(tl.Events) != len(wants) {
		for _, e := range tl.Events {
			t.Logf("%s %s %s", e.At.In(ny), e.Kind, e.Step)
		}
		t.Fatalf("%d events, want %d", len(tl.Events), len(wants))
	}
	// Events are in time order.
	for i := 1; i < len(tl.Events); i++ {
		if tl.Events[i].At.Before(tl.Events[i-1].At) {
			t.Errorf("event %d (%s) before event %d", i, tl.Events[i].At, i-1)
		}
	}
	for _, w := range wants {
		var got *TimelineEvent
		for i := range tl.Events {
			if e := &tl.Events[i]; e.Kind == w.kind && e.At.Equal(w.at) && e.Step == w.step {
				got = e
			}
		}
		if got == nil {
			t.Errorf("no %s %s at %s", w.kind, w.step, w.at)
			continue
		}
		if w.due != 0 && got.Charges.Balance != w.due {
			t.Errorf("%s %s: due %d, want %d", w.kind, w.step, got.Charges.Balance, w.due)
		}
		if w.moved != !got.MovedFrom.IsZero() || !strings.Contains(got.MoveReason, w.reason) {
			t.Errorf("%s %s: moved from %v (%q), want moved=%v %q", w.kind, w.step, got.MovedFrom, got.MoveReason, w.moved, w.reason)
		}
	}
	last := tl.Events[len(tl.Events)-1]
	// 1250.00 + two fees of 25.00 + 8% interest from Dec 24 00:00 to Jan 17 10:00 EST
	// (24 days 10 hours): 1250 * 0.08 * (24 + 10/24) / 365 = 6.689... -> 6.69.
	if last.Kind != EventEscalation || !last.Approval || last.Charges.LateFeesTotal != 5_000 || last.Charges.Interest != 669 ||
		last.Charges.Balance != 125_000+5_000+669 || !strings.Contains(last.Note, "waits up to +3d for approval, then rejects") {
		t.Errorf("escalation: %+v", last)
	}
	for _, e := range tl.Events {
		if e.Step == "overdue-7" && ChannelLabel(e.Channels) != "sms, fallback email" {
			t.Errorf("overdue-7 channels %q", ChannelLabel(e.Channels))
		}
		if e.Step == "overdue-14" && (!e.Approval || !strings.Contains(e.Note, "approval")) {
			t.Errorf("overdue-14 should wait for approval: %+v", e)
		}
		// No reminder outside the rules: 08:00-21:00, never on Sunday or a holiday.
		if e.Kind == EventReminder {
			local := e.At.In(ny)
			if local.Hour() < 8 || local.Hour() >= 21 || local.Weekday() == time.Sunday {
				t.Errorf("reminder %s at %s breaks the contact rules", e.Step, local)
			}
		}
	}
	if len(tl.Notes) != 1 || !strings.Contains(tl.Notes[0], "2 reminders per customer per day") {
		t.Errorf("notes %q", tl.Notes)
	}
}

func TestTimelineTokyoCustomerWithoutPhone(t *testing.T) {
	p := parseTimelinePolicy(t)
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	inv := testInvoice()
	inv.Currency, inv.AmountDue = "JPY", 150_000
	inv.Customer.Timezone, inv.Customer.Phone, inv.Customer.Locale = "Asia/Tokyo", "", "ja-JP"
	tl := BuildTimeline(p, inv)
	for _, e := range tl.Events {
		if e.Kind == EventReminder {
			if l := e.At.In(tokyo); l.Hour() < 8 || l.Hour() >= 21 || l.Weekday() == time.Sunday {
				t.Errorf("%s at %s Tokyo time", e.Step, l)
			}
			if e.Step == "overdue-7" && ChannelLabel(e.Channels) != "email" {
				t.Errorf("without a phone overdue-7 goes by email only, got %q", ChannelLabel(e.Channels))
			}
		}
		if e.Kind == EventLateFee {
			t.Errorf("the policy prices late fees in USD only; a JPY invoice got one: %+v", e)
		}
	}
}

func TestTimelineDemo(t *testing.T) {
	p, err := policy.Parse("demo.yaml", []byte(`
id: demo
version: 1
anchor: issued
steps:
  - {name: first-reminder, offset: +15s, channels: [email], template: overdue}
  - {name: second-reminder, offset: +30s, channels: [sms, email], template: overdue_firm}
grace_period: +20s
late_fee: {amount: {USD: "5.00"}}
escalation: {after: +50s, to: agency}
contact: {hours: "00:00-24:00"}
`))
	if err != nil {
		t.Fatal(err)
	}
	inv := testInvoice()
	tl := BuildTimeline(p, inv)
	var kinds []string
	for _, e := range tl.Events {
		kinds = append(kinds, string(e.Kind)+"@"+e.At.Sub(inv.IssuedAt).String())
	}
	want := "reminder@15s late_fee@20s reminder@30s escalation@50s"
	if strings.Join(kinds, " ") != want {
		t.Errorf("demo timeline %q, want %q", strings.Join(kinds, " "), want)
	}
	if tl.Events[2].Charges.Balance != 125_500 {
		t.Errorf("second reminder shows %d due, want 1255.00", tl.Events[2].Charges.Balance)
	}
}

func TestTimelineUndeliverableAndSkipped(t *testing.T) {
	p := standardPolicy(t)
	inv := testInvoice()
	inv.Customer.Email, inv.Customer.Phone = "", ""
	// Issued after the first two steps' times: the first is skipped.
	inv.IssuedAt = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	tl := BuildTimeline(p, inv)
	var skipped, undeliverable int
	for _, e := range tl.Events {
		if e.Kind == EventSkipped {
			skipped++
		}
		if e.Kind == EventReminder && len(e.Channels) == 0 && strings.Contains(e.Note, "undeliverable") {
			undeliverable++
		}
	}
	if skipped != 1 || undeliverable != 3 {
		t.Errorf("%d skipped, %d undeliverable; want 1 and 3: %+v", skipped, undeliverable, tl.Events)
	}
}

// TestTimelineContactRulesProperty: over random policies, invoices and timezones, no
// reminder of a timeline falls outside the allowed hours, weekdays or holidays, the
// weekly cap is never exceeded, and the amount due always equals principal + fees +
// interest.
func TestTimelineContactRulesProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	zones := []string{"America/New_York", "Europe/London", "Asia/Tokyo", "Australia/Sydney", "UTC"}
	days := []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
	reminders, moved := 0, 0
	for i := 0; i < 150; i++ {
		start := 6 + r.IntN(6)
		end := start + 2 + r.IntN(10)
		c := &policy.Contact{Hours: fmt.Sprintf("%02d:%02d-%02d:00", start, 15*r.IntN(4), end),
			HolidayCalendar: []string{"", "US", "GB", "customer"}[r.IntN(4)], MaxPerInvoicePerWeek: r.IntN(3)}
		for _, d := range days {
			if r.IntN(3) > 0 {
				c.Weekdays = append(c.Weekdays, d)
			}
		}
		p := &policy.Policy{ID: "r", Version: 1, SendAt: fmt.Sprintf("%02d:%02d", r.IntN(24), r.IntN(60)), Contact: c,
			GracePeriod: policy.Offset{Days: r.IntN(5), InDays: true},
			LateFee:     &policy.LateFee{Percent: 150, Every: policy.Offset{Days: 7, InDays: true}, Cap: &policy.Cap{Percent: 1000}},
			Interest:    &policy.Interest{Rate: 800}}
		off := -5 + r.IntN(4)
		for s := 0; s < 2+r.IntN(5); s++ {
			off += 1 + r.IntN(6)
			p.Steps = append(p.Steps, policy.Step{Name: fmt.Sprintf("s%d", s), Offset: policy.Offset{Days: off, InDays: true},
				Channels: []policy.Channel{policy.Email}, Template: "t"})
		}
		p.Escalation = &policy.Escalation{After: policy.Offset{Days: off + 1 + r.IntN(20), InDays: true}, To: policy.ToAgency}
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		inv := testInvoice()
		inv.Customer.Timezone = zones[r.IntN(len(zones))]
		inv.Customer.Locale = []string{"en-US", "en-GB", "ja-JP"}[r.IntN(3)]
		inv.DueDate = Date{2026, time.Month(1 + r.IntN(12)), 1 + r.IntN(28)}
		inv.IssuedAt = inv.DueDate.In(time.UTC).AddDate(0, 0, -30)
		loc := inv.Location()
		country := c.HolidayCalendar
		if country == "customer" {
			country = inv.Customer.Country()
		}
		winStart, winEnd := c.Window()
		var sent []time.Time
		for _, e := range BuildTimeline(p, inv).Events {
			ch := e.Charges
			if ch.Balance != ch.Principal+ch.LateFeesTotal+ch.Interest {
				t.Fatalf("balance %d != %d + %d + %d", ch.Balance, ch.Principal, ch.LateFeesTotal, ch.Interest)
			}
			if e.Kind != EventReminder {
				continue
			}
			l := e.At.In(loc)
			midnight := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
			sinceMidnight := time.Duration(l.Hour())*time.Hour + time.Duration(l.Minute())*time.Minute
			switch {
			case sinceMidnight < winStart || sinceMidnight >= winEnd:
				t.Errorf("policy %d: %s at %s, outside %s", i, e.Step, l, c.Hours)
			case !c.AllowsWeekday(l.Weekday()):
				t.Errorf("policy %d: %s at %s, on a %s", i, e.Step, l, l.Weekday())
			case policy.IsPublicHoliday(country, midnight.Year(), midnight.Month(), midnight.Day()):
				t.Errorf("policy %d: %s at %s, a %s holiday", i, e.Step, l, country)
			}
			sent = append(sent, e.At)
			reminders++
			if !e.MovedFrom.IsZero() {
				moved++
			}
			if cp := c.MaxPerInvoicePerWeek; cp > 0 {
				n := 0
				for _, s := range sent {
					if s.After(e.At.Add(-7 * 24 * time.Hour)) {
						n++
					}
				}
				if n > cp {
					t.Errorf("policy %d: %d reminders in the 7 days to %s, cap %d", i, n, l, cp)
				}
			}
		}
	}
	if reminders < 300 || moved < 50 {
		t.Errorf("only %d reminders (%d moved): the property is barely exercised", reminders, moved)
	}
}
