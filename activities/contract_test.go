package activities

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// The workflow calls the activities by the contract's names with the contract's
// types; the worker registers *Activities, whose method names are the activity names.
// A renamed method or a changed request type would fail every call at run time.
func TestActivitiesMatchTheContract(t *testing.T) {
	ctxType, errType := reflect.TypeFor[context.Context](), reflect.TypeFor[error]()
	for name, want := range map[string]struct{ req, res reflect.Type }{
		invoiceapi.ActivitySendNotice:       {reflect.TypeFor[invoiceapi.NoticeRequest](), reflect.TypeFor[invoiceapi.NoticeResult]()},
		invoiceapi.ActivityRecordPayment:    {reflect.TypeFor[invoiceapi.PaymentRecord](), nil},
		invoiceapi.ActivityEscalate:         {reflect.TypeFor[invoiceapi.EscalationRequest](), nil},
		invoiceapi.ActivityRecordStatus:     {reflect.TypeFor[invoiceapi.StatusRecord](), nil},
		invoiceapi.ActivityRecordEvent:      {reflect.TypeFor[invoiceapi.EventRecord](), nil},
		invoiceapi.ActivityReserveContact:   {reflect.TypeFor[invoiceapi.ContactCapRequest](), reflect.TypeFor[invoiceapi.ContactCapResult]()},
		invoiceapi.ActivityOpenCallTask:     {reflect.TypeFor[invoiceapi.CallTaskRequest](), reflect.TypeFor[invoiceapi.CallTaskResult]()},
		invoiceapi.ActivityCloseCallTask:    {reflect.TypeFor[invoiceapi.CloseCallTaskRequest](), reflect.TypeFor[invoiceapi.CallTaskResult]()},
		invoiceapi.ActivityCompleteCallTask: {reflect.TypeFor[invoiceapi.CallCompletion](), nil},
	} {
		m, ok := reflect.TypeFor[*Activities]().MethodByName(name)
		require.True(t, ok, "no method %s on *Activities", name)
		in := []reflect.Type{m.Type.In(1), m.Type.In(2)}
		require.Equal(t, []reflect.Type{ctxType, want.req}, in, name)
		out := []reflect.Type{errType}
		if want.res != nil {
			out = []reflect.Type{want.res, errType}
		}
		var got []reflect.Type
		for i := range m.Type.NumOut() {
			got = append(got, m.Type.Out(i))
		}
		require.Equal(t, out, got, name)
	}
}

// The contract's event record is the workflow's own type; the ledger's row carries
// every field of it, with the same JSON names (one history payload, one row).
func TestEventRecordReachesTheLedgerWhole(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	e := invoiceapi.EventRecord{
		InvoiceID: "INV-1", EventKey: "refund/R-1", Kind: "refunded", Reason: "returned", Actor: "key:ops",
		Details: map[string]any{"refund_id": "R-1"}, At: at, Status: "open", Balance: 500,
		PolicyID: "standard", PolicyVersion: 2, DueDate: "2026-12-31",
		Adjustment: &invoiceapi.Adjustment{AdjustmentID: "R-1", Kind: "refund", Currency: "USD", Amount: 500, Credit: -100,
			BalanceAfter: 500, PaymentID: "P-1", Reason: "returned", Actor: "key:ops", At: at},
	}
	want, err := json.Marshal(e)
	require.NoError(t, err)
	got, err := json.Marshal(lifecycleEvent(e))
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(got))
}

// The workflow's call outcomes are the ledger's.
func TestCallOutcomesMatchTheLedger(t *testing.T) {
	require.Equal(t, ledger.CallOutcomes, collection.CallOutcomes)
	for _, o := range ledger.CallOutcomes {
		require.Equal(t, ledger.IsConversation(o), collection.IsConversation(o), o)
	}
}
