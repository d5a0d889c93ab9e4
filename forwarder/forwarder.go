// Package forwarder applies stored payment webhooks to the invoice workflows, exactly
// once in effect, and never drops one.
//
// The API stores every accepted webhook in PostgreSQL (ledger.StoreWebhookEvent)
// before it answers 2xx; this package takes it from there. A Forwarder is a loop in
// the `starter serve` process that claims due rows (FOR UPDATE SKIP LOCKED, under a
// lease) and sends each to its invoice's workflow as Temporal updates whose UpdateID
// is derived from the provider's event id. Re-applying is harmless: Temporal answers a
// repeated UpdateID from its record, and the workflow dedupes payment, refund and
// dispute ids, answering duplicate.
//
// Why a loop over PostgreSQL and not a Temporal workflow per event: the event is
// already durable in the row, which is the store the API must write before its 2xx
// anyway; a workflow per event would copy it into a second durable store and double
// the history writes of every payment for no extra guarantee. The loop is stateless,
// so any number of starter replicas share the work through SKIP LOCKED, and a crashed
// one's rows come back when their lease ends. The updates themselves are Temporal's
// durable, deduplicated operations.
//
// What happens to an event:
//   - applied: every update answered (applied or duplicate); for a refund total
//     (Stripe charge.refunded without its refunds list) or a payment total (Stripe
//     invoice.paid naming no payment), which send no update: the refunds applied to
//     its payment, or the payments applied to its invoice, cover it;
//   - held: its invoice is not issued yet (applied as soon as it is), its workflow
//     is not running yet, a refund or chargeback arrived before its payment, a
//     chargeback's close before its opening, or a refund or payment total before
//     the refunds or payments that cover it; retried with backoff;
//   - parked, for an operator (GET /v1/webhooks/events?status=parked, `starter
//     webhooks parked`): still held after Config.ParkAfter, a currency other than the
//     invoice's, or an update the workflow rejected;
//   - pending again with backoff after a transient failure (Temporal or PostgreSQL
//     unavailable), until ParkAfter.
package forwarder

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/dunwell/dunwell/internal/metrics"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/webhooks"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// Defaults of Config.
const (
	DefaultPoll        = time.Second
	DefaultBatch       = 32
	DefaultConcurrency = 16
	DefaultLease       = 2 * time.Minute
	DefaultParkAfter   = 72 * time.Hour
	// maxBackoff bounds the wait between two tries of one event.
	maxBackoff = 5 * time.Minute
)

// Store is the part of the ledger the forwarder uses; *ledger.Store implements it.
type Store interface {
	ClaimWebhookEvents(ctx context.Context, limit int, lease time.Duration) ([]ledger.WebhookEvent, error)
	MarkWebhookApplied(ctx context.Context, id int64, invoiceID string, result json.RawMessage) error
	MarkWebhookAppliedAudited(ctx context.Context, id int64, invoiceID string, result json.RawMessage, audit ledger.AuditEntry) error
	HoldWebhookEvent(ctx context.Context, id int64, waitingFor, invoiceID, why string, next time.Time) error
	RetryWebhookEvent(ctx context.Context, id int64, why string, next time.Time) error
	ParkWebhookEvent(ctx context.Context, id int64, why string) error
	GetInvoice(ctx context.Context, invoiceID string) (ledger.Invoice, error)
	WebhookInvoiceFor(ctx context.Context, source, paymentID string) (string, error)
	WebhookDisputeOpened(ctx context.Context, source, disputeID string) (bool, error)
	PaymentRecorded(ctx context.Context, invoiceID, paymentID string) (bool, error)
	RefundedOnPayment(ctx context.Context, invoiceID, paymentID string) (int64, error)
	PaidThroughWebhooks(ctx context.Context, source, invoiceID string) (int64, error)
}

