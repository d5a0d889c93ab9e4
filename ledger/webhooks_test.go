package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func webhookEvent(source, eventID, invoiceID string) NewWebhookEvent {
	sum := sha256.Sum256([]byte(eventID))
	return NewWebhookEvent{Source: source, EventID: eventID, EventType: "payment.succeeded", Kind: "payment",
		InvoiceID: invoiceID, PaymentID: "pay-" + eventID, Currency: "EUR", Amount: 100,
		Event: json.RawMessage(`{"id":"` + eventID + `"}`), BodySHA256: sum[:]}
}

// claimOnly claims due events and keeps those of ids, releasing nothing else: other
// tests' rows may be due in the shared database, and webhook tests do not run in
// parallel with each other.
func claimOnly(t *testing.T, ids ...string) []WebhookEvent {
	t.Helper()
	got, err := testStore.ClaimWebhookEvents(context.Background(), 100, time.Minute)
	require.NoError(t, err)
	var out []WebhookEvent
	for _, e := range got {
		for _, id := range ids {
			if e.EventID == id {
				out = append(out, e)
			}
		}
	}
	return out
}

func TestWebhookEventsStoreClaimAndMark(t *testing.T) {
	ctx := context.Background()
	inv := issue(t)
	a, b := uid("evt"), uid("evt")

	stored, err := testStore.StoreWebhookEvent(ctx, webhookEvent("stripe", a, inv))
	require.NoError(t, err)
	require.True(t, stored)
	stored, err = testStore.StoreWebhookEvent(ctx, webhookEvent("stripe", a, inv))
	require.NoError(t, err)
	require.False(t, stored, "a redelivery is stored once")
	stored, err = testStore.StoreWebhookEvent(ctx, webhookEvent("payments", a, inv))
	require.NoError(t, err)
	require.True(t, stored, "event ids are unique per source")
	other := webhookEvent("stripe", a, inv)
	other.BodySHA256 = make([]byte, 32)
	_, err = testStore.StoreWebhookEvent(ctx, other)
	require.ErrorIs(t, err, ErrWebhookConflict)
	bad := webhookEvent("stripe", uid("evt"), inv)
	bad.Currency = "eur"
	_, err = testStore.StoreWebhookEvent(ctx, bad)
	require.ErrorIs(t, err, ErrInvalid)

	_, err = testStore.StoreWebhookEvent(ctx, webhookEvent("stripe", b, "NOT-YET-"+b))
	require.NoError(t, err)

	claimed := claimOnly(t, a, b)
	require.Len(t, claimed, 3, "both sources' %s and %s", a, b)
	require.Equal(t, 1, claimed[0].Attempts)
	require.Empty(t, claimOnly(t, a, b), "leased rows are not claimed twice")

	var ea, eb WebhookEvent
	for _, e := range claimed {
		switch {
		case e.EventID == a && e.Source == "stripe":
			ea = e
		case e.EventID == b:
			eb = e
		}
	}
	require.NoError(t, testStore.MarkWebhookApplied(ctx, ea.ID, "", json.RawMessage(`{"balance_minor":5}`)))
	got, err := testStore.GetWebhookEvent(ctx, "stripe", a)
	require.NoError(t, err)
	require.Equal(t, WebhookApplied, got.Status)
	require.NotNil(t, got.AppliedAt)
	require.JSONEq(t, `{"balance_minor":5}`, string(got.Result))
	require.NoError(t, testStore.ParkWebhookEvent(ctx, ea.ID, "too late"), "an applied event stays applied")
	got, _ = testStore.GetWebhookEvent(ctx, "stripe", a)
	require.Equal(t, WebhookApplied, got.Status)

	// Held for an invoice that is not issued: due again as soon as it exists.
	require.NoError(t, testStore.HoldWebhookEvent(ctx, eb.ID, WaitInvoice, "", "invoice not issued yet", time.Now().Add(time.Hour)))
	require.Empty(t, claimOnly(t, b))
	id := "NOT-YET-" + b
	rec := invoiceRecord(id, "body")
	_, err = testStore.IssueInvoice(ctx, rec)
	require.NoError(t, err)
	again := claimOnly(t, b)
	require.Len(t, again, 1, "claimed once the invoice exists")
	require.Equal(t, 2, again[0].Attempts)

	require.NoError(t, testStore.RetryWebhookEvent(ctx, eb.ID, "temporal unavailable", time.Now().Add(-time.Second)))
	again = claimOnly(t, b)
	require.Len(t, again, 1, "due again after the backoff")
	require.Equal(t, "temporal unavailable", again[0].LastError)
	require.NoError(t, testStore.ParkWebhookEvent(ctx, eb.ID, "currency mismatch"))
	parked, err := testStore.ListWebhookEvents(ctx, []WebhookStatus{WebhookParked}, 1000)
	require.NoError(t, err)
	found := false
	for _, e := range parked {
		found = found || (e.EventID == b && e.LastError == "currency mismatch")
	}
	require.True(t, found)
	require.Empty(t, claimOnly(t, b), "parked events are not claimed")

	// A requeue whose audit entry cannot be written does not happen.
	_, err = testStore.RequeueWebhookEvent(ctx, eb.ID, func(WebhookEvent) AuditEntry { return AuditEntry{Action: "Not An Action"} })
	require.ErrorIs(t, err, ErrInvalid)
	require.Empty(t, claimOnly(t, b), "still parked")

	// An operator sends it back: due at once, its wait restarting now, with its entry.
	back, err := testStore.RequeueWebhookEvent(ctx, eb.ID, func(e WebhookEvent) AuditEntry {
		return AuditEntry{Action: "webhook.retry", Outcome: "requeued", InvoiceID: e.InvoiceID, Reason: "event " + e.EventID}
	})
	require.NoError(t, err)
	require.Equal(t, WebhookPending, back.Status)
	require.NotNil(t, back.RequeuedAt)
	require.Equal(t, *back.RequeuedAt, back.WaitingSince())
	require.Contains(t, back.LastError, "currency mismatch")
	require.Len(t, claimOnly(t, b), 1)
	trail, err := testStore.ListAudit(ctx, back.InvoiceID)
	require.NoError(t, err)
	require.Equal(t, "event "+b, trail[len(trail)-1].Reason)
	_, err = testStore.RequeueWebhookEvent(ctx, eb.ID, nil)
	require.ErrorIs(t, err, ErrNotFound, "only a parked event is requeued")
	_, err = testStore.RequeueWebhookEvent(ctx, ea.ID, nil)
	require.ErrorIs(t, err, ErrNotFound, "an applied one is not")

	inv2, err := testStore.WebhookInvoiceFor(ctx, "stripe", "pay-"+a)
	require.NoError(t, err)
	require.Equal(t, inv, inv2)
	_, err = testStore.WebhookInvoiceFor(ctx, "stripe", "pay-nope")
	require.ErrorIs(t, err, ErrNotFound)
	ok, err := testStore.PaymentRecorded(ctx, inv, "nope")
	require.NoError(t, err)
	require.False(t, ok)
	ok, err = testStore.WebhookDisputeOpened(ctx, "stripe", "dp_nope")
	require.NoError(t, err)
	require.False(t, ok)
}

