package bench

import (
	"context"
	"fmt"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/dunwell/dunwell/internal/fakeprovider"
)

// Spike is the month-end run: every invoice's reminder due at one instant, SendGrid
// limited to Rate sends per second, and the email task queue's
// TaskQueueActivitiesPerSecond (enforced by the Temporal server across workers) set
// to the same Rate, as SENDGRID_RATE_PER_SECOND sets it in production.
type Spike struct {
	Invoices int `json:"invoices"`
	// Customers hold the invoices, spikeInvoicesPerCustomer each; their reminders go
	// out as one message per customer (the spike policy consolidates).
	Customers int `json:"customers"`
	// Messages is how many emails the fake SendGrid's outbox holds for the spike's
	// customers; MaxPerCustomer the most one customer got at the spike's one step
	// (target 1: a hard check); Reached how many customers got any.
	Messages       int `json:"messages"`
	MaxPerCustomer int `json:"max_messages_per_customer"`
	Reached        int `json:"customers_reached"`
	// Covered is how many of the invoices a message lists (by number), CoveredTwice
	// how many more than one message lists (target 0: a hard check).
	Covered      int `json:"invoices_covered"`
	CoveredTwice int `json:"invoices_covered_twice"`
	Rate         int `json:"rate_per_sec"`
	// QueueRate is the email task queue's activities-per-second limit.
	QueueRate float64 `json:"queue_rate_per_sec"`
	// IdealSec is Customers / Rate (one message each): the provider cannot take them
	// faster.
	IdealSec float64 `json:"ideal_sec"`
	Drain
	Sent int `json:"sent"`
	// Provider429 is how many sends the provider refused; Repeat429 how many of those
	// went to a message whose previous send had been refused too.
	Provider429 int64 `json:"provider_429"`
	Repeat429   int64 `json:"repeat_429"`
	Duplicates  int   `json:"duplicates"`
	// LateIssued counts invoices issued after the due instant (the issue phase ran
	// long); their reminder was due at once instead.
	LateIssued int `json:"late_issued"`
	// Ceiling is the same spike run by bare workflows of the same shape, just before.
	Ceiling  SpikeCeiling `json:"ceiling"`
	Complete bool         `json:"complete"`
	Error    string       `json:"error,omitempty"`
}

// Drain is how a spike's sends went out against a limit of r per second.
type Drain struct {
	// DrainSec runs from the due instant to the last send accepted.
	DrainSec float64 `json:"drain_sec"`
	// EffectiveRate = sent / DrainSec; RateRatio = EffectiveRate / r.
	EffectiveRate float64 `json:"effective_rate"`
	RateRatio     float64 `json:"rate_ratio"`
	// FirstSendSec runs from the due instant to the first send (the timers firing and
	// the workflows waking); SteadyRatio is the rate between the first and the last
	// send over r: how well the queue's limit paces the sends.
	FirstSendSec float64 `json:"first_send_sec"`
	SteadyRatio  float64 `json:"steady_ratio"`
}

// drainOf computes a Drain from the first and last of sent sends (zero times when
// none went).
func drainOf(due, first, last time.Time, sent, r int) Drain {
	var d Drain
	if last.IsZero() || sent == 0 {
		return d
	}
	d.DrainSec = round2(last.Sub(due).Seconds())
	d.EffectiveRate = round2(float64(sent) / max(last.Sub(due).Seconds(), 0.001))
	d.RateRatio = round2(d.EffectiveRate / float64(r))
	if !first.IsZero() && last.After(first) && sent > 1 {
		d.FirstSendSec = round2(first.Sub(due).Seconds())
		d.SteadyRatio = round2(float64(sent-1) / last.Sub(first).Seconds() / float64(r))
	}
	return d
}

