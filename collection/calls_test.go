package collection

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/policy"
)

func callPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p := standardPolicy(t)
	p.Contact = &policy.Contact{Hours: "09:00-18:00", Weekdays: []string{"mon", "tue", "wed", "thu", "fri"}}
	p.Calls = &policy.Calls{MaxPerInvoicePerWeek: 3, QuietDaysAfterConversation: 7}
	require.NoError(t, p.Validate())
	return p
}

func TestNextCallAt(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	p, inv := callPolicy(t), testInvoice()
	at := func(d, h int) time.Time { return time.Date(2026, 12, d, h, 0, 0, 0, ny) } // 2026-12-07 is a Monday
	tries := func(ts ...time.Time) []CallAttempt {
		var out []CallAttempt
		for _, x := range ts {
			out = append(out, CallAttempt{At: x, Outcome: "no_answer"})
		}
		return out
	}
	cases := []struct {
		name     string
		attempts []CallAttempt
		optedOut bool
		t, want  time.Time
		reason   string
	}{
		{"inside the window, nothing before", nil, false, at(7, 10), at(7, 10), ""},
		{"before the window opens", nil, false, at(7, 7), at(7, 9), "outside contact hours 09:00-18:00"},
		{"on a Saturday", nil, false, at(12, 10), at(14, 9), ""},
		{"two attempts leave room for a third", tries(at(7, 9), at(7, 10)), false, at(7, 11), at(7, 11), ""},
		{"three attempts in the week", tries(at(7, 9), at(7, 10), at(7, 11)), false, at(7, 12), at(14, 9), "at most 3 call attempts per invoice in 7 days"},
		{"a conversation two days ago", []CallAttempt{{At: at(7, 10), Outcome: "reached", Conversation: true}}, false, at(9, 10), at(14, 10), "no call within 7 days after a conversation"},
		{"a voicemail is no conversation", []CallAttempt{{At: at(7, 10), Outcome: "voicemail"}}, false, at(8, 10), at(8, 10), ""},
	}
	for _, c := range cases {
		got, why, ok := NextCallAt(p, inv, c.attempts, c.optedOut, c.t)
		require.True(t, ok, c.name)
		require.True(t, got.Equal(c.want), "%s: got %s, want %s", c.name, got.In(ny), c.want)
		if c.reason != "" {
			require.Contains(t, why, c.reason, c.name)
		}
		if c.want.Equal(c.t) {
			require.Empty(t, why, c.name)
		}
	}
	_, why, ok := NextCallAt(p, inv, nil, true, at(7, 10))
	require.False(t, ok, "opted out of calls: never")
	require.Contains(t, why, "opted out")

	// Defaults: a policy without a calls section still limits calls.
	d := standardPolicy(t)
	require.Equal(t, policy.Calls{MaxPerInvoicePerWeek: 7, QuietDaysAfterConversation: 7}, d.CallRules())
}

// TestNoCallScheduleBreaksTheRules: whatever the calls made before, the instant
// NextCallAt gives is inside the contact window, leaves fewer than the cap of
// attempts in the 7 days before it, and is no sooner than the quiet days after the
// last conversation; and placing calls one after another at the instants it gives
// never breaks the cap either.
func TestNoCallScheduleBreaksTheRules(t *testing.T) {
	p, inv := callPolicy(t), testInvoice()
	rules := p.CallRules()
	const week = 7 * 24 * time.Hour
	rng := rand.New(rand.NewPCG(20, 26))
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	check := func(attempts []CallAttempt, at time.Time) {
		t.Helper()
		allowed, _ := NextAllowedContact(p, inv, at)
		require.True(t, allowed.Equal(at), "outside the contact window: %s", at)
		n := 0
		for _, a := range attempts {
			if a.At.After(at.Add(-week)) && !a.At.After(at) {
				n++
			}
			if a.Conversation && !a.At.After(at) {
				require.False(t, at.Before(a.At.Add(time.Duration(rules.QuietDaysAfterConversation)*24*time.Hour)),
					"a call at %s within the quiet days after the conversation at %s", at, a.At)
			}
		}
		require.Less(t, n, rules.MaxPerInvoicePerWeek, "a call at %s would be attempt %d in 7 days", at, n+1)
	}
	for range 300 {
		var attempts []CallAttempt
		now := start.Add(time.Duration(rng.IntN(30*24)) * time.Hour)
		for range rng.IntN(25) {
			at, _, ok := NextCallAt(p, inv, attempts, false, now)
			require.True(t, ok)
			require.False(t, at.Before(now))
			check(attempts, at)
			outcome := []string{"no_answer", "voicemail", "reached", "no_answer", "refused"}[rng.IntN(5)]
			attempts = append(attempts, CallAttempt{At: at, Outcome: outcome, Conversation: IsConversation(outcome)})
			now = at.Add(time.Duration(rng.IntN(48*60)) * time.Minute)
		}
		// Any instant, asked of any history: the answer keeps the rules.
		probe := start.Add(time.Duration(rng.IntN(60*24*60)) * time.Minute)
		at, _, _ := NextCallAt(p, inv, attempts, false, probe)
		check(attempts, at)
	}
}
