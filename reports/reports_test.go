package reports_test

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/reports"
	"github.com/dunwell/dunwell/reports/fixture"
)

// This file computes every measure of docs/kpis.md again in plain Go, straight from
// the generated history (not from the database), and requires the SQL reports to
// agree exactly: money in minor units, counts, day and second totals.

const day = 24 * time.Hour

// state is one invoice's building blocks as of a moment (docs/kpis.md).
type state struct {
	applied, billing, refunded, writtenOff, voided, adjusted int64
	lastPaid                                                 time.Time
	closes                                                   int
}

func stateAt(inv fixture.Invoice, t time.Time) state {
	var s state
	for _, p := range inv.Payments {
		if p.PaidAt.Before(t) {
			s.applied += p.Applied
			if p.Applied > 0 && p.PaidAt.After(s.lastPaid) {
				s.lastPaid = p.PaidAt
			}
		}
	}
	for _, a := range inv.Adjustments {
		if !a.At.Before(t) {
			continue
		}
		s.adjusted += a.Amount
		switch a.Kind {
		case "adjustment", "credit_note", "late_fee", "interest", "discount":
			s.billing += a.Amount
		case "refund", "chargeback":
			s.refunded += a.Amount
		case "write_off":
			s.writtenOff -= a.Amount
			s.closes++
		case "void":
			s.voided -= a.Amount
			s.closes++
		}
	}
	return s
}

func (s state) balance(inv fixture.Invoice) int64 { return inv.AmountDue + s.adjusted - s.applied }

func (s state) paid(inv fixture.Invoice) bool {
	return s.balance(inv) == 0 && s.applied-s.refunded > 0 && s.closes == 0
}

func days(a, b time.Time) int64 { return int64(reports.Day(a).Sub(reports.Day(b)) / day) }

func matches(inv fixture.Invoice, f reports.Filter) bool {
	return (f.Currency == "" || inv.Currency == f.Currency) && (f.Segment == "" || inv.Segment == f.Segment) &&
		(f.Policy == "" || inv.PolicyID == f.Policy)
}

func round(v float64, places int) *float64 {
	p := math.Pow10(places)
	r := math.Round(v*p) / p
	return &r
}

func ratio(num, den int64, places int) *float64 {
	if den == 0 {
		return nil
	}
	return round(float64(num)/float64(den), places)
}

