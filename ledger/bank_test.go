package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/bank"
	"github.com/dunwell/dunwell/bank/rf"
)

func testBankEvent(id int64, tx *bank.Transaction, a bank.Allocation, _ time.Time) (NewWebhookEvent, error) {
	ev := fmt.Sprintf(`{"id":"bank-%d:%s"}`, id, a.InvoiceID)
	sum := sha256.Sum256([]byte(ev))
	return NewWebhookEvent{Source: "bank", EventID: fmt.Sprintf("bank-%d:%s", id, a.InvoiceID), EventType: "bank.credit", Kind: "payment",
		InvoiceID: a.InvoiceID, PaymentID: fmt.Sprintf("bank-%d", id), Currency: tx.Currency, Amount: a.Amount,
		Event: json.RawMessage(ev), BodySHA256: sum[:]}, nil
}

func bankImport(st bank.Statement) BankImport {
	sum := sha256.Sum256([]byte(st.ID))
	return BankImport{Statement: st, FileSHA256: sum[:], FileBytes: 100, By: "test", Event: testBankEvent}
}

func bankCredit(account, ref string, amount int64, mod func(*bank.Transaction)) bank.Transaction {
	t := bank.Transaction{Account: account, Ref: ref, Entry: "Ntry[" + ref + "]", Credit: true, Booking: bank.Booked,
		Currency: "EUR", Amount: amount, BookedAt: t0.Add(24 * time.Hour)}
	if mod != nil {
		mod(&t)
	}
	return t
}

func bankEvents(t *testing.T, txID int64) []WebhookEvent {
	t.Helper()
	rows, err := testStore.pool.Query(context.Background(), `SELECT `+webhookColumns+` FROM webhook_events
		WHERE source = 'bank' AND payment_id = $1 ORDER BY id`, fmt.Sprintf("bank-%d", txID))
	require.NoError(t, err)
	evs, err := pgx.CollectRows(rows, scanWebhookEvent)
	require.NoError(t, err)
	return evs
}

func TestBankImportStoresOnceMatchesAndQueues(t *testing.T) {
	ctx := parallel(t)
	a, b := issue(t), issue(t) // 123.45 EUR each
	acct := uid("acct")
	st := bank.Statement{Format: bank.FormatCamt053, ID: uid("msg"), Transactions: []bank.Transaction{
		bankCredit(acct, "1", 12345, func(t *bank.Transaction) {
			t.References = []string{rf.ForInvoice(a)}
			t.Payer = bank.Party{Name: "Payer A", Account: "DE" + acct}
		}),
		bankCredit(acct, "2", 5000, func(t *bank.Transaction) { t.Text = "invoice " + b + " part" }),
		bankCredit(acct, "3", 999, nil),
		bankCredit(acct, "4", 700, func(t *bank.Transaction) { t.Credit = false }),
	}}
	res, err := testStore.ImportBankStatement(ctx, bankImport(st))
	require.NoError(t, err)
	require.Equal(t, 4, res.Transactions)
	require.Equal(t, 4, res.New)
	require.Equal(t, 2, res.Applied)
	require.Equal(t, 1, res.Unmatched)
	require.Equal(t, 1, res.Recorded)
	require.Equal(t, BankMatched, res.Items[0].Status)
	require.Equal(t, []bank.Allocation{{InvoiceID: b, Amount: 5000}}, res.Items[1].Allocs)
	require.Equal(t, BankUnmatched, res.Items[2].Status)
	require.Equal(t, BankRecorded, res.Items[3].Status)
	require.Contains(t, res.Items[3].Why, "a debit")

	evs := bankEvents(t, res.Items[0].ID)
	require.Len(t, evs, 1)
	require.Equal(t, a, evs[0].InvoiceID)
	require.Equal(t, int64(12345), evs[0].Amount)
	require.Equal(t, WebhookPending, evs[0].Status)

	// The same file again, and an overlapping one: nothing new, nothing queued twice.
	again, err := testStore.ImportBankStatement(ctx, bankImport(st))
	require.NoError(t, err)
	require.Equal(t, 4, again.Duplicates)
	require.Zero(t, again.New+again.Applied+again.Unmatched)
	require.Equal(t, res.Items[0].ID, again.Items[0].ID)
	require.True(t, again.Items[0].Duplicate)
	require.Len(t, bankEvents(t, res.Items[0].ID), 1)

	// The payer of a transfer that named its invoice is remembered for its customer.
	payers, err := testStore.pool.Query(ctx, `SELECT customer_id FROM bank_payers WHERE payer_key = $1`, "account:DE"+strings.ToUpper(acct))
	require.NoError(t, err)
	var cust []string
	for payers.Next() {
		var c string
		require.NoError(t, payers.Scan(&c))
		cust = append(cust, c)
	}
	require.Equal(t, []string{"cust-" + a}, cust)

	// A second transfer for b sees the balance less what is queued for it.
	more := bank.Statement{Format: bank.FormatCamt053, ID: uid("msg"), Transactions: []bank.Transaction{
		bankCredit(acct, "5", 7345, func(t *bank.Transaction) { t.Text = b }),
	}}
	res2, err := testStore.ImportBankStatement(ctx, bankImport(more))
	require.NoError(t, err)
	require.Equal(t, 1, res2.Applied)
	require.NotContains(t, res2.Items[0].Why, "over-payment")
}

