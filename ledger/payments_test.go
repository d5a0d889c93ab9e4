package ledger

import (
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

func TestRecordPaymentIdempotent(t *testing.T) {
	ctx := parallel(t)
	id := issue(t)
	p := PaymentRecord{
		InvoiceID: id, PaymentID: "pay-1", Currency: "EUR",
		Amount: 20_000, Applied: 12_345, Credit: 7_655, BalanceAfter: 0,
		PaidAt: t0.Add(time.Hour), AppliedAt: t0.Add(2 * time.Hour),
	}
	inserted, err := testStore.RecordPayment(ctx, p)
	require.NoError(t, err)
	require.True(t, inserted)
	inserted, err = testStore.RecordPayment(ctx, p)
	require.NoError(t, err)
	require.False(t, inserted)

	list, err := testStore.ListPayments(ctx, id)
	require.NoError(t, err)
	require.Equal(t, []PaymentRecord{p}, list)

	_, err = testStore.RecordPayment(ctx, PaymentRecord{
		InvoiceID: uid("missing"), PaymentID: "p", Currency: "EUR", Amount: 1, Applied: 1,
		PaidAt: t0, AppliedAt: t0,
	})
	require.ErrorIs(t, err, ErrNotFound)

	bad := p
	bad.PaymentID, bad.Applied = "pay-2", -1
	_, err = testStore.RecordPayment(ctx, bad)
	require.ErrorIs(t, err, ErrInvalid)
}

func TestRecordEscalationIdempotent(t *testing.T) {
	ctx := parallel(t)
	id := issue(t)
	e := EscalationRecord{
		InvoiceID: id, CustomerID: "cust-" + id, Target: TargetAgency, Currency: "EUR",
		Balance: 12_345, DueDate: "2026-03-31", EscalatedAt: t0.Add(90 * 24 * time.Hour),
	}
	inserted, err := testStore.RecordEscalation(ctx, e)
	require.NoError(t, err)
	require.True(t, inserted)
	again := e
	again.Target = TargetLegal
	inserted, err = testStore.RecordEscalation(ctx, again)
	require.NoError(t, err)
	require.False(t, inserted, "one hand-off per invoice")

	got, err := testStore.GetEscalation(ctx, id)
	require.NoError(t, err)
	require.Equal(t, e, got.EscalationRecord)
	require.Equal(t, EscalationPending, got.Status)

	_, err = testStore.GetEscalation(ctx, uid("missing"))
	require.ErrorIs(t, err, ErrNotFound)
	bad := e
	bad.InvoiceID, bad.Target = issue(t), "court"
	_, err = testStore.RecordEscalation(ctx, bad)
	require.ErrorIs(t, err, ErrInvalid)
}

// TestCheckConstraints bypasses the Go-side validation to show the schema itself
// refuses negative money and unknown enum values.
func TestCheckConstraints(t *testing.T) {
	ctx := parallel(t)
	id := issue(t)
	hash := make([]byte, 32)
	for name, q := range map[string]struct {
		sql  string
		args []any
	}{
		"negative amount due": {`INSERT INTO invoices (invoice_id, customer_id, currency, amount_due_minor,
			issued_at, due_date, policy_id, policy_version, body_sha256, balance_minor, status_at)
			VALUES ($1, 'c', 'EUR', -1, now(), '2026-01-01', 'p', 1, $2, 0, now())`, []any{uid("inv"), hash}},
		"negative balance": {`UPDATE invoices SET balance_minor = -1 WHERE invoice_id = $1`, []any{id}},
		"unknown status":   {`UPDATE invoices SET status = 'lost' WHERE invoice_id = $1`, []any{id}},
		"negative payment": {`INSERT INTO payments (invoice_id, payment_id, currency, amount_minor,
			applied_minor, credit_minor, balance_after_minor, paid_at, applied_at)
			VALUES ($1, 'p', 'EUR', -5, -5, 0, 0, now(), now())`, []any{id}},
		"unbalanced payment": {`INSERT INTO payments (invoice_id, payment_id, currency, amount_minor,
			applied_minor, credit_minor, balance_after_minor, paid_at, applied_at)
			VALUES ($1, 'p', 'EUR', 5, 1, 1, 0, now(), now())`, []any{id}},
		"negative escalation": {`INSERT INTO escalations (invoice_id, customer_id, target, currency,
			balance_minor, due_date, escalated_at)
			VALUES ($1, 'c', 'agency', 'EUR', -1, '2026-01-01', now())`, []any{id}},
		"unknown target": {`INSERT INTO escalations (invoice_id, customer_id, target, currency,
			balance_minor, due_date, escalated_at)
			VALUES ($1, 'c', 'court', 'EUR', 1, '2026-01-01', now())`, []any{id}},
		"unknown notice status": {`INSERT INTO notices (notice_key, invoice_id, step, channel, status,
			attempts, claimed_at, updated_at)
			VALUES ($1 || '/s/email', $1, 's', 'email', 'lost', 1, now(), now())`, []any{id}},
		"lowercase currency": {`UPDATE invoices SET currency = 'eur' WHERE invoice_id = $1`, []any{id}},
	} {
		_, err := testStore.pool.Exec(ctx, q.sql, q.args...)
		var pgErr *pgconn.PgError
		require.True(t, errors.As(err, &pgErr), "%s: want a PostgreSQL error, got %v", name, err)
		require.Equal(t, pgCheckViolation, pgErr.Code, "%s: %v", name, err)
	}
}

func TestRecordPaymentKeepsInvoiceBalance(t *testing.T) {
	ctx := parallel(t)
	id := issue(t) // 12 345 due
	pay := func(pid string, amount, applied int64) {
		t.Helper()
		_, err := testStore.RecordPayment(ctx, PaymentRecord{InvoiceID: id, PaymentID: pid, Currency: "EUR",
			Amount: amount, Applied: applied, Credit: amount - applied, PaidAt: t0.Add(time.Hour), AppliedAt: t0.Add(time.Hour)})
		require.NoError(t, err)
	}
	pay("p1", 2_345, 2_345)
	inv, err := testStore.GetInvoice(ctx, id)
	require.NoError(t, err)
	require.Equal(t, int64(10_000), inv.Balance)
	pay("p1", 2_345, 2_345) // a repeat changes nothing
	pay("p2", 11_000, 10_000)
	inv, err = testStore.GetInvoice(ctx, id)
	require.NoError(t, err)
	require.Equal(t, int64(0), inv.Balance)
}

func TestRecordPaymentAndEscalationRecordTheirStatus(t *testing.T) {
	ctx := parallel(t)
	id := issue(t)
	at := t0.Add(3 * time.Hour)
	_, err := testStore.RecordEscalation(ctx, EscalationRecord{
		InvoiceID: id, CustomerID: "cust-" + id, Target: TargetAgency, Currency: "EUR",
		Balance: 12_345, DueDate: "2026-03-31", EscalatedAt: at, SetStatus: true,
	})
	require.NoError(t, err)
	inv, err := testStore.GetInvoice(ctx, id)
	require.NoError(t, err)
	require.Equal(t, StatusEscalated, inv.Status)
	require.Nil(t, inv.ClosedAt)

	_, err = testStore.RecordPayment(ctx, PaymentRecord{
		InvoiceID: id, PaymentID: "all", Currency: "EUR", Amount: 12_345, Applied: 12_345,
		BalanceAfter: 0, PaidAt: at.Add(time.Hour), AppliedAt: at.Add(time.Hour), Status: StatusPaid,
	})
	require.NoError(t, err)
	inv, err = testStore.GetInvoice(ctx, id)
	require.NoError(t, err)
	require.Equal(t, StatusPaid, inv.Status)
	require.NotNil(t, inv.ClosedAt)
	require.EqualValues(t, 0, inv.Balance)

	_, err = testStore.RecordPayment(ctx, PaymentRecord{
		InvoiceID: id, PaymentID: "bad", Currency: "EUR", Amount: 1, Applied: 0, Credit: 1,
		PaidAt: at, AppliedAt: at, Status: "done",
	})
	require.ErrorIs(t, err, ErrInvalid)
}

// TestRecordPaymentWithStatus: a payment that carries a status records it with the
// payment (event, status, balance, closed_at) and closes the invoice's open tasks; a
// repeat changes nothing; a newer status stored keeps its place while the balance
// still follows the payments.
func TestRecordPaymentWithStatus(t *testing.T) {
	ctx := parallel(t)
	id := issue(t) // 12 345 due
	task, _, err := testStore.CreateTask(ctx, callTask(id))
	require.NoError(t, err)
	at := time.Now().UTC().Add(time.Hour).Truncate(time.Microsecond)
	paid := PaymentRecord{InvoiceID: id, PaymentID: "all", Currency: "EUR", Amount: 12_345, Applied: 12_345,
		BalanceAfter: 0, PaidAt: at, AppliedAt: at, Status: StatusPaid}
	for range 2 { // the second is a repeat
		_, err = testStore.RecordPayment(ctx, paid)
		require.NoError(t, err)
	}
	inv, err := testStore.GetInvoice(ctx, id)
	require.NoError(t, err)
	require.Equal(t, StatusPaid, inv.Status)
	require.EqualValues(t, 0, inv.Balance)
	require.NotNil(t, inv.ClosedAt)
	require.True(t, inv.ClosedAt.Equal(at))
	require.True(t, inv.StatusAt.Equal(at))
	events, err := testStore.ListInvoiceEvents(ctx, id)
	require.NoError(t, err)
	require.Len(t, events, 2, "open, then paid once")
	require.Equal(t, StatusPaid, events[1].Status)
	got, err := testStore.GetTask(ctx, task.ID)
	require.NoError(t, err)
	require.Equal(t, TaskClosed, got.Status)
	require.Equal(t, "the invoice was paid", got.ClosedReason)

	// A status newer than the payment's is stored: it stays, the balance follows.
	other := issue(t)
	require.NoError(t, testStore.SetInvoiceStatus(ctx, other, StatusEscalated, 12_345, at.Add(time.Hour)))
	inserted, err := testStore.RecordPayment(ctx, PaymentRecord{InvoiceID: other, PaymentID: "part", Currency: "EUR",
		Amount: 345, Applied: 345, BalanceAfter: 12_000, PaidAt: at, AppliedAt: at, Status: StatusOverdue})
	require.NoError(t, err)
	require.True(t, inserted)
	inv, err = testStore.GetInvoice(ctx, other)
	require.NoError(t, err)
	require.Equal(t, StatusEscalated, inv.Status)
	require.EqualValues(t, 12_000, inv.Balance)
	require.Nil(t, inv.ClosedAt)

	_, err = testStore.RecordPayment(ctx, PaymentRecord{InvoiceID: uid("nope"), PaymentID: "p", Currency: "EUR",
		Amount: 1, Applied: 1, PaidAt: at, AppliedAt: at, Status: StatusPaid})
	require.ErrorIs(t, err, ErrNotFound)
}
