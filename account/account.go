// Package account is the pure decision logic of a customer's account workflow: which
// pending reminders go out together as one message, and whether the customer's
// contact budget allows one more message now. No I/O, no clock: the workflow passes
// workflow.Now.
package account

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Item is one pending reminder as the batching sees it.
type Item struct {
	Key     string // <invoice>/<step>/<channel>
	Invoice string
	Channel string
	// Day is the customer's local day the reminder falls DUE on (not the day it
	// arrived): reminders due at one instant share a window however late they arrive.
	Day string
	// DueAt is when the invoice's policy scheduled the reminder; Arrived when it
	// reached the account; ReadyAt is Arrived plus the policy's gather delay.
	DueAt   time.Time
	Arrived time.Time
	ReadyAt time.Time
}

// Expected is an open invoice's next reminder as the invoice last told the account:
// At is when it falls due, Day the customer's local day of At. A zero At: none is
// planned (held, escalated, every step done, or its policy does not consolidate).
type Expected struct {
	Invoice string
	At      time.Time
	Day     string
}

// MaxWait bounds how long a window waits, from its first arrival, for an invoice it
// expects: one stuck invoice (its worker down, its history replaying) cannot hold the
// others' message longer.
const MaxWait = 10 * time.Minute

// Batch is one message to send: the items of one channel and window.
type Batch struct {
	Channel string
	Day     string
	Keys    []string
	// Missing lists the invoices the window expected and stopped waiting for at
	// MaxWait; they go in a message of their own when they come.
	Missing []string
}

// Digest names the batch by its sorted keys, so the same batch is the same message.
func (b Batch) Digest() string {
	keys := append([]string(nil), b.Keys...)
	sort.Strings(keys)
	sum := sha256.Sum256([]byte(strings.Join(keys, "\n")))
	return hex.EncodeToString(sum[:6])
}

// Due groups the pending items by channel and due day and returns the groups whose
// message goes now (one message each), in a stable order, and the earliest time a
// group not yet due should be looked at again (zero if none).
//
// A window's message goes once its first item's gather delay has passed (ReadyAt)
// and no invoice it expects is missing. An invoice is expected when it told the
// account that its next reminder falls due on the window's day, at or before now (it
// is due and has not arrived: late under load), and not more than MaxWait before the
// window's earliest item was due (long overdue: stuck or stale, not worth holding the
// window for). Reminders that fall due later in the day are not waited for: they
// are not late, and go when they come. The wait for a missing invoice ends at the
// window's first arrival plus MaxWait.
func Due(items []Item, expected []Expected, now time.Time) ([]Batch, time.Time) {
	type group struct {
		b        Batch
		invoices map[string]bool
		ready    time.Time // the earliest ReadyAt
		first    time.Time // the earliest arrival
		due      time.Time // the earliest DueAt
	}
	groups := map[string]*group{}
	var order []string
	for _, it := range items {
		k := it.Channel + "/" + it.Day
		g, ok := groups[k]
		if !ok {
			g = &group{b: Batch{Channel: it.Channel, Day: it.Day}, invoices: map[string]bool{}, ready: it.ReadyAt, first: it.Arrived, due: it.DueAt}
			groups[k] = g
			order = append(order, k)
		}
		g.b.Keys = append(g.b.Keys, it.Key)
		g.invoices[it.Invoice] = true
		if it.ReadyAt.Before(g.ready) {
			g.ready = it.ReadyAt
		}
		if it.Arrived.Before(g.first) {
			g.first = it.Arrived
		}
		if it.DueAt.Before(g.due) {
			g.due = it.DueAt
		}
	}
	sort.Strings(order)
	var due []Batch
	var next time.Time
	later := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, k := range order {
		g := groups[k]
		if g.ready.After(now) {
			later(g.ready)
			continue
		}
		var missing []string
		for _, e := range expected {
			if e.At.IsZero() || e.Day != g.b.Day || g.invoices[e.Invoice] || e.At.After(now) || e.At.Before(g.due.Add(-MaxWait)) {
				continue
			}
			missing = append(missing, e.Invoice)
		}
		bound := g.first.Add(MaxWait)
		if len(missing) > 0 && now.Before(bound) {
			later(bound)
			continue
		}
		sort.Strings(missing)
		g.b.Missing = missing
		due = append(due, g.b)
	}
	return due, next
}

// Budget is the contact budget: messages per local day and per any 7 days; 0: no cap.
type Budget struct {
	MaxPerDay  int
	MaxPerWeek int
}

// Strictest combines two budgets: the lower non-zero cap of each.
func (b Budget) Strictest(o Budget) Budget {
	min := func(x, y int) int {
		switch {
		case x == 0:
			return y
		case y == 0 || x < y:
			return x
		}
		return y
	}
	return Budget{MaxPerDay: min(b.MaxPerDay, o.MaxPerDay), MaxPerWeek: min(b.MaxPerWeek, o.MaxPerWeek)}
}

// Sent is a message that reached the customer.
type Sent struct {
	At  time.Time
	Day string // the customer's local day
}

// Allow decides whether one more message may reach the customer at now, on local day
// day, given the messages sent. If not, it returns the earliest moment the budget
// allows one (the start of the next local day in loc for the daily cap; when the
// oldest message of the week is a week old for the weekly cap) and the reason.
func Allow(b Budget, sent []Sent, day string, now time.Time, loc *time.Location) (bool, time.Time, string) {
	var today int
	var week []time.Time
	for _, s := range sent {
		if s.Day == day {
			today++
		}
		if now.Sub(s.At) < 7*24*time.Hour && !s.At.After(now) {
			week = append(week, s.At)
		}
	}
	if b.MaxPerDay > 0 && today >= b.MaxPerDay {
		l := now.In(loc)
		next := time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc)
		return false, next, fmt.Sprintf("at most %d messages per customer per day", b.MaxPerDay)
	}
	if b.MaxPerWeek > 0 && len(week) >= b.MaxPerWeek {
		sort.Slice(week, func(i, j int) bool { return week[i].Before(week[j]) })
		// The oldest that must age out for one more to fit.
		return false, week[len(week)-b.MaxPerWeek].Add(7 * 24 * time.Hour), fmt.Sprintf("at most %d messages per customer in any 7 days", b.MaxPerWeek)
	}
	return true, time.Time{}, ""
}

// Day is t's local day in loc ("2026-12-07").
func Day(t time.Time, loc *time.Location) string { return t.In(loc).Format(time.DateOnly) }