// runSpike issues cfg.SpikeInvoices invoices over a fifth as many customers, whose
// one reminder is due at the same instant, chosen so that issuing (at issueRate
// invoices/s, measured earlier) ends before it, and watches the fake SendGrid drain
// the customers' messages (one each) under its rate limit.
func runSpike(ctx context.Context, s *stack, cfg Config, issueRate float64) Spike {
	n, r := cfg.SpikeInvoices, cfg.SpikeRate
	customers := max(1, n/spikeInvoicesPerCustomer)
	res := Spike{Invoices: n, Customers: customers, Rate: r, IdealSec: round2(float64(customers) / float64(r))}
	s.log.Info("Spike ceiling: bare invoices and accounts of the same shape", "invoices", n, "accounts", customers, "rate", r)
	s.limiter.SetLimit(fakeprovider.SendGrid, r)
	defer s.limiter.SetLimit(fakeprovider.SendGrid, 0)
	res.Ceiling = runSpikeCeiling(ctx, s, customers, spikeInvoicesPerCustomer, r, spikeGather)
	s.log.Info("Spike ceiling done", "rate_ratio", res.Ceiling.RateRatio, "steady_ratio", res.Ceiling.SteadyRatio, "error", res.Ceiling.Error)
	inv := newInvoices("spike", n)
	for i := range inv {
		c := &inv[i].Customer
		c.ID = fmt.Sprintf("C-spike-%06d", i%customers)
		c.Email = c.ID + "@example.com"
		c.Phone = inv[i%customers].Customer.Phone
	}
	if issueRate <= 0 { // not measured in this run (-only): a cautious guess for 2 cores
		issueRate = 40
		if cfg.Cluster {
			issueRate = 10
		}
	}
	lead := time.Duration(float64(n)/max(issueRate, 5)*1.5*float64(time.Second)) + 5*time.Second
	due := time.Now().Add(lead).Truncate(time.Second).Add(time.Second)
	s.sends.reset()
	s.limiter.ResetStats()
	s.fakes.ClearOutbox()
	res.QueueRate = float64(r)
	if err := s.setSendRates(res.QueueRate, 0); err != nil {
		res.Error = err.Error()
		return res
	}
	defer func() {
		if err := s.setSendRates(0, 0); err != nil {
			s.log.Warn("Restoring unlimited send workers failed", "error", err)
		}
	}()
	s.log.Info("Spike: issuing", "invoices", n, "due_at", due.Format(time.TimeOnly), "lead", lead.Round(time.Second))

	// policySpike reminds one second after issue: issued_at = due - 1s for all.
	issuedAt := due.Add(-time.Second)
	var late atomic.Int64
	onIssued := func() {
		if time.Now().After(due) {
			late.Add(1)
		}
	}
	if err := issueAll(ctx, s, inv, policySpike, cfg.Concurrency, func(benchInvoice) time.Time { return issuedAt }, onIssued); err != nil {
		res.Error = err.Error()
	}
	res.LateIssued = int(late.Load())
	// Long enough for a loaded machine: the ceiling's drain in this run says how loaded.
	limit := max(2*time.Minute, 4*time.Duration(res.IdealSec*float64(time.Second))+30*time.Second,
		20*time.Duration(res.Ceiling.DrainSec*float64(time.Second)))
	deadline := time.Now().Add(time.Until(due) + limit)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	// Complete once every invoice is listed in a message (a customer's reminders may
	// come in more than one message: counted below).
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var now Spike
		if now.countOutbox(s.fakes.Outbox(), inv); now.Covered >= n {
			res.Complete = true
			break
		}
		<-tick.C
	}
	// Let retries still in flight land, so a late duplicate is counted.
	time.Sleep(2 * time.Second)
	sent, dups, last := s.sends.snapshot()
	st := s.limiter.Stats(fakeprovider.SendGrid)
	res.Sent, res.Duplicates = sent, dups
	res.Provider429, res.Repeat429 = st.Limited, st.RepeatLimited
	// The accounts wait spikeGather for their customers' other reminders by design:
	// the drain counts from the end of that wait.
	res.Drain = drainOf(due.Add(spikeGather), s.sends.first(), last, sent, r)
	res.countOutbox(s.fakes.Outbox(), inv)
	if !res.Complete && res.Error == "" {
		res.Error = fmt.Sprintf("only %d of %d invoices were listed in a message accepted within %s", res.Covered, n, limit)
	}
	return res
}

// countOutbox counts the spike's messages in the fake's outbox: per customer (by
// recipient address) and per invoice (by its number in the message's text).
func (sp *Spike) countOutbox(outbox []fakeprovider.Message, inv []benchInvoice) {
	customer := map[string]bool{}
	for _, b := range inv {
		customer[b.Customer.Email] = true
	}
	perCustomer, perInvoice := map[string]int{}, map[string]int{}
	for _, m := range outbox {
		if m.Provider != fakeprovider.SendGrid || !customer[m.To] {
			continue
		}
		sp.Messages++
		perCustomer[m.To]++
		for _, id := range uniq(spikeInvoiceNumber.FindAllString(m.Text+" "+m.HTML, -1)) {
			perInvoice[id]++
		}
	}
	sp.Reached = len(perCustomer)
	for _, n := range perCustomer {
		sp.MaxPerCustomer = max(sp.MaxPerCustomer, n)
	}
	for _, b := range inv {
		if n := perInvoice[b.ID]; n > 0 {
			sp.Covered++
			if n > 1 {
				sp.CoveredTwice++
			}
		}
	}
}

// spikeInvoiceNumber finds the spike's invoice numbers (newInvoices("spike", ...)) in a
// message.
var spikeInvoiceNumber = regexp.MustCompile(`spike-[0-9]{6}`)

// SpikeRatio is Dunwell's drain rate over the bare ceiling's (0 if either is unknown).
func (sp Spike) SpikeRatio() float64 {
	if sp.Ceiling.RateRatio <= 0 {
		return 0
	}
	return round2(sp.RateRatio / sp.Ceiling.RateRatio)
}