func TestBankImportIsAllOrNothing(t *testing.T) {
	ctx := parallel(t)
	inv := issue(t)
	acct := uid("acct")
	st := bank.Statement{Format: bank.FormatCamt053, ID: uid("msg"), Transactions: []bank.Transaction{
		bankCredit(acct, "1", 100, func(t *bank.Transaction) { t.Text = inv }),
		bankCredit(acct, "2", 100, func(t *bank.Transaction) { t.Currency = "eur" }), // breaks a CHECK
	}}
	_, err := testStore.ImportBankStatement(ctx, bankImport(st))
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "Ntry[2]")
	var n int
	require.NoError(t, testStore.pool.QueryRow(ctx, `SELECT count(*) FROM bank_transactions WHERE account = $1`, acct).Scan(&n))
	require.Zero(t, n)
	require.NoError(t, testStore.pool.QueryRow(ctx, `SELECT count(*) FROM webhook_events WHERE invoice_id = $1`, inv).Scan(&n))
	require.Zero(t, n)

	failing := bankImport(bank.Statement{Format: bank.FormatCamt053, ID: uid("msg"), Transactions: st.Transactions[:1]})
	failing.Event = func(int64, *bank.Transaction, bank.Allocation, time.Time) (NewWebhookEvent, error) {
		return NewWebhookEvent{}, errors.New("no event")
	}
	_, err = testStore.ImportBankStatement(ctx, failing)
	require.ErrorContains(t, err, "no event")
	require.NoError(t, testStore.pool.QueryRow(ctx, `SELECT count(*) FROM bank_transactions WHERE account = $1`, acct).Scan(&n))
	require.Zero(t, n)
}

func TestBankMatchAndIgnore(t *testing.T) {
	ctx := parallel(t)
	a, b := issue(t), issue(t)
	acct := uid("acct")
	st := bank.Statement{Format: bank.FormatCamt053, ID: uid("msg"), Transactions: []bank.Transaction{
		bankCredit(acct, "1", 20000, func(t *bank.Transaction) { t.Payer = bank.Party{Name: "Batch Payer " + acct} }),
		bankCredit(acct, "2", 50, nil),
		bankCredit(acct, "3", 50, nil),
	}}
	res, err := testStore.ImportBankStatement(ctx, bankImport(st))
	require.NoError(t, err)
	require.Equal(t, 3, res.Unmatched)
	id := res.Items[0].ID

	list, err := testStore.ListBankTransactions(ctx, BankUnmatched, id-1, 3)
	require.NoError(t, err)
	require.Equal(t, id, list[0].ID)
	require.Equal(t, "Batch Payer "+acct, list[0].Details.Payer.Name)

	audited := 0
	match := BankMatch{ID: id, By: "ops", Event: testBankEvent,
		Allocations: []bank.Allocation{{InvoiceID: a, Amount: 5000}, {InvoiceID: b, Amount: 15000}},
		Audit: func(BankTransaction) AuditEntry {
			audited++
			return AuditEntry{Action: AuditBankMatch, Outcome: AuditApplied}
		}}
	got, err := testStore.MatchBankTransaction(ctx, match)
	require.NoError(t, err)
	require.Equal(t, BankMatched, got.Status)
	require.Equal(t, "operator", got.Method)
	require.Equal(t, "cust-"+a, got.CustomerID)
	require.Equal(t, 1, audited)
	require.Len(t, bankEvents(t, id), 2)

	_, err = testStore.MatchBankTransaction(ctx, match)
	require.ErrorIs(t, err, ErrBankState)

	// The payer is remembered for a's customer: their next transfer of a's remaining
	// balance matches by itself.
	next := bank.Statement{Format: bank.FormatCamt053, ID: uid("msg"), Transactions: []bank.Transaction{
		bankCredit(acct, "9", 12345-5000, func(t *bank.Transaction) { t.Payer = bank.Party{Name: "batch payer " + acct} }),
	}}
	nres, err := testStore.ImportBankStatement(ctx, bankImport(next))
	require.NoError(t, err)
	require.Equal(t, 1, nres.Applied, nres.Items[0].Why)
	require.Equal(t, []bank.Allocation{{InvoiceID: a, Amount: 12345 - 5000}}, nres.Items[0].Allocs)

	bad := BankMatch{ID: res.Items[1].ID, By: "ops", Event: testBankEvent, Allocations: []bank.Allocation{{InvoiceID: "nope-" + acct, Amount: 50}}}
	_, err = testStore.MatchBankTransaction(ctx, bad)
	var ae *BankAllocationError
	require.ErrorAs(t, err, &ae)
	require.True(t, ae.NotFound)

	ign, err := testStore.IgnoreBankTransaction(ctx, res.Items[2].ID, "refunded to the sender", "ops", nil)
	require.NoError(t, err)
	require.Equal(t, BankIgnored, ign.Status)
	require.Equal(t, "refunded to the sender", ign.IgnoreWhy)
	_, err = testStore.IgnoreBankTransaction(ctx, res.Items[2].ID, "again", "ops", nil)
	require.ErrorIs(t, err, ErrBankState)
	_, err = testStore.IgnoreBankTransaction(ctx, 0, "x", "ops", nil)
	require.ErrorIs(t, err, ErrNotFound)
}