// Config configures a Forwarder. Store, Workflows and Logger are required.
type Config struct {
	Store     Store
	Workflows Workflows
	Logger    *slog.Logger
	// Poll is how often the loop looks for due events when not woken (DefaultPoll).
	Poll time.Duration
	// Batch is how many events one claim takes (DefaultBatch); Concurrency how many
	// are applied at once (DefaultConcurrency).
	Batch       int
	Concurrency int
	// Lease is how long a claimed event is reserved; an event whose forwarder died
	// is tried again after it (DefaultLease). It must exceed one event's updates.
	Lease time.Duration
	// ParkAfter is how long an event may wait (for its invoice, payment, dispute or
	// a working Temporal) before it is parked for an operator (DefaultParkAfter).
	ParkAfter time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Forwarder applies stored webhook events. Run it once per process.
type Forwarder struct {
	cfg  Config
	wake chan struct{}
}

// New checks cfg and fills in its defaults.
func New(cfg Config) (*Forwarder, error) {
	if cfg.Store == nil || cfg.Workflows == nil || cfg.Logger == nil {
		return nil, errors.New("forwarder: Store, Workflows and Logger are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Poll, DefaultPoll)
	def(&cfg.Lease, DefaultLease)
	def(&cfg.ParkAfter, DefaultParkAfter)
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Forwarder{cfg: cfg, wake: make(chan struct{}, 1)}, nil
}

// Wake asks the loop to look for due events now (the API calls it after storing one).
// It never blocks.
func (f *Forwarder) Wake() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Run applies due events until ctx is done. Failures are logged and retried; Run
// returns only ctx's error.
func (f *Forwarder) Run(ctx context.Context) error {
	f.cfg.Logger.Info("Webhook forwarder running", "poll", f.cfg.Poll, "park_after", f.cfg.ParkAfter)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		case <-f.wake:
		}
		if _, err := f.Drain(ctx); err != nil && ctx.Err() == nil {
			f.cfg.Logger.Warn("Webhook forwarder: claiming events failed; retrying", "error", err)
		}
		timer.Reset(f.cfg.Poll)
	}
}

// Drain claims and applies due events until none is left, and returns how many it
// handled (applied, held, parked or put back). Up to Concurrency events are in
// flight; a slot that frees is refilled at once, so one slow update does not hold up
// the others.
func (f *Forwarder) Drain(ctx context.Context) (int, error) {
	var wg sync.WaitGroup
	defer wg.Wait()
	finished := make(chan struct{}, f.cfg.Concurrency) // one per event done; never blocks
	total, inFlight := 0, 0
	for ctx.Err() == nil {
		free := f.cfg.Concurrency - inFlight
		var events []ledger.WebhookEvent
		if free > 0 {
			var err error
			if events, err = f.cfg.Store.ClaimWebhookEvents(ctx, min(f.cfg.Batch, free), f.cfg.Lease); err != nil {
				return total, err
			}
		}
		if len(events) == 0 {
			if inFlight == 0 {
				return total, nil
			}
			<-finished
			inFlight--
			continue
		}
		for _, e := range events {
			inFlight++
			total++
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.handle(ctx, e)
				finished <- struct{}{}
			}()
		}
	}
	return total, ctx.Err()
}

// outcome is what applying one event came to.
type outcome struct {
	status     ledger.WebhookStatus
	waitingFor string // held: what for
	invoiceID  string // found for an event that did not name it
	why        string
	result     map[string]any
	// portal: a payment the customer made on the portal, audited as theirs.
	portal *webhooks.PortalPayment
	amount int64
}

