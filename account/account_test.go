package account

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

func TestDue(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	const day, tomorrow = "2026-12-07", "2026-12-08"
	// item is invoice inv's reminder on ch, due at t0 on day, arrived at arrived s with a
	// 5 s gather.
	item := func(inv, ch, d string, arrived int) Item {
		return Item{Key: inv + "/s1/" + ch, Invoice: inv, Channel: ch, Day: d, DueAt: t0, Arrived: at(arrived), ReadyAt: at(arrived + 5)}
	}
	expect := func(inv string, due int, d string) Expected { return Expected{Invoice: inv, At: at(due), Day: d} }
	minutes := func(m int) int { return m * 60 }
	for _, tc := range []struct {
		name     string
		items    []Item
		expected []Expected
		now      time.Time
		due      []Batch
		next     time.Time
	}{
		{name: "nothing pending", now: t0},
		{name: "first of a window waits its gather", now: at(2),
			items: []Item{item("a", "email", day, 0)}, next: at(5)},
		{name: "simultaneous due: three that arrive together go as one", now: at(5),
			items:    []Item{item("a", "email", day, 0), item("b", "email", day, 0), item("c", "email", day, 1)},
			expected: []Expected{expect("a", 86400, tomorrow), expect("b", 86400, tomorrow), expect("c", 86400, tomorrow)},
			due:      []Batch{{Channel: "email", Day: day, Keys: []string{"a/s1/email", "b/s1/email", "c/s1/email"}}}},
		{name: "late arrivals under load: the window waits past its gather for an invoice due and not arrived", now: at(40),
			items:    []Item{item("a", "email", day, 30), item("b", "email", day, 31)},
			expected: []Expected{expect("c", 0, day)},
			next:     at(30 + minutes(10))},
		{name: "late arrivals under load: the last one arrives far after due, and all go as one", now: at(95),
			items:    []Item{item("a", "email", day, 30), item("b", "email", day, 31), item("c", "email", day, 95)},
			expected: []Expected{expect("c", 86400, tomorrow)},
			due:      []Batch{{Channel: "email", Day: day, Keys: []string{"a/s1/email", "b/s1/email", "c/s1/email"}}}},
		{name: "one invoice never arriving: the window waits at most MaxWait from its first arrival", now: at(30 + minutes(10)),
			items:    []Item{item("a", "email", day, 30), item("b", "email", day, 31)},
			expected: []Expected{expect("c", 0, day)},
			due:      []Batch{{Channel: "email", Day: day, Keys: []string{"a/s1/email", "b/s1/email"}, Missing: []string{"c"}}}},
		{name: "an invoice long overdue before the window was due is not waited for", now: at(5),
			items:    []Item{item("a", "email", day, 0)},
			expected: []Expected{expect("c", -minutes(11), day)},
			due:      []Batch{{Channel: "email", Day: day, Keys: []string{"a/s1/email"}}}},
		{name: "an invoice due later in the day is not waited for", now: at(5),
			items:    []Item{item("a", "email", day, 0)},
			expected: []Expected{expect("c", 6, day)},
			due:      []Batch{{Channel: "email", Day: day, Keys: []string{"a/s1/email"}}}},
		{name: "different local days are different windows, and an invoice of another day is not waited for", now: at(5),
			items:    []Item{item("a", "email", day, 0), item("b", "email", tomorrow, 0)},
			expected: []Expected{expect("c", -1, "2026-12-06")},
			due: []Batch{
				{Channel: "email", Day: day, Keys: []string{"a/s1/email"}},
				{Channel: "email", Day: tomorrow, Keys: []string{"b/s1/email"}},
			}},
		{name: "different channels are different windows", now: at(5),
			items: []Item{item("a", "email", day, 0), item("a", "sms", day, 3), item("b", "email", day, 0)},
			due:   []Batch{{Channel: "email", Day: day, Keys: []string{"a/s1/email", "b/s1/email"}}},
			next:  at(8)},
		{name: "different channels: an invoice expected in the window holds both until it arrives on one", now: at(20),
			items:    []Item{item("a", "email", day, 0), item("b", "sms", day, 0)},
			expected: []Expected{expect("c", 0, day)},
			next:     at(minutes(10))},
		{name: "different channels: once it arrived (on sms) and told its next reminder, both go", now: at(21),
			items:    []Item{item("a", "email", day, 0), item("b", "sms", day, 0), item("c", "sms", day, 21)},
			expected: []Expected{expect("c", 86400, tomorrow)},
			due: []Batch{
				{Channel: "email", Day: day, Keys: []string{"a/s1/email"}},
				{Channel: "sms", Day: day, Keys: []string{"b/s1/sms", "c/s1/sms"}},
			}},
		{name: "consolidate off: an invoice that sends its own reminders is expected nowhere", now: at(5),
			items:    []Item{item("a", "email", day, 0)},
			expected: []Expected{{Invoice: "c"}},
			due:      []Batch{{Channel: "email", Day: day, Keys: []string{"a/s1/email"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			due, next := Due(tc.items, tc.expected, tc.now)
			require.Equal(t, tc.due, due)
			require.True(t, tc.next.Equal(next), "next %s, want %s", next, tc.next)
		})
	}
}

func TestDigestIgnoresOrder(t *testing.T) {
	a := Batch{Keys: []string{"x/s/email", "y/s/email"}}
	b := Batch{Keys: []string{"y/s/email", "x/s/email"}}
	require.Equal(t, a.Digest(), b.Digest())
	require.NotEqual(t, a.Digest(), Batch{Keys: []string{"x/s/email"}}.Digest())
	require.Len(t, a.Digest(), 12)
}

func TestAllow(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	now := time.Date(2026, 12, 7, 15, 0, 0, 0, ny)
	day := Day(now, ny)
	for _, tc := range []struct {
		name      string
		b         Budget
		sent      []Sent
		ok        bool
		notBefore time.Time
		reason    string
	}{
		{name: "no caps", sent: []Sent{{At: now.Add(-time.Hour), Day: day}}, ok: true},
		{name: "under the daily cap", b: Budget{MaxPerDay: 2}, sent: []Sent{{At: now.Add(-time.Hour), Day: day}}, ok: true},
		{name: "daily cap reached: the next local day", b: Budget{MaxPerDay: 1}, sent: []Sent{{At: now.Add(-time.Hour), Day: day}},
			notBefore: time.Date(2026, 12, 8, 0, 0, 0, 0, ny), reason: "at most 1 messages per customer per day"},
		{name: "yesterday does not count for the day", b: Budget{MaxPerDay: 1}, sent: []Sent{{At: now.Add(-20 * time.Hour), Day: "2026-12-06"}}, ok: true},
		{name: "weekly cap: when the oldest that must go is a week old", b: Budget{MaxPerWeek: 2},
			sent: []Sent{
				{At: now.Add(-8 * 24 * time.Hour), Day: "2026-11-29"},
				{At: now.Add(-6 * 24 * time.Hour), Day: "2026-12-01"},
				{At: now.Add(-2 * 24 * time.Hour), Day: "2026-12-05"},
			},
			notBefore: now.Add(24 * time.Hour), reason: "at most 2 messages per customer in any 7 days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, nb, why := Allow(tc.b, tc.sent, day, now, ny)
			require.Equal(t, tc.ok, ok)
			require.True(t, tc.notBefore.Equal(nb), "not before %s, want %s", nb, tc.notBefore)
			require.Equal(t, tc.reason, why)
		})
	}
}

func TestStrictest(t *testing.T) {
	require.Equal(t, Budget{MaxPerDay: 1, MaxPerWeek: 5}, Budget{MaxPerDay: 2, MaxPerWeek: 5}.Strictest(Budget{MaxPerDay: 1}))
	require.Equal(t, Budget{}, Budget{}.Strictest(Budget{}))
}