func expectKPIs(invoices []fixture.Invoice, p reports.Period, f reports.Filter) []reports.KPI {
	start, end := p.From, p.To.AddDate(0, 0, 1)
	by := map[string]*reports.KPI{}
	get := func(c string) *reports.KPI {
		if by[c] == nil {
			m := reports.Money{Currency: c}
			by[c] = &reports.KPI{Currency: c, AmountIssued: m, Billed: m, CollectedOnIssued: m, WrittenOffOnIssued: m,
				Collected: m, WrittenOff: m, OpeningReceivables: m, ClosingReceivables: m, ClosingCurrent: m}
		}
		return by[c]
	}
	for _, inv := range invoices {
		if !matches(inv, f) {
			continue
		}
		s := stateAt(inv, end)
		if !inv.IssuedAt.Before(start) && inv.IssuedAt.Before(end) {
			k := get(inv.Currency)
			k.InvoicesIssued++
			k.AmountIssued.Minor += inv.AmountDue
			k.Billed.Minor += inv.AmountDue + s.billing - s.voided
			k.CollectedOnIssued.Minor += s.applied - s.refunded
			k.WrittenOffOnIssued.Minor += s.writtenOff
			if inv.Escalated != nil && inv.Escalated.Before(end) {
				k.InvoicesEscalated++
			}
		}
		if s.paid(inv) && !s.lastPaid.Before(start) {
			k := get(inv.Currency)
			k.InvoicesPaid++
			k.DaysToPayTotal += days(s.lastPaid, inv.IssuedAt)
			k.DaysDelinquentTotal += max(0, days(s.lastPaid, inv.DueDate))
		}
		for _, pay := range inv.Payments {
			if !pay.PaidAt.Before(start) && pay.PaidAt.Before(end) {
				get(inv.Currency).Collected.Minor += pay.Applied
			}
		}
		for _, a := range inv.Adjustments {
			if a.At.Before(start) || !a.At.Before(end) {
				continue
			}
			switch a.Kind {
			case "refund", "chargeback":
				get(inv.Currency).Collected.Minor -= a.Amount
			case "write_off":
				get(inv.Currency).WrittenOff.Minor -= a.Amount
			}
		}
		if inv.IssuedAt.Before(start) {
			if b := stateAt(inv, start).balance(inv); b > 0 {
				get(inv.Currency).OpeningReceivables.Minor += b
			}
		}
		if inv.IssuedAt.Before(end) {
			if b := s.balance(inv); b > 0 {
				k := get(inv.Currency)
				k.ClosingReceivables.Minor += b
				if !inv.DueDate.Before(p.To) {
					k.ClosingCurrent.Minor += b
				}
			}
		}
	}
	out := []reports.KPI{}
	for _, c := range slices.Sorted(maps.Keys(by)) {
		k := by[c]
		k.CollectionRate = ratio(k.CollectedOnIssued.Minor, k.Billed.Minor, 4)
		k.WriteOffRate = ratio(k.WrittenOffOnIssued.Minor, k.Billed.Minor, 4)
		k.EscalationRate = ratio(k.InvoicesEscalated, k.InvoicesIssued, 4)
		k.AverageDaysToPay = ratio(k.DaysToPayTotal, k.InvoicesPaid, 2)
		k.AverageDaysDelinquent = ratio(k.DaysDelinquentTotal, k.InvoicesPaid, 2)
		if k.AmountIssued.Minor > 0 {
			k.DSO = round(float64(k.ClosingReceivables.Minor)/float64(k.AmountIssued.Minor)*float64(p.Days()), 2)
		}
		num := k.OpeningReceivables.Minor + k.AmountIssued.Minor - k.ClosingReceivables.Minor
		den := k.OpeningReceivables.Minor + k.AmountIssued.Minor - k.ClosingCurrent.Minor
		if den != 0 {
			k.CEI = round(float64(num)/float64(den)*100, 2)
		}
		out = append(out, *k)
	}
	return out
}

func expectAging(invoices []fixture.Invoice, asOf time.Time, f reports.Filter) []reports.Aging {
	end := asOf.AddDate(0, 0, 1)
	by := map[string]*reports.Aging{}
	for _, inv := range invoices {
		if !matches(inv, f) || !inv.IssuedAt.Before(end) {
			continue
		}
		b := stateAt(inv, end).balance(inv)
		if b <= 0 {
			continue
		}
		a := by[inv.Currency]
		if a == nil {
			a = &reports.Aging{Currency: inv.Currency, Total: reports.Money{Currency: inv.Currency}}
			for _, name := range []string{"current", "1_30", "31_60", "61_90", "90_plus"} {
				a.Buckets = append(a.Buckets, reports.Bucket{Bucket: name, Amount: reports.Money{Currency: inv.Currency}})
			}
			by[inv.Currency] = a
		}
		var i int
		switch dpd := days(asOf, inv.DueDate); {
		case dpd <= 0:
			i = 0
		case dpd <= 30:
			i = 1
		case dpd <= 60:
			i = 2
		case dpd <= 90:
			i = 3
		default:
			i = 4
		}
		a.Buckets[i].Invoices++
		a.Buckets[i].Amount.Minor += b
		a.Invoices++
		a.Total.Minor += b
	}
	out := []reports.Aging{}
	for _, c := range slices.Sorted(maps.Keys(by)) {
		out = append(out, *by[c])
	}
	return out
}

