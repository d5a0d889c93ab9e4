package ledger

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRecordAndListAudit(t *testing.T) {
	ctx := parallel(t)
	_, key, err := testStore.CreateAPIKey(ctx, uid("auditor"), []string{"invoices:write", "payments:write"})
	require.NoError(t, err)
	inv := uid("inv")

	e1 := AuditEntry{At: t0, KeyID: key.ID, KeyName: key.Name, Action: AuditIssueInvoice, Outcome: AuditCreated,
		InvoiceID: inv, Details: map[string]any{"status": 201, "method": "POST"}}
	e2 := AuditEntry{At: t0.Add(time.Minute), KeyID: key.ID, KeyName: key.Name, Action: AuditApplyPayment,
		Outcome: AuditApplied, InvoiceID: inv, Reason: "payment pay_1", Details: map[string]any{"payment_id": "pay_1"}}
	// Recorded out of order: the list is by time.
	id2, err := testStore.RecordAudit(ctx, e2)
	require.NoError(t, err)
	id1, err := testStore.RecordAudit(ctx, e1)
	require.NoError(t, err)
	_, err = testStore.RecordAudit(ctx, AuditEntry{Action: AuditIssueInvoice, InvoiceID: uid("other")})
	require.NoError(t, err)

	list, err := testStore.ListAudit(ctx, inv)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, []int64{id1, id2}, []int64{list[0].ID, list[1].ID})
	require.True(t, list[0].At.Equal(t0))
	require.Equal(t, key.ID, list[0].KeyID)
	require.Equal(t, key.Name, list[0].KeyName)
	require.Equal(t, AuditCreated, list[0].Outcome)
	require.Equal(t, map[string]any{"status": float64(201), "method": "POST"}, list[0].Details)
	require.Equal(t, "payment pay_1", list[1].Reason)

	empty, err := testStore.ListAudit(ctx, uid("none"))
	require.NoError(t, err)
	require.NotNil(t, empty)
	require.Empty(t, empty)

	// No key (0) and no time (now) are allowed.
	inv2 := uid("inv")
	_, err = testStore.RecordAudit(ctx, AuditEntry{Action: AuditApplyPayment, InvoiceID: inv2})
	require.NoError(t, err)
	list, err = testStore.ListAudit(ctx, inv2)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Zero(t, list[0].KeyID)
	require.WithinDuration(t, time.Now(), list[0].At, time.Minute)
}

func TestRecordAuditInvalid(t *testing.T) {
	ctx := parallel(t)
	for _, e := range []AuditEntry{
		{Action: ""},
		{Action: "Bad Action"},
		{Action: AuditIssueInvoice, Reason: strings.Repeat("r", 1001)},
		{Action: AuditIssueInvoice, Details: map[string]any{"big": strings.Repeat("x", 3000)}},
		{Action: AuditIssueInvoice, Details: map[string]any{"bad": func() {}}},
		{Action: AuditIssueInvoice, KeyID: -42}, // no such key
	} {
		_, err := testStore.RecordAudit(ctx, e)
		require.Error(t, err, "%+v", e.Action)
	}
}