func (f *Forwarder) handle(ctx context.Context, row ledger.WebhookEvent) {
	log := f.cfg.Logger.With("source", row.Source, "event_id", row.EventID, "type", row.EventType, "attempt", row.Attempts)
	out := f.apply(ctx, row)
	now := f.cfg.Now()
	waited := now.Sub(row.WaitingSince())
	if (out.status == ledger.WebhookHeld || out.status == ledger.WebhookPending) && waited > f.cfg.ParkAfter {
		out = outcome{status: ledger.WebhookParked, why: fmt.Sprintf("not applied after %s: %s", f.cfg.ParkAfter, out.why)}
	}
	// A fresh context: the outcome is recorded even while shutting down, else the row
	// waits for its lease.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var err error
	switch out.status {
	case ledger.WebhookApplied:
		res, _ := json.Marshal(out.result) // plain data: cannot fail
		if p := out.portal; p != nil {
			err = f.cfg.Store.MarkWebhookAppliedAudited(mctx, row.ID, out.invoiceID, res, portalAudit(row, out))
		} else {
			err = f.cfg.Store.MarkWebhookApplied(mctx, row.ID, out.invoiceID, res)
		}
		log.Info("Webhook event applied", "invoice_id", out.invoiceID)
	case ledger.WebhookHeld:
		next := now.Add(backoff(row.Attempts, holdCap(out.waitingFor)))
		err = f.cfg.Store.HoldWebhookEvent(mctx, row.ID, out.waitingFor, out.invoiceID, out.why, next)
		log.Info("Webhook event held", "waiting_for", out.waitingFor, "reason", out.why, "next_attempt", next)
	case ledger.WebhookParked:
		err = f.cfg.Store.ParkWebhookEvent(mctx, row.ID, out.why)
		log.Warn("Webhook event parked for an operator", "reason", out.why)
	default:
		next := now.Add(backoff(row.Attempts, maxBackoff))
		err = f.cfg.Store.RetryWebhookEvent(mctx, row.ID, out.why, next)
		log.Warn("Webhook event not applied; retrying", "reason", out.why, "next_attempt", next)
	}
	if err != nil {
		log.Error("Recording the webhook event's outcome failed; it is retried after its lease", "error", err)
		return
	}
	metrics.WebhookEvent(row.Source, string(out.status))
}

// apply takes one event as far as it can go now.
func (f *Forwarder) apply(ctx context.Context, row ledger.WebhookEvent) outcome {
	var ev webhooks.Event
	if err := json.Unmarshal(row.Event, &ev); err != nil {
		return parked("the stored event cannot be read: %v", err)
	}
	st := f.cfg.Store
	// A held event keeps the invoice an earlier attempt found for its payment.
	invoiceID := cmp.Or(ev.InvoiceID, row.InvoiceID)
	if invoiceID == "" {
		id, err := f.invoiceOf(ctx, &ev)
		switch {
		case errors.Is(err, ledger.ErrNotFound):
			return held(ledger.WaitPayment, "", "no payment %s from %s names its invoice yet", ev.PaymentID, ev.Source)
		case err != nil:
			return retry("finding the invoice of payment %s: %v", ev.PaymentID, err)
		}
		invoiceID = id
	}
	inv, err := st.GetInvoice(ctx, invoiceID)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return held(ledger.WaitInvoice, invoiceID, "invoice %s is not issued yet", invoiceID)
	case err != nil:
		return retry("reading invoice %s: %v", invoiceID, err)
	case inv.Currency != ev.Currency:
		return parked("currency: the event is in %s but invoice %s is in %s", ev.Currency, invoiceID, inv.Currency)
	}
	if o, wait := f.dependency(ctx, &ev, invoiceID); wait {
		return o
	}
	switch ev.Kind {
	case webhooks.KindRefundTotal:
		return f.refundTotal(ctx, &ev, invoiceID)
	case webhooks.KindPaymentTotal:
		return f.paymentTotal(ctx, &ev, invoiceID)
	}
	a := applier{f: f, ev: &ev, invoiceID: invoiceID, result: map[string]any{}}
	if err := a.run(ctx); err != nil {
		return a.failed(ctx, err)
	}
	return outcome{status: ledger.WebhookApplied, invoiceID: invoiceID, result: a.result, portal: ev.Portal, amount: ev.Amount}
}