func TestWebhookEventsConcurrentClaimersSkipEachOther(t *testing.T) {
	ctx := context.Background()
	inv := issue(t)
	ids := make([]string, 40)
	for i := range ids {
		ids[i] = uid("evt")
		_, err := testStore.StoreWebhookEvent(ctx, webhookEvent("payments", ids[i], inv))
		require.NoError(t, err)
	}
	// The same event stored concurrently is stored once.
	var wg sync.WaitGroup
	var mu sync.Mutex
	newCount := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stored, err := testStore.StoreWebhookEvent(ctx, webhookEvent("payments", ids[0], inv))
			require.NoError(t, err)
			if stored {
				mu.Lock()
				newCount++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Zero(t, newCount)

	seen := map[string]int{}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := testStore.ClaimWebhookEvents(ctx, 3, time.Minute)
				require.NoError(t, err)
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, e := range got {
					seen[e.EventID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		require.Equal(t, 1, seen[id], "%s claimed exactly once", id)
	}
}

// recordRefund books a refund of paymentID on the invoice as the workflow does:
// amount re-opens the balance, credit is what it took back from the customer's credit.
func recordRefund(t *testing.T, invoiceID, refundID, paymentID, kind string, amount, credit int64) {
	t.Helper()
	at := t0.Add(time.Hour)
	_, err := testStore.RecordEvent(context.Background(), LifecycleEvent{InvoiceID: invoiceID, EventKey: "refund/" + refundID,
		Kind: "refunded", At: at, Status: StatusOpen, Balance: 100,
		Adjustment: &Adjustment{AdjustmentID: "refund/" + refundID, Kind: kind, Currency: "EUR", Amount: amount, Credit: -credit,
			BalanceAfter: 100, PaymentID: paymentID, At: at}})
	require.NoError(t, err)
}

// heldTotal stores a Stripe total of 300 (a refund or payment total) on a new invoice,
// claims it and holds it waiting for waitingFor, as the forwarder does while what it
// sums does not cover it yet. It returns the invoice and the event.
func heldTotal(t *testing.T, eventType, kind, paymentID, waitingFor string) (string, NewWebhookEvent) {
	t.Helper()
	inv := issue(t)
	ev := webhookEvent("stripe", uid("evt"), inv)
	ev.EventType, ev.Kind, ev.PaymentID, ev.Amount = eventType, kind, paymentID, 300
	_, err := testStore.StoreWebhookEvent(context.Background(), ev)
	require.NoError(t, err)
	claimed := claimOnly(t, ev.EventID)
	require.Len(t, claimed, 1)
	require.NoError(t, testStore.HoldWebhookEvent(context.Background(), claimed[0].ID, waitingFor, inv,
		waitingFor+" do not cover it", time.Now().Add(time.Hour)))
	return inv, ev
}

func TestWebhookRefundTotalWaitsForItsRefunds(t *testing.T) {
	ctx := context.Background()
	inv, ev := heldTotal(t, "charge.refunded", "refund_total", "pi_total", WaitRefunds)

	recordRefund(t, inv, "re_a", "pi_total", "refund", 100, 50)    // 150 of refund money
	recordRefund(t, inv, "dp_1", "pi_total", "chargeback", 500, 0) // not a refund
	recordRefund(t, inv, "re_x", "pi_other", "refund", 500, 0)     // another payment
	sum, err := testStore.RefundedOnPayment(ctx, inv, "pi_total")
	require.NoError(t, err)
	require.Equal(t, int64(150), sum)
	require.Empty(t, claimOnly(t, ev.EventID), "150 of 300: still waiting")

	recordRefund(t, inv, "re_b", "pi_total", "refund", 150, 0)
	require.Len(t, claimOnly(t, ev.EventID), 1, "due as soon as the refunds cover it")
	sum, err = testStore.RefundedOnPayment(ctx, inv, "pi_nothing")
	require.NoError(t, err)
	require.Zero(t, sum)
}

func TestWebhookPaymentTotalWaitsForThePaymentsEventsNamed(t *testing.T) {
	ctx := context.Background()
	inv, total := heldTotal(t, "invoice.paid", "payment_total", "in_total", WaitPayments)
	found, err := testStore.WebhookInvoiceFor(ctx, "stripe", "in_total")
	require.NoError(t, err)
	require.Equal(t, inv, found, "the Stripe invoice leads to the invoice")

	pay := func(paymentID string, amount int64, named ...string) {
		t.Helper()
		_, err := testStore.RecordPayment(ctx, PaymentRecord{InvoiceID: inv, PaymentID: paymentID, Currency: "EUR", Amount: amount,
			Applied: amount, BalanceAfter: 0, PaidAt: t0, AppliedAt: t0})
		require.NoError(t, err)
		for _, source := range named {
			for _, typ := range []string{"payment_intent.succeeded", "charge.succeeded"} {
				ev := webhookEvent(source, uid("evt"), inv)
				ev.EventType, ev.PaymentID, ev.Amount = typ, paymentID, amount
				_, err := testStore.StoreWebhookEvent(ctx, ev)
				require.NoError(t, err)
			}
		}
	}
	pay("pi_a", 100, "stripe")          // named twice: counted once
	pay("manual-1", 500)                // an operator's payment: no Stripe event named it
	pay("pay-generic", 500, "payments") // another source
	sum, err := testStore.PaidThroughWebhooks(ctx, "stripe", inv)
	require.NoError(t, err)
	require.Equal(t, int64(100), sum)
	require.Empty(t, claimOnly(t, total.EventID), "100 of 300: still waiting")

	pay("pi_b", 200, "stripe")
	require.Len(t, claimOnly(t, total.EventID), 1, "due as soon as the payments cover it")
}

// A Checkout Session paying two invoices is stored as two events in one transaction:
// a conflict on either stores neither. Marking one applied with its audit entry writes
// the entry once, however often the forwarder marks it.
func TestWebhookEventsStoredTogetherAndAuditedOnce(t *testing.T) {
	ctx := context.Background()
	inv1, inv2 := issue(t), issue(t)
	base := uid("evt")
	one, two := webhookEvent("stripe", base+":"+inv1, inv1), webhookEvent("stripe", base+":"+inv2, inv2)
	two.BodySHA256 = one.BodySHA256 // one delivery: one body

	clash := webhookEvent("stripe", base+":"+inv2, inv2)
	clash.BodySHA256 = make([]byte, 32)
	_, err := testStore.StoreWebhookEvent(ctx, clash)
	require.NoError(t, err)
	_, err = testStore.StoreWebhookEvents(ctx, []NewWebhookEvent{one, two})
	require.ErrorIs(t, err, ErrWebhookConflict)
	_, err = testStore.GetWebhookEvent(ctx, "stripe", one.EventID)
	require.ErrorIs(t, err, ErrNotFound, "nothing of a delivery is stored half-way")

	base = uid("evt")
	one.EventID, two.EventID = base+":"+inv1, base+":"+inv2
	stored, err := testStore.StoreWebhookEvents(ctx, []NewWebhookEvent{one, two})
	require.NoError(t, err)
	require.True(t, stored)
	stored, err = testStore.StoreWebhookEvents(ctx, []NewWebhookEvent{one, two})
	require.NoError(t, err)
	require.False(t, stored, "a redelivery stores nothing")

	got := claimOnly(t, one.EventID)
	require.Len(t, got, 1)
	audit := AuditEntry{Action: "portal.paid", Outcome: AuditApplied, InvoiceID: inv1, Details: map[string]any{"actor": "customer", "link_id": 7}}
	for range 2 {
		require.NoError(t, testStore.MarkWebhookAppliedAudited(ctx, got[0].ID, "", json.RawMessage(`{}`), audit))
	}
	entries, err := testStore.ListAudit(ctx, inv1)
	require.NoError(t, err)
	n := 0
	for _, e := range entries {
		if e.Action == "portal.paid" {
			n++
		}
	}
	require.Equal(t, 1, n)
	e, err := testStore.GetWebhookEvent(ctx, "stripe", one.EventID)
	require.NoError(t, err)
	require.Equal(t, WebhookApplied, e.Status)
}
