package forwarder

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/internal/ledgertest"
	"github.com/dunwell/dunwell/internal/testenv"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/webhooks"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

var testPG *testenv.Postgres

func TestMain(m *testing.M) {
	os.Exit(testenv.RunWithPostgres(m, "forwarder", testenv.KeepPostgres(&testPG)))
}

// fakeInvoice models what the collection workflow does with the updates the
// forwarder sends: dedupe by id, refunds only of applied payments, one open dispute.
type fakeInvoice struct {
	currency string
	balance  int64
	payments map[string]int64
	refunds  map[string]int64
	open     string
	closed   map[string]bool
	done     bool
}

type fakeWorkflows struct {
	t      *testing.T
	store  *ledger.Store
	mu     sync.Mutex
	inv    map[string]*fakeInvoice
	failOn string // an update name that fails transiently
}

func (f *fakeWorkflows) start(id, currency string, amount int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inv[id] = &fakeInvoice{currency: currency, balance: amount, payments: map[string]int64{}, refunds: map[string]int64{}, closed: map[string]bool{}}
}

func (f *fakeWorkflows) get(id, update string) (*fakeInvoice, error) {
	inv, ok := f.inv[id]
	switch {
	case update == f.failOn:
		return nil, fmt.Errorf("%s: temporal unavailable", update)
	case !ok:
		return nil, invoiceapi.ErrNotFound
	case inv.done:
		return nil, invoiceapi.ErrClosed
	}
	return inv, nil
}

func (f *fakeWorkflows) Pay(ctx context.Context, id, _ string, in invoiceapi.PaymentInput) (invoiceapi.PaymentResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	inv, err := f.get(id, invoiceapi.UpdatePayment)
	if err != nil {
		return invoiceapi.PaymentResult{}, err
	}
	if in.Currency != inv.currency {
		return invoiceapi.PaymentResult{}, &invoiceapi.InvalidError{Field: "currency", Reason: "differs"}
	}
	if _, dup := inv.payments[in.PaymentID]; dup {
		return invoiceapi.PaymentResult{Duplicate: true, Balance: inv.balance}, nil
	}
	inv.payments[in.PaymentID] = in.Amount
	applied := min(in.Amount, inv.balance)
	inv.balance -= applied
	_, err = f.store.RecordPayment(ctx, ledger.PaymentRecord{InvoiceID: id, PaymentID: in.PaymentID, Currency: in.Currency,
		Amount: in.Amount, Applied: applied, Credit: in.Amount - applied, BalanceAfter: inv.balance, PaidAt: time.Now(), AppliedAt: time.Now()})
	require.NoError(f.t, err)
	return invoiceapi.PaymentResult{Balance: inv.balance, Applied: applied}, nil
}

func (f *fakeWorkflows) Refund(ctx context.Context, id, _ string, in invoiceapi.RefundInput) (invoiceapi.EventResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	inv, err := f.get(id, invoiceapi.UpdateRefund)
	if err != nil {
		return invoiceapi.EventResult{}, err
	}
	// Refunds and chargebacks are deduplicated each in their own namespace.
	key := string(in.Kind) + "/" + in.RefundID
	if _, dup := inv.refunds[key]; dup {
		return invoiceapi.EventResult{Duplicate: true, Balance: inv.balance}, nil
	}
	if _, ok := inv.payments[in.PaymentID]; !ok {
		return invoiceapi.EventResult{}, &invoiceapi.ConflictError{Field: "payment_id", Reason: "payment not applied"}
	}
	inv.refunds[key] = in.Amount
	inv.balance += in.Amount
	// The workflow books a refund in the ledger's adjustments, where a refund total
	// (Stripe charge.refunded without its list) looks for it.
	now := time.Now().UTC()
	_, err = f.store.RecordEvent(ctx, ledger.LifecycleEvent{InvoiceID: id, EventKey: key, Kind: "refunded",
		At: now, Status: "open", Balance: inv.balance, Adjustment: &ledger.Adjustment{AdjustmentID: key,
			Kind: string(in.Kind), Currency: in.Currency, Amount: in.Amount, BalanceAfter: inv.balance, PaymentID: in.PaymentID, At: now}})
	require.NoError(f.t, err)
	return invoiceapi.EventResult{Balance: inv.balance}, nil
}