func expectSteps(invoices []fixture.Invoice, p reports.Period, f reports.Filter, within int) []reports.Step {
	start, end := p.From, p.To.AddDate(0, 0, 1)
	type key struct{ policy, step, channel, segment string }
	by := map[key]*reports.Step{}
	for _, inv := range invoices {
		if !matches(inv, f) {
			continue
		}
		s := stateAt(inv, end)
		for _, n := range inv.Notices {
			if n.Status != ledger.NoticeSent || n.At.Before(start) || !n.At.Before(end) {
				continue
			}
			k := key{inv.PolicyID, n.Step, n.Channel, inv.Segment}
			st := by[k]
			if st == nil {
				st = &reports.Step{Policy: k.policy, Step: k.step, Channel: k.channel, Segment: k.segment}
				by[k] = st
			}
			st.Sent++
			if s.paid(inv) && !s.lastPaid.Before(n.At) && s.lastPaid.Before(n.At.Add(time.Duration(within)*day)) {
				st.PaidWithin++
				st.SecondsToPayTotal += int64(s.lastPaid.Sub(n.At) / time.Second)
			}
		}
	}
	keys := make([]key, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		for _, c := range [][2]string{{a.policy, b.policy}, {a.step, b.step}, {a.channel, b.channel}, {a.segment, b.segment}} {
			if c[0] != c[1] {
				if c[0] < c[1] {
					return -1
				}
				return 1
			}
		}
		return 0
	})
	out := []reports.Step{}
	for _, k := range keys {
		st := by[k]
		st.PaidWithinRate = ratio(st.PaidWithin, st.Sent, 4)
		if st.PaidWithin > 0 {
			st.AverageDaysToPay = round(float64(st.SecondsToPayTotal)/86400/float64(st.PaidWithin), 2)
		}
		out = append(out, *st)
	}
	return out
}

func TestReportsMatchPlainGoOverAGeneratedYear(t *testing.T) {
	t.Parallel()
	store, rep := newLedger(t)
	opts := fixture.Options{Invoices: 400, Seed: 7}
	invoices := fixture.Generate(opts)
	ctx := context.Background()
	require.NoError(t, fixture.Write(ctx, store, invoices))

	// The generator covers what the measures need.
	kinds, currencies := map[string]int{}, map[string]int{}
	for _, inv := range invoices {
		currencies[inv.Currency]++
		for _, a := range inv.Adjustments {
			kinds[a.Kind]++
		}
	}
	for _, k := range []string{"refund", "credit_note", "write_off", "void", "late_fee"} {
		require.Positive(t, kinds[k], "no %s in the fixture", k)
	}
	for _, c := range []string{"USD", "EUR", "JPY", "KWD"} {
		require.Positive(t, currencies[c], "no %s invoice in the fixture", c)
	}

	// The ledger invariant the reports rely on: the stored row agrees with the history.
	for _, inv := range invoices[:50] {
		got, err := store.GetInvoice(ctx, inv.ID)
		require.NoError(t, err)
		require.Equal(t, inv.Status, got.Status, inv.ID)
		require.Equal(t, inv.Balance, got.Balance, inv.ID)
		require.Equal(t, inv.Closed(), got.ClosedAt != nil, inv.ID)
	}

	periods := []reports.Period{
		period("2025-01-01", "2025-12-31"),
		period("2025-03-01", "2025-03-31"),
		period("2025-06-15", "2025-09-14"),
		period("2026-01-01", "2026-02-28"), // after the last issue: no cohort
		period("2024-01-01", "2024-12-31"), // before anything
	}
	filters := []reports.Filter{{}, {Currency: "JPY"}, {Currency: "KWD", Segment: "smb"}, {Policy: "gentle"}, {Segment: "nobody"}}
	for _, p := range periods {
		for _, f := range filters {
			got, err := rep.KPIs(ctx, p, f)
			require.NoError(t, err)
			require.Equal(t, expectKPIs(invoices, p, f), got.Currencies, "kpis %v..%v %+v", p.From, p.To, f)
		}
		for _, within := range []int{7, 30} {
			got, err := rep.Steps(ctx, p, reports.Filter{}, within)
			require.NoError(t, err)
			require.Equal(t, expectSteps(invoices, p, reports.Filter{}, within), got.Steps, "steps %v..%v within %d", p.From, p.To, within)
		}
	}
	for _, asOf := range []string{"2024-12-31", "2025-02-10", "2025-07-01", "2025-12-31", "2026-03-01"} {
		for _, f := range filters {
			got, err := rep.Aging(ctx, date(asOf), f)
			require.NoError(t, err)
			require.Equal(t, expectAging(invoices, date(asOf), f), got.Currencies, "aging %s %+v", asOf, f)
		}
	}
}