// portalAudit is the audit entry of a payment the customer made through a Checkout
// Session on the portal: actor customer and the link, as the portal's own actions
// are, so the customer's timeline shows it beside the session they started.
func portalAudit(row ledger.WebhookEvent, out outcome) ledger.AuditEntry {
	p := out.portal
	outcome := ledger.AuditApplied
	if res, ok := out.result["payment"].(invoiceapi.PaymentResult); ok && res.Duplicate {
		outcome = ledger.AuditDuplicate
	}
	return ledger.AuditEntry{Action: "portal.paid", Outcome: outcome, InvoiceID: out.invoiceID,
		Reason: "paid through a Stripe Checkout Session made on the customer's portal",
		Details: map[string]any{"actor": "customer", "link_id": p.LinkID, "customer_id": p.CustomerID,
			"session_id": p.SessionID, "payment_id": row.PaymentID, "event_id": row.EventID, "type": row.EventType,
			"currency": row.Currency, "amount_minor": out.amount}}
}

// invoiceOf finds the invoice of an event that does not name it: an earlier event
// named it for the same payment, or for the Stripe invoice the payment is toward.
func (f *Forwarder) invoiceOf(ctx context.Context, ev *webhooks.Event) (string, error) {
	id, err := f.cfg.Store.WebhookInvoiceFor(ctx, string(ev.Source), ev.PaymentID)
	if errors.Is(err, ledger.ErrNotFound) && ev.StripeInvoiceID != "" {
		return f.cfg.Store.WebhookInvoiceFor(ctx, string(ev.Source), ev.StripeInvoiceID)
	}
	return id, err
}

// dependency holds an event that must wait for another one: a refund or chargeback
// for its payment, a chargeback's close for its opening. Out-of-order deliveries so
// end in the state in-order ones would have.
func (f *Forwarder) dependency(ctx context.Context, ev *webhooks.Event, invoiceID string) (outcome, bool) {
	switch ev.Kind {
	case webhooks.KindRefund, webhooks.KindChargebackOpened, webhooks.KindRefundTotal:
		ok, err := f.cfg.Store.PaymentRecorded(ctx, invoiceID, ev.PaymentID)
		if err != nil {
			return retry("looking up payment %s: %v", ev.PaymentID, err), true
		}
		if !ok {
			return held(ledger.WaitPayment, invoiceID, "payment %s of invoice %s is not applied yet", ev.PaymentID, invoiceID), true
		}
	case webhooks.KindChargebackClosed:
		ok, err := f.cfg.Store.WebhookDisputeOpened(ctx, string(ev.Source), ev.DisputeID)
		if err != nil {
			return retry("looking up chargeback %s: %v", ev.DisputeID, err), true
		}
		if !ok {
			return held(ledger.WaitDispute, invoiceID, "chargeback %s is not opened yet", ev.DisputeID), true
		}
	}
	return outcome{}, false
}

// refundTotal settles a statement that the refunds of a payment add up to ev.Amount
// so far (a Stripe charge.refunded without its refunds list). It never applies money
// itself: only events that name a refund by its id do, and the workflow applies each
// id once, so a statement and the refund.created events it sums up cannot count the
// same refund twice. It is marked applied, with a note, once the refunds applied to
// the payment under any ids cover it; until then it is held, and after ParkAfter
// parked, so that a refund Dunwell never heard of reaches an operator.
func (f *Forwarder) refundTotal(ctx context.Context, ev *webhooks.Event, invoiceID string) outcome {
	got, err := f.cfg.Store.RefundedOnPayment(ctx, invoiceID, ev.PaymentID)
	if err != nil {
		return retry("summing the refunds of payment %s: %v", ev.PaymentID, err)
	}
	charge := cmp.Or(ev.ChargeID, ev.PaymentID)
	stated, applied := money.Format(ev.Amount, ev.Currency)+" "+ev.Currency, money.Format(got, ev.Currency)+" "+ev.Currency
	if got >= ev.Amount {
		return outcome{status: ledger.WebhookApplied, invoiceID: invoiceID, result: map[string]any{"refund_total": map[string]any{
			"stated_minor": ev.Amount, "applied_minor": got,
			"note": fmt.Sprintf("charge %s: amount_refunded %s is covered by the refunds applied to payment %s (%s); this event moves no money",
				charge, stated, ev.PaymentID, applied),
		}}}
	}
	return held(ledger.WaitRefunds, invoiceID, "charge %s (payment %s of invoice %s) has amount_refunded %s but the refunds applied to it add up to %s: "+
		"subscribe the endpoint to refund.created or apply the rest with POST /v1/invoices/%s/refunds (payment_id %s)",
		charge, ev.PaymentID, invoiceID, stated, applied, invoiceID, ev.PaymentID)
}

