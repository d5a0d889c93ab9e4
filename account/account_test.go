package account

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

func TestDue(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for _, tc := range []struct {
		name  string
		items []Item
		now   time.Time
		due   []Batch
		next  time.Time
	}{
		{name: "nothing pending", now: t0},
		{name: "first of a window waits its gather", now: at(2),
			items: []Item{{Key: "a/s1/email", Channel: "email", Day: "2026-12-07", ReadyAt: at(5)}}, next: at(5)},
		{name: "three of one window go together once the first is ready", now: at(5),
			items: []Item{
				{Key: "a/s1/email", Channel: "email", Day: "2026-12-07", ReadyAt: at(5)},
				{Key: "b/s1/email", Channel: "email", Day: "2026-12-07", ReadyAt: at(6)},
				{Key: "c/s1/email", Channel: "email", Day: "2026-12-07", ReadyAt: at(9)},
			},
			due: []Batch{{Channel: "email", Day: "2026-12-07", Keys: []string{"a/s1/email", "b/s1/email", "c/s1/email"}}}},
		{name: "channels and days are separate windows", now: at(5),
			items: []Item{
				{Key: "a/s1/email", Channel: "email", Day: "2026-12-07", ReadyAt: at(5)},
				{Key: "a/s2/sms", Channel: "sms", Day: "2026-12-07", ReadyAt: at(8)},
				{Key: "b/s1/email", Channel: "email", Day: "2026-12-08", ReadyAt: at(3)},
			},
			due: []Batch{
				{Channel: "email", Day: "2026-12-07", Keys: []string{"a/s1/email"}},
				{Channel: "email", Day: "2026-12-08", Keys: []string{"b/s1/email"}},
			},
			next: at(8)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			due, next := Due(tc.items, tc.now)
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