func TestCustomerViewMatchesPlainGo(t *testing.T) {
	t.Parallel()
	store, rep := newLedger(t)
	opts := fixture.Options{Invoices: 150, Customers: 12, Seed: 11, Prefix: "CV"}
	invoices := fixture.Generate(opts)
	ctx := context.Background()
	require.NoError(t, fixture.Write(ctx, store, invoices))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) // the generator's default Now
	rep.Now = func() time.Time { return now }

	bands := map[string]int{}
	for c := range 12 {
		id := fixtureCustomer("CV", c)
		var mine []fixture.Invoice
		for _, inv := range invoices {
			if inv.CustomerID == id {
				mine = append(mine, inv)
			}
		}
		got, err := rep.Customer(ctx, id)
		if len(mine) == 0 {
			require.ErrorIs(t, err, reports.ErrNotFound)
			continue
		}
		require.NoError(t, err)
		var paid, onTime, late, wo, esc int64
		open := map[string]int64{}
		var openInvoices []string
		var last *time.Time
		for _, inv := range mine {
			s := stateAt(inv, now)
			if s.paid(inv) {
				paid++
				if d := days(s.lastPaid, inv.DueDate); d <= 0 {
					onTime++
				} else {
					late += d
				}
			}
			if s.writtenOff > 0 || slices.ContainsFunc(inv.Adjustments, func(a fixture.Adjustment) bool { return a.Kind == "write_off" }) {
				wo++
			}
			if inv.Escalated != nil {
				esc++
			}
			if b := s.balance(inv); b > 0 {
				open[inv.Currency] += b
				openInvoices = append(openInvoices, inv.ID)
			}
			for _, n := range inv.Notices {
				if n.Status == ledger.NoticeSent && (last == nil || n.At.After(*last)) {
					at := n.At
					last = &at
				}
			}
		}
		require.Equal(t, int64(len(mine)), got.Invoices)
		require.Equal(t, paid, got.InvoicesPaid, id)
		require.Equal(t, onTime, got.PaidOnTime, id)
		require.Equal(t, late, got.DaysLateTotal, id)
		require.Equal(t, wo, got.WrittenOff, id)
		require.Equal(t, esc, got.Escalated, id)
		require.Equal(t, last, got.LastContact, id)
		var gotIDs []string
		for _, o := range got.OpenInvoices {
			gotIDs = append(gotIDs, o.InvoiceID)
		}
		slices.Sort(gotIDs)
		slices.Sort(openInvoices)
		require.Equal(t, openInvoices, gotIDs, id)
		require.Len(t, got.Balances, len(open))
		for _, b := range got.Balances {
			require.Equal(t, open[b.Currency], b.Balance.Minor, id)
		}
		bands[got.Band]++
		// The band follows docs/kpis.md.
		want := reports.BandSlow
		switch {
		case wo > 0 || esc > 0 || (paid > 0 && float64(late)/float64(paid) > 30):
			want = reports.BandAtRisk
		case paid < 3:
			want = reports.BandNew
		case float64(onTime)/float64(paid) >= 0.9 && float64(late)/float64(paid) <= 3:
			want = reports.BandPrompt
		}
		require.Equal(t, want, got.Band, id)
	}
	require.NotEmpty(t, bands)
}

func fixtureCustomer(prefix string, n int) string { return fmt.Sprintf("%s-C%05d", prefix, n) }
