package ledger

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRecordEventIdempotentWithAdjustment(t *testing.T) {
	ctx := parallel(t)
	id := issue(t)
	at := t0.Add(48 * time.Hour)
	e := LifecycleEvent{
		InvoiceID: id, EventKey: "write-off", Kind: "written_off", Reason: "customer insolvent",
		Actor: "key:ops", Details: map[string]any{"balance_minor": float64(12_345)}, At: at,
		Status: StatusWrittenOff, Balance: 0,
		Adjustment: &Adjustment{
			AdjustmentID: "write-off", Kind: "write_off", Currency: "EUR", Amount: -12_345,
			BalanceAfter: 0, Reason: "customer insolvent", Actor: "key:ops", At: at,
		},
	}
	inserted, err := testStore.RecordEvent(ctx, e)
	require.NoError(t, err)
	require.True(t, inserted)
	inserted, err = testStore.RecordEvent(ctx, e)
	require.NoError(t, err)
	require.False(t, inserted, "a retry records nothing twice")

	adj, err := testStore.ListAdjustments(ctx, id)
	require.NoError(t, err)
	require.Equal(t, []Adjustment{*e.Adjustment}, adj)
	events, err := testStore.ListLifecycleEvents(ctx, id)
	require.NoError(t, err)
	require.Len(t, events, 1)
	require.Equal(t, "written_off", events[0].Kind)
	require.Equal(t, e.Details, events[0].Details)

	inv, err := testStore.GetInvoice(ctx, id)
	require.NoError(t, err)
	require.Equal(t, StatusWrittenOff, inv.Status)
	require.EqualValues(t, 0, inv.Balance)
	require.NotNil(t, inv.ClosedAt)

	_, err = testStore.RecordEvent(ctx, LifecycleEvent{InvoiceID: uid("missing"), EventKey: "k", Kind: "paused", Status: StatusPaused, At: at})
	require.ErrorIs(t, err, ErrNotFound)
	_, err = testStore.RecordEvent(ctx, LifecycleEvent{InvoiceID: id, EventKey: "k2", Kind: "no-such-kind", Status: StatusPaused, At: at})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = testStore.RecordEvent(ctx, LifecycleEvent{InvoiceID: id, EventKey: "k3", Kind: "paused", Status: "sleeping", At: at})
	require.ErrorIs(t, err, ErrInvalid)
}

// Two events at one instant with one status (two adjustments in one workflow task,
// which share its time) each move the balance: the invoice row takes the later one,
// although the status trail keeps one row for that status and time.
func TestRecordEventAtTheSameInstantKeepsTheLaterBalance(t *testing.T) {
	ctx := parallel(t)
	id := issue(t)
	at := t0.Add(24 * time.Hour)
	for i, balance := range []int64{12_000, 11_000} {
		inserted, err := testStore.RecordEvent(ctx, LifecycleEvent{
			InvoiceID: id, EventKey: fmt.Sprintf("adjust/%d", i), Kind: "adjusted", Actor: "key:ops",
			At: at, Status: StatusOpen, Balance: balance,
		})
		require.NoError(t, err)
		require.True(t, inserted)
	}
	inv, err := testStore.GetInvoice(ctx, id)
	require.NoError(t, err)
	require.EqualValues(t, 11_000, inv.Balance, "the second event's balance")
	events, err := testStore.ListInvoiceEvents(ctx, id)
	require.NoError(t, err)
	require.Len(t, events, 2, "issued, then one row for open at that instant")
}

// The statutory compensation is an adjustment of its own kind (migration 00014).
func TestRecordCompensation(t *testing.T) {
	ctx := parallel(t)
	id := issue(t)
	at := t0.Add(24 * time.Hour)
	e := LifecycleEvent{
		InvoiceID: id, EventKey: "compensation", Kind: "compensation_charged", Actor: "policy", At: at,
		Status: StatusOverdue, Balance: 16_345,
		Adjustment: &Adjustment{AdjustmentID: "compensation", Kind: "compensation", Currency: "EUR", Amount: 4000,
			BalanceAfter: 16_345, Actor: "policy", At: at},
	}
	inserted, err := testStore.RecordEvent(ctx, e)
	require.NoError(t, err)
	require.True(t, inserted)
	adj, err := testStore.ListAdjustments(ctx, id)
	require.NoError(t, err)
	require.Equal(t, []Adjustment{*e.Adjustment}, adj)
}
