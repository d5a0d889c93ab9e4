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
	Channel string
	Day     string // the customer's local day it arrived on
	ReadyAt time.Time
}

// Batch is one message to send: the items of one channel and window.
type Batch struct {
	Channel string
	Day     string
	Keys    []string
}

// Digest names the batch by its sorted keys, so the same batch is the same message.
func (b Batch) Digest() string {
	keys := append([]string(nil), b.Keys...)
	sort.Strings(keys)
	sum := sha256.Sum256([]byte(strings.Join(keys, "\n")))
	return hex.EncodeToString(sum[:6])
}

// Due groups the items by channel and day and returns the groups whose earliest item
// is ready at now (one message each), in a stable order, and the earliest time a group
// not yet due becomes ready (zero if none). An item joins its window's message as
// long as that message has not gone: the first reminder of a window waits its gather
// delay, the others ride along.
func Due(items []Item, now time.Time) ([]Batch, time.Time) {
	type group struct {
		b     Batch
		ready time.Time
	}
	groups := map[string]*group{}
	var order []string
	for _, it := range items {
		k := it.Channel + "/" + it.Day
		g, ok := groups[k]
		if !ok {
			g = &group{b: Batch{Channel: it.Channel, Day: it.Day}, ready: it.ReadyAt}
			groups[k] = g
			order = append(order, k)
		}
		g.b.Keys = append(g.b.Keys, it.Key)
		if it.ReadyAt.Before(g.ready) {
			g.ready = it.ReadyAt
		}
	}
	sort.Strings(order)
	var due []Batch
	var next time.Time
	for _, k := range order {
		g := groups[k]
		if !g.ready.After(now) {
			due = append(due, g.b)
			continue
		}
		if next.IsZero() || g.ready.Before(next) {
			next = g.ready
		}
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