// paymentTotal settles a statement that the Stripe payments of an invoice add up to
// ev.Amount (a Stripe invoice.paid that names no payment, API versions from
// 2025-03-31). Like a refund total it never applies money: the events that name the
// payment do (payment_intent.succeeded, charge.succeeded, invoice_payment.paid), and
// the workflow applies each payment id once, so the invoice and its PaymentIntent
// count once whichever arrives first. It is marked applied once the payments those
// events named cover it; until then it is held, and after ParkAfter parked, so that
// money Dunwell never heard of by its payment reaches an operator.
func (f *Forwarder) paymentTotal(ctx context.Context, ev *webhooks.Event, invoiceID string) outcome {
	got, err := f.cfg.Store.PaidThroughWebhooks(ctx, string(ev.Source), invoiceID)
	if err != nil {
		return retry("summing the %s payments of invoice %s: %v", ev.Source, invoiceID, err)
	}
	stated, applied := money.Format(ev.Amount, ev.Currency)+" "+ev.Currency, money.Format(got, ev.Currency)+" "+ev.Currency
	if got >= ev.Amount {
		return outcome{status: ledger.WebhookApplied, invoiceID: invoiceID, result: map[string]any{"payment_total": map[string]any{
			"stated_minor": ev.Amount, "applied_minor": got,
			"note": fmt.Sprintf("Stripe invoice %s: amount_paid %s is covered by the %s payments applied to invoice %s (%s); this event moves no money",
				ev.PaymentID, stated, ev.Source, invoiceID, applied),
		}}}
	}
	return held(ledger.WaitPayments, invoiceID, "Stripe invoice %s (invoice %s) has amount_paid %s but the %s payments applied to it add up to %s: "+
		"subscribe the endpoint to payment_intent.succeeded or invoice_payment.paid (its events name the payment), "+
		"or apply the rest with POST /v1/invoices/%s/payments",
		ev.PaymentID, invoiceID, stated, ev.Source, applied, invoiceID)
}

func held(waitingFor, invoiceID, format string, args ...any) outcome {
	return outcome{status: ledger.WebhookHeld, waitingFor: waitingFor, invoiceID: invoiceID, why: fmt.Sprintf(format, args...)}
}

func parked(format string, args ...any) outcome {
	return outcome{status: ledger.WebhookParked, why: fmt.Sprintf(format, args...)}
}

func retry(format string, args ...any) outcome {
	return outcome{status: ledger.WebhookPending, why: fmt.Sprintf(format, args...)}
}

// backoff is the wait before try attempts+1: doubling from half a second up to
// ceiling, with a fifth of jitter so that events held together spread out.
func backoff(attempts int, ceiling time.Duration) time.Duration {
	d := 500 * time.Millisecond
	for i := 1; i < attempts && d < ceiling; i++ {
		d *= 2
	}
	d = min(d, ceiling)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// holdCap bounds the retry interval of a held event. An event held for its invoice,
// or for refunds that cover it, is claimed as soon as they are in the ledger, so its
// timer only checks ParkAfter.
func holdCap(waitingFor string) time.Duration {
	switch waitingFor {
	case ledger.WaitInvoice, ledger.WaitRefunds, ledger.WaitPayments:
		return 10 * time.Minute
	case ledger.WaitWorkflow:
		return 30 * time.Second
	}
	return time.Minute
}
