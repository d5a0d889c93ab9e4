package ledger

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestIssueInvoice(t *testing.T) {
	ctx := parallel(t)
	id := uid("inv")
	rec := invoiceRecord(id, "body")

	out, err := testStore.IssueInvoice(ctx, rec)
	require.NoError(t, err)
	require.Equal(t, IssueCreated, out)

	out, err = testStore.IssueInvoice(ctx, rec)
	require.NoError(t, err)
	require.Equal(t, IssueExisting, out)

	_, err = testStore.IssueInvoice(ctx, invoiceRecord(id, "another body"))
	require.ErrorIs(t, err, ErrInvoiceConflict)

	inv, err := testStore.GetInvoice(ctx, id)
	require.NoError(t, err)
	require.Equal(t, rec, inv.InvoiceRecord)
	require.Equal(t, StatusOpen, inv.Status)
	require.Equal(t, rec.AmountDue, inv.Balance)
	require.Nil(t, inv.ClosedAt)

	events, err := testStore.ListInvoiceEvents(ctx, id)
	require.NoError(t, err)
	require.Len(t, events, 1)
	require.Equal(t, StatusOpen, events[0].Status)
}

// TestIssueInvoiceAudited: the entry is written with the invoice, its outcome told by
// the ledger; an entry that cannot be written leaves no invoice.
func TestIssueInvoiceAudited(t *testing.T) {
	ctx := parallel(t)
	id := uid("inv")
	rec := invoiceRecord(id, "body")
	withID := func(o IssueOutcome) AuditEntry {
		outcome := AuditExisting
		if o == IssueCreated {
			outcome = AuditCreated
		}
		return AuditEntry{Action: AuditIssueInvoice, Outcome: outcome, InvoiceID: id}
	}
	for _, want := range []IssueOutcome{IssueCreated, IssueExisting} {
		out, err := testStore.IssueInvoiceAudited(ctx, rec, withID)
		require.NoError(t, err)
		require.Equal(t, want, out)
	}
	trail, err := testStore.ListAudit(ctx, id)
	require.NoError(t, err)
	require.Len(t, trail, 2)
	require.Equal(t, AuditCreated, trail[0].Outcome)
	require.Equal(t, AuditExisting, trail[1].Outcome)

	_, err = testStore.IssueInvoiceAudited(ctx, invoiceRecord(id, "other body"), withID)
	require.ErrorIs(t, err, ErrInvoiceConflict)
	trail, err = testStore.ListAudit(ctx, id)
	require.NoError(t, err)
	require.Len(t, trail, 2, "a conflict writes nothing")

	refused := uid("inv")
	_, err = testStore.IssueInvoiceAudited(ctx, invoiceRecord(refused, "body"), func(IssueOutcome) AuditEntry {
		return AuditEntry{Action: "Not An Action", InvoiceID: refused}
	})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = testStore.GetInvoice(ctx, refused)
	require.ErrorIs(t, err, ErrNotFound, "rolled back with its entry")
	events, err := testStore.ListInvoiceEvents(ctx, refused)
	require.NoError(t, err)
	require.Empty(t, events)
}

func TestIssueInvoiceInvalid(t *testing.T) {
	ctx := parallel(t)
	for name, mutate := range map[string]func(*InvoiceRecord){
		"negative amount": func(r *InvoiceRecord) { r.AmountDue = -1 },
		"bad currency":    func(r *InvoiceRecord) { r.Currency = "eur" },
		"bad due date":    func(r *InvoiceRecord) { r.DueDate = "31/03/2026" },
		"short hash":      func(r *InvoiceRecord) { r.BodySHA256 = []byte{1, 2} },
		"no id":           func(r *InvoiceRecord) { r.InvoiceID = "" },
	} {
		rec := invoiceRecord(uid("inv"), "body")
		mutate(&rec)
		_, err := testStore.IssueInvoice(ctx, rec)
		require.ErrorIs(t, err, ErrInvalid, name)
	}
}

func TestGetInvoiceNotFound(t *testing.T) {
	t.Parallel()
	_, err := testStore.GetInvoice(context.Background(), uid("missing"))
	require.ErrorIs(t, err, ErrNotFound)
}

func TestSetInvoiceStatus(t *testing.T) {
	ctx := parallel(t)
	id := issue(t)
	t1, t2 := t0.Add(31*24*time.Hour), t0.Add(40*24*time.Hour)

	require.NoError(t, testStore.SetInvoiceStatus(ctx, id, StatusOverdue, 12_345, t1))
	require.NoError(t, testStore.SetInvoiceStatus(ctx, id, StatusOverdue, 12_345, t1)) // retry
	require.NoError(t, testStore.SetInvoiceStatus(ctx, id, StatusPaid, 0, t2))
	// A late, older change is audited but does not regress the invoice.
	require.NoError(t, testStore.SetInvoiceStatus(ctx, id, StatusPromised, 12_345, t1.Add(time.Hour)))

	inv, err := testStore.GetInvoice(ctx, id)
	require.NoError(t, err)
	require.Equal(t, StatusPaid, inv.Status)
	require.Zero(t, inv.Balance)
	require.NotNil(t, inv.ClosedAt)
	require.True(t, inv.ClosedAt.Equal(t2))

	events, err := testStore.ListInvoiceEvents(ctx, id)
	require.NoError(t, err)
	var statuses []string
	for _, e := range events {
		statuses = append(statuses, e.Status)
	}
	require.Equal(t, []string{StatusOpen, StatusOverdue, StatusPromised, StatusPaid}, statuses)
}

func TestSetInvoiceStatusErrors(t *testing.T) {
	ctx := parallel(t)
	require.ErrorIs(t, testStore.SetInvoiceStatus(ctx, uid("missing"), StatusPaid, 0, t0), ErrNotFound)
	id := issue(t)
	require.ErrorIs(t, testStore.SetInvoiceStatus(ctx, id, "bogus", 0, t0), ErrInvalid)
	require.ErrorIs(t, testStore.SetInvoiceStatus(ctx, id, StatusOpen, -5, t0), ErrInvalid)
	require.ErrorIs(t, testStore.SetInvoiceStatus(ctx, id, StatusOpen, 0, time.Time{}), ErrInvalid)
}

// TestIssueInvoiceConcurrentRepeats: the same invoice issued by several requests at
// once is created by one and found existing (not a conflict) by the others, which wait
// for it.
func TestIssueInvoiceConcurrentRepeats(t *testing.T) {
	ctx := parallel(t)
	id := uid("inv")
	rec := invoiceRecord(id, "body")
	const n = 8
	outs, errs := make([]IssueOutcome, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = testStore.IssueInvoice(ctx, rec)
		}()
	}
	wg.Wait()
	created := 0
	for i := range n {
		require.NoError(t, errs[i])
		if outs[i] == IssueCreated {
			created++
		}
	}
	require.Equal(t, 1, created)
	events, err := testStore.ListInvoiceEvents(ctx, id)
	require.NoError(t, err)
	require.Len(t, events, 1)
}