func (f *fakeWorkflows) OpenDispute(_ context.Context, id, _ string, in invoiceapi.DisputeInput) (invoiceapi.EventResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	inv, err := f.get(id, invoiceapi.UpdateDispute)
	if err != nil {
		return invoiceapi.EventResult{}, err
	}
	switch {
	case inv.open == in.DisputeID || inv.closed[in.DisputeID]:
		return invoiceapi.EventResult{Duplicate: true}, nil
	case inv.open != "":
		return invoiceapi.EventResult{}, &invoiceapi.ConflictError{Field: "status", Reason: "another dispute is open"}
	}
	inv.open = in.DisputeID
	return invoiceapi.EventResult{Status: "disputed", Balance: inv.balance}, nil
}

func (f *fakeWorkflows) ResolveDispute(_ context.Context, id, _ string, in invoiceapi.ResolveDisputeInput) (invoiceapi.EventResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	inv, err := f.get(id, invoiceapi.UpdateResolveDispute)
	if err != nil {
		return invoiceapi.EventResult{}, err
	}
	switch {
	case inv.closed[in.DisputeID]:
		return invoiceapi.EventResult{Duplicate: true}, nil
	case inv.open != in.DisputeID:
		return invoiceapi.EventResult{}, &invoiceapi.ConflictError{Field: "status", Reason: "no dispute is open"}
	}
	inv.open, inv.closed[in.DisputeID] = "", true
	return invoiceapi.EventResult{Status: "open", Balance: inv.balance}, nil
}

func (f *fakeWorkflows) balance(id string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inv[id].balance
}

// harness is one test's own database, ledger, fake workflows and forwarder.
type harness struct {
	t     *testing.T
	store *ledger.Store
	wf    *fakeWorkflows
	fw    *Forwarder
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	store := ledgertest.OnNewDatabase(t, testPG)
	wf := &fakeWorkflows{t: t, store: store, inv: map[string]*fakeInvoice{}}
	cfg.Store, cfg.Workflows, cfg.Logger = store, wf, slog.New(slog.NewTextHandler(testWriter{t}, nil))
	fw, err := New(cfg)
	require.NoError(t, err)
	return &harness{t: t, store: store, wf: wf, fw: fw}
}

// parkClock is the clock of a harness from newParkingHarness.
type parkClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *parkClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// newParkingHarness is a harness whose held events park after an hour on a clock
// that only pastParkAfter moves.
func newParkingHarness(t *testing.T) (*harness, *parkClock) {
	t.Helper()
	clock := &parkClock{now: time.Now()}
	return newHarness(t, Config{ParkAfter: time.Hour, Now: clock.Now}), clock
}

// pastParkAfter moves the clock two hours on and makes the held ev due now, so the
// next drain finds it past ParkAfter.
func (h *harness) pastParkAfter(clock *parkClock, ev webhooks.Event) {
	h.t.Helper()
	clock.mu.Lock()
	clock.now = clock.now.Add(2 * time.Hour)
	clock.mu.Unlock()
	require.NoError(h.t, h.store.RetryWebhookEvent(context.Background(), h.status(ev).ID, "test: due now", time.Now().Add(-time.Second)))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// issue records the invoice in the ledger and, with running, starts its workflow.
func (h *harness) issue(id, currency string, amount int64, running bool) {
	h.t.Helper()
	sum := sha256.Sum256([]byte(id))
	_, err := h.store.IssueInvoice(context.Background(), ledger.InvoiceRecord{InvoiceID: id, CustomerID: "C-" + id, Currency: currency,
		AmountDue: amount, IssuedAt: time.Now().UTC(), DueDate: time.Now().UTC().Format(time.DateOnly), PolicyID: "standard", BodySHA256: sum[:]})
	require.NoError(h.t, err)
	if running {
		h.wf.start(id, currency, amount)
	}
}

func (h *harness) store1(ev webhooks.Event) {
	h.t.Helper()
	raw, err := json.Marshal(ev)
	require.NoError(h.t, err)
	sum := sha256.Sum256(raw)
	_, err = h.store.StoreWebhookEvent(context.Background(), ledger.NewWebhookEvent{Source: string(ev.Source), EventID: ev.ID,
		EventType: ev.Type, Kind: string(ev.Kind), InvoiceID: ev.InvoiceID, PaymentID: ev.PaymentID, DisputeID: ev.DisputeID,
		Currency: ev.Currency, Amount: ev.Amount, Event: raw, BodySHA256: sum[:]})
	require.NoError(h.t, err)
}

func (h *harness) status(ev webhooks.Event) ledger.WebhookEvent {
	h.t.Helper()
	e, err := h.store.GetWebhookEvent(context.Background(), string(ev.Source), ev.ID)
	require.NoError(h.t, err)
	return e
}

// drainUntil drains until ev reaches status (held events come due after backoff).
func (h *harness) drainUntil(ev webhooks.Event, status ledger.WebhookStatus) ledger.WebhookEvent {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := h.fw.Drain(context.Background())
		require.NoError(h.t, err)
		if e := h.status(ev); e.Status == status {
			return e
		} else if time.Now().After(deadline) {
			h.t.Fatalf("event %s is %s (%s), not %s", ev.ID, e.Status, e.LastError, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func payment(id, invoice, paymentID string, amount int64) webhooks.Event {
	return webhooks.Event{Source: webhooks.SourcePayments, ID: id, Type: "payment.succeeded", Kind: webhooks.KindPayment,
		InvoiceID: invoice, PaymentID: paymentID, Currency: "USD", Amount: amount, At: time.Now().UTC()}
}

func refund(id, invoice, paymentID, refundID string, amount int64) webhooks.Event {
	return webhooks.Event{Source: webhooks.SourcePayments, ID: id, Type: "payment.refunded", Kind: webhooks.KindRefund,
		InvoiceID: invoice, PaymentID: paymentID, Currency: "USD", Refunds: []webhooks.Refund{{ID: refundID, Amount: amount}}}
}

func TestForwardPaymentBeforeInvoiceIsHeldThenApplied(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	ev := payment("evt-1", "INV-LATE", "pay-1", 300)
	h.store1(ev)
	e := h.drainUntil(ev, ledger.WebhookHeld)
	require.Equal(t, ledger.WaitInvoice, e.WaitingFor)

	h.issue("INV-LATE", "USD", 1000, false) // recorded, workflow not started yet
	e = h.drainUntil(ev, ledger.WebhookHeld)
	require.Equal(t, ledger.WaitWorkflow, e.WaitingFor)
	h.wf.start("INV-LATE", "USD", 1000)
	h.drainUntil(ev, ledger.WebhookApplied)
	require.Equal(t, int64(700), h.wf.balance("INV-LATE"))
}

func TestForwardRefundBeforePaymentEndsRight(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.issue("INV-R", "USD", 1000, true)
	ref := refund("evt-ref", "INV-R", "pay-1", "re-1", 200)
	h.store1(ref)
	e := h.drainUntil(ref, ledger.WebhookHeld)
	require.Equal(t, ledger.WaitPayment, e.WaitingFor)
	pay := payment("evt-pay", "INV-R", "pay-1", 600)
	h.store1(pay)
	h.drainUntil(pay, ledger.WebhookApplied)
	h.drainUntil(ref, ledger.WebhookApplied)
	require.Equal(t, int64(600), h.wf.balance("INV-R"), "1000 - 600 + 200")
}

func TestForwardStripeRefundFindsItsInvoiceByPayment(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.issue("INV-S", "USD", 1000, true)
	ref := webhooks.Event{Source: webhooks.SourceStripe, ID: "evt_r", Type: "charge.refunded", Kind: webhooks.KindRefund,
		PaymentID: "pi_1", Currency: "USD", Refunds: []webhooks.Refund{{ID: "re_1", Amount: 100}, {ID: "re_2", Amount: 50}}}
	h.store1(ref)
	e := h.drainUntil(ref, ledger.WebhookHeld)
	require.Equal(t, ledger.WaitPayment, e.WaitingFor)
	pay := webhooks.Event{Source: webhooks.SourceStripe, ID: "evt_p", Type: "payment_intent.succeeded", Kind: webhooks.KindPayment,
		InvoiceID: "INV-S", PaymentID: "pi_1", Currency: "USD", Amount: 400}
	h.store1(pay)
	// The same payment reported again by charge.succeeded: a duplicate in the workflow.
	charge := pay
	charge.ID, charge.Type = "evt_c", "charge.succeeded"
	h.store1(charge)
	dups := 0
	for _, ev := range []webhooks.Event{pay, charge} {
		var res struct {
			Payment invoiceapi.PaymentResult `json:"payment"`
		}
		require.NoError(t, json.Unmarshal(h.drainUntil(ev, ledger.WebhookApplied).Result, &res))
		if res.Payment.Duplicate {
			dups++
		}
	}
	require.Equal(t, 1, dups, "one of the two events of the same payment is a duplicate")
	e = h.drainUntil(ref, ledger.WebhookApplied)
	require.Equal(t, "INV-S", e.InvoiceID, "the invoice found by payment id is recorded")
	require.Equal(t, int64(750), h.wf.balance("INV-S"), "1000 - 400 + 150")
}

// stripeRefundCreated is a refund.created of a succeeded refund, as ParseStripe makes it.
func stripeRefundCreated(id, paymentID, refundID string, amount int64) webhooks.Event {
	return webhooks.Event{Source: webhooks.SourceStripe, ID: id, Type: "refund.created", Kind: webhooks.KindRefund,
		PaymentID: paymentID, ChargeID: "ch_1", Currency: "USD", Refunds: []webhooks.Refund{{ID: refundID, Amount: amount}}}
}

// stripeRefundTotal is a charge.refunded without its refunds list: amount_refunded so far.
func stripeRefundTotal(id, paymentID, chargeID string, amountRefunded int64) webhooks.Event {
	return webhooks.Event{Source: webhooks.SourceStripe, ID: id, Type: "charge.refunded", Kind: webhooks.KindRefundTotal,
		PaymentID: paymentID, ChargeID: chargeID, Currency: "USD", Amount: amountRefunded}
}

// stripePaid issues the invoice with a running workflow and applies a Stripe payment.
func (h *harness) stripePaid(invoiceID, paymentID string, due, paid int64) {
	h.t.Helper()
	h.issue(invoiceID, "USD", due, true)
	pay := webhooks.Event{Source: webhooks.SourceStripe, ID: "evt_pay_" + invoiceID, Type: "payment_intent.succeeded", Kind: webhooks.KindPayment,
		InvoiceID: invoiceID, PaymentID: paymentID, Currency: "USD", Amount: paid}
	h.store1(pay)
	h.drainUntil(pay, ledger.WebhookApplied)
}

func TestForwardRefundTotalIsSatisfiedByRefundsAppliedBeforeOrAfterIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.stripePaid("INV-TOT", "pi_1", 1000, 600)

	// The statement first: held until refund.created brings the refund it sums up.
	first := stripeRefundTotal("evt_total_1", "pi_1", "ch_1", 100)
	h.store1(first)
	e := h.drainUntil(first, ledger.WebhookHeld)
	require.Equal(t, ledger.WaitRefunds, e.WaitingFor)
	require.Equal(t, "INV-TOT", e.InvoiceID, "found by its payment")
	require.Contains(t, e.LastError, "amount_refunded 1.00 USD but the refunds applied to it add up to 0.00 USD")
	require.Equal(t, int64(400), h.wf.balance("INV-TOT"), "a statement moves no money")
	re1 := stripeRefundCreated("evt_re_1", "pi_1", "re_1", 100)
	h.store1(re1)
	h.drainUntil(re1, ledger.WebhookApplied)
	e = h.drainUntil(first, ledger.WebhookApplied)
	var res struct {
		Total struct {
			Stated  int64  `json:"stated_minor"`
			Applied int64  `json:"applied_minor"`
			Note    string `json:"note"`
		} `json:"refund_total"`
	}
	require.NoError(t, json.Unmarshal(e.Result, &res))
	require.Equal(t, int64(100), res.Total.Stated)
	require.Equal(t, int64(100), res.Total.Applied)
	require.Contains(t, res.Total.Note, "charge ch_1")
	require.Contains(t, res.Total.Note, "moves no money")

	// The refund first: the statement that follows is covered at once.
	re2 := stripeRefundCreated("evt_re_2", "pi_1", "re_2", 50)
	h.store1(re2)
	h.drainUntil(re2, ledger.WebhookApplied)
	second := stripeRefundTotal("evt_total_2", "pi_1", "ch_1", 150)
	h.store1(second)
	h.drainUntil(second, ledger.WebhookApplied)
	require.Equal(t, 1, h.status(second).Attempts, "not held")
	require.Equal(t, int64(550), h.wf.balance("INV-TOT"), "1000 - 600 + 100 + 50, each refund once")
}

func TestForwardRefundTotalNotCoveredIsParkedAfterTheWait(t *testing.T) {
	t.Parallel()
	h, clock := newParkingHarness(t)
	h.stripePaid("INV-UNCOVERED", "pi_9", 1000, 1000)
	re := stripeRefundCreated("evt_re_9", "pi_9", "re_9", 50)
	h.store1(re)
	h.drainUntil(re, ledger.WebhookApplied)
	total := stripeRefundTotal("evt_total_9", "pi_9", "ch_9", 200)
	h.store1(total)
	require.Equal(t, ledger.WaitRefunds, h.drainUntil(total, ledger.WebhookHeld).WaitingFor)

	h.pastParkAfter(clock, total)
	e := h.drainUntil(total, ledger.WebhookParked)
	for _, want := range []string{"not applied after 1h0m0s", "charge ch_9", "amount_refunded 2.00 USD",
		"add up to 0.50 USD", "subscribe the endpoint to refund.created or apply the rest with POST /v1/invoices/INV-UNCOVERED/refunds"} {
		require.Contains(t, e.LastError, want)
	}
	require.Equal(t, int64(50), h.wf.balance("INV-UNCOVERED"), "only the refund that was reported moved money")
}

func TestForwardListedChargeRefundedAndRefundCreatedApplyARefundOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.stripePaid("INV-BOTH", "pi_2", 1000, 800)
	created := stripeRefundCreated("evt_re_created", "pi_2", "re_1", 100)
	listed := webhooks.Event{Source: webhooks.SourceStripe, ID: "evt_ch_listed", Type: "charge.refunded", Kind: webhooks.KindRefund,
		PaymentID: "pi_2", ChargeID: "ch_2", Currency: "USD", Refunds: []webhooks.Refund{{ID: "re_1", Amount: 100}, {ID: "re_2", Amount: 30}}}
	h.store1(created)
	h.store1(listed)
	h.drainUntil(created, ledger.WebhookApplied)
	h.drainUntil(listed, ledger.WebhookApplied)
	require.Equal(t, int64(330), h.wf.balance("INV-BOTH"), "1000 - 800 + 100 + 30: re_1 once")
	sum, err := h.store.RefundedOnPayment(context.Background(), "INV-BOTH", "pi_2")
	require.NoError(t, err)
	require.Equal(t, int64(130), sum)
	// A later statement of the same refunds is covered and moves nothing.
	total := stripeRefundTotal("evt_total_both", "pi_2", "ch_2", 130)
	h.store1(total)
	h.drainUntil(total, ledger.WebhookApplied)
	require.Equal(t, int64(330), h.wf.balance("INV-BOTH"))
}

func TestForwardChargebackWonAndLostInAnyOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.issue("INV-CB", "USD", 1000, true)
	pay := payment("evt-p", "INV-CB", "pay-1", 1000)
	h.store1(pay)
	h.drainUntil(pay, ledger.WebhookApplied)
	cb := func(id string, kind webhooks.Kind, outcome webhooks.Outcome) webhooks.Event {
		return webhooks.Event{Source: webhooks.SourcePayments, ID: id, Type: "chargeback", Kind: kind, InvoiceID: "INV-CB",
			PaymentID: "pay-1", Currency: "USD", Amount: 1000, DisputeID: "cb-1", Outcome: outcome}
	}
	closed := cb("evt-close", webhooks.KindChargebackClosed, webhooks.OutcomeWon)
	h.store1(closed) // the close arrives first
	require.Equal(t, ledger.WaitDispute, h.drainUntil(closed, ledger.WebhookHeld).WaitingFor)
	opened := cb("evt-open", webhooks.KindChargebackOpened, "")
	h.store1(opened)
	h.drainUntil(opened, ledger.WebhookApplied)
	h.drainUntil(closed, ledger.WebhookApplied)
	again := cb("evt-close-2", webhooks.KindChargebackClosed, webhooks.OutcomeWon) // a duplicate close
	h.store1(again)
	h.drainUntil(again, ledger.WebhookApplied)
	require.Equal(t, int64(0), h.wf.balance("INV-CB"), "the chargeback re-opened 1000, the reinstatement paid it once")
}

func TestForwardParksMismatchRejectionAndLongWaits(t *testing.T) {
	t.Parallel()
	h, clock := newParkingHarness(t)
	h.issue("INV-EUR", "EUR", 1000, true)
	eur := payment("evt-usd", "INV-EUR", "pay-1", 100)
	h.store1(eur)
	require.Contains(t, h.drainUntil(eur, ledger.WebhookParked).LastError, "currency")

	h.issue("INV-X", "USD", 1000, true)
	bad := refund("evt-bad", "INV-X", "pay-9", "re-9", 100)
	h.store1(payment("evt-p9", "INV-X", "pay-9", 50))
	h.drainUntil(payment("evt-p9", "", "", 0), ledger.WebhookApplied)
	h.wf.mu.Lock()
	delete(h.wf.inv["INV-X"].payments, "pay-9") // the workflow refuses the refund
	h.wf.mu.Unlock()
	h.store1(bad)
	require.Contains(t, h.drainUntil(bad, ledger.WebhookParked).LastError, "rejected by the workflow")

	lost := payment("evt-lost", "INV-NEVER", "pay-1", 100)
	h.store1(lost)
	h.drainUntil(lost, ledger.WebhookHeld)
	h.pastParkAfter(clock, lost)
	e := h.drainUntil(lost, ledger.WebhookParked)
	require.Contains(t, e.LastError, "not applied after 1h0m0s")
	require.Contains(t, e.LastError, "INV-NEVER is not issued yet")

	parked, err := h.store.ListWebhookEvents(context.Background(), []ledger.WebhookStatus{ledger.WebhookParked}, 10)
	require.NoError(t, err)
	require.Len(t, parked, 3)
}

func TestForwardRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.issue("INV-T", "USD", 1000, true)
	h.wf.failOn = invoiceapi.UpdatePayment
	ev := payment("evt-t", "INV-T", "pay-1", 100)
	h.store1(ev)
	e := h.drainUntil(ev, ledger.WebhookPending)
	require.Contains(t, e.LastError, "temporal unavailable")
	require.True(t, e.NextAttemptAt.After(e.ReceivedAt))
	h.wf.mu.Lock()
	h.wf.failOn = ""
	h.wf.mu.Unlock()
	h.drainUntil(ev, ledger.WebhookApplied)
	require.Equal(t, int64(900), h.wf.balance("INV-T"))
}

func TestForwardRunAppliesWhenWoken(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Poll: time.Hour})
	h.issue("INV-W", "USD", 1000, true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.fw.Run(ctx) }()
	ev := payment("evt-w", "INV-W", "pay-1", 10)
	h.store1(ev)
	h.fw.Wake()
	deadline := time.Now().Add(10 * time.Second)
	for h.status(ev).Status != ledger.WebhookApplied {
		require.True(t, time.Now().Before(deadline), "not applied after Wake")
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

func TestBackoffGrowsAndIsBounded(t *testing.T) {
	require.LessOrEqual(t, backoff(1, time.Minute), 500*time.Millisecond)
	require.Greater(t, backoff(4, time.Minute), 3*time.Second)
	require.LessOrEqual(t, backoff(40, time.Minute), time.Minute)
	require.Greater(t, backoff(40, time.Minute), 47*time.Second)
}
