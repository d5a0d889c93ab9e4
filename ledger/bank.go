package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dunwell/dunwell/bank"
)

// BankStatus is where a stored bank transaction stands.
type BankStatus string

// Bank transaction statuses.
const (
	// BankRecorded: not money received (a debit, a reversal, not booked): kept, never applied.
	BankRecorded  BankStatus = "recorded"
	BankMatched   BankStatus = "matched"   // allocated to invoices; the forwarder applies them
	BankUnmatched BankStatus = "unmatched" // waiting for an operator
	BankIgnored   BankStatus = "ignored"   // an operator said why
)

// Audit actions of cash application.
const (
	AuditBankImport = "bank.import"
	AuditBankMatch  = "bank.match"
	AuditBankIgnore = "bank.ignore"
)

// ErrBankState means the bank transaction is not in a state that allows the change
// (matching one that is matched, ignoring one that is recorded, ...).
var ErrBankState = errors.New("bank transaction is not waiting for an operator")

// bankTimeout bounds one import: a large statement is thousands of rows in one
// transaction.
const bankTimeout = 2 * time.Minute

// closedWindow is how long after closing an invoice is still given to the matcher,
// so that a late transfer for it is explained rather than left without a clue.
const closedWindow = 180 * 24 * time.Hour

// BankEvent builds the outbox event (source "bank", a payment) that applies one
// allocation of bank transaction id; issuedAt is the invoice's, to date the payment
// no earlier than it. The API supplies it, so that the ledger does not know the
// webhook event's shape.
type BankEvent func(id int64, tx *bank.Transaction, a bank.Allocation, issuedAt time.Time) (NewWebhookEvent, error)

// BankImport is one statement to import.
type BankImport struct {
	Statement  bank.Statement
	FileSHA256 []byte
	FileBytes  int64
	By         string // who imports it (the key's name)
	Matching   bank.Config
	Event      BankEvent
	// Audit, when not nil, makes the import's audit entry from its result; it is
	// written in the import's transaction.
	Audit func(BankImportResult) AuditEntry
}

// BankImportResult says what an import did.
type BankImportResult struct {
	ImportID     int64            `json:"import_id"`
	Format       string           `json:"format"`
	MessageID    string           `json:"message_id,omitempty"`
	Transactions int              `json:"transactions"`
	New          int              `json:"new"`
	Duplicates   int              `json:"duplicates"`
	Applied      int              `json:"applied"`
	Unmatched    int              `json:"unmatched"`
	Recorded     int              `json:"recorded"`
	Items        []BankImportItem `json:"items"`
}

// BankImportItem is one transaction of an import.
type BankImportItem struct {
	ID        int64             `json:"id"`
	Entry     string            `json:"entry"`
	BankRef   string            `json:"bank_ref"`
	Status    BankStatus        `json:"status"`
	Duplicate bool              `json:"duplicate,omitempty"`
	Why       string            `json:"why,omitempty"`
	Allocs    []bank.Allocation `json:"allocations,omitempty"`
}

// ImportBankStatement stores every transaction of the statement that is not stored
// yet (by account and bank reference), matches the new booked credits against the
// open invoices, and queues the confident matches in the webhook outbox for the
// forwarder: all in one transaction, so an import is stored whole or not at all, and
// nothing is applied that is not stored. Imports run one at a time (an advisory
// lock), so two overlapping files cannot both allocate the same balance.
func (s *Store) ImportBankStatement(ctx context.Context, in BankImport) (BankImportResult, error) {
	const op = "import bank statement"
	st := &in.Statement
	res := BankImportResult{Format: string(st.Format), MessageID: st.ID, Transactions: len(st.Transactions), Items: []BankImportItem{}}
	switch {
	case len(in.FileSHA256) != 32:
		return res, invalid(op, "file hash must be 32 bytes")
	case in.Event == nil:
		return res, invalid(op, "no event builder")
	}
	ctx, cancel := context.WithTimeout(ctx, bankTimeout)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('dunwell.bank_import'))`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO bank_imports (format, message_id, file_sha256, file_bytes, transactions, new, applied, unmatched, imported_by)
			VALUES ($1, $2, $3, $4, $5, 0, 0, 0, $6) RETURNING id`,
			st.Format, st.ID, in.FileSHA256, in.FileBytes, len(st.Transactions), in.By).Scan(&res.ImportID); err != nil {
			return err
		}
		var fresh []int // indexes of new, applicable transactions
		explain := bank.NewMatcher(nil, nil, in.Matching)
		ids := make([]int64, len(st.Transactions))
		for i := range st.Transactions {
			t := &st.Transactions[i]
			details, err := json.Marshal(t)
			if err != nil {
				return err
			}
			status := BankRecorded
			if t.Applicable() {
				status = BankUnmatched
			}
			var (
				got   BankStatus
				isNew bool
				why   string
			)
			if err := tx.QueryRow(ctx, `
				WITH ins AS (
					INSERT INTO bank_transactions (account, bank_ref, import_id, format, entry, credit, booking, reversal,
						currency, amount_minor, booked_at, details, status)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
					ON CONFLICT (account, bank_ref) DO NOTHING
					RETURNING id, status, why)
				SELECT id, status, why, true FROM ins
				UNION ALL
				SELECT id, status, why, false FROM bank_transactions WHERE account = $1 AND bank_ref = $2 AND NOT EXISTS (SELECT 1 FROM ins)`,
				t.Account, t.Ref, res.ImportID, st.Format, t.Entry, t.Credit, t.Booking, t.Reversal,
				t.Currency, t.Amount, nullTime(t.BookedAt), details, status).Scan(&ids[i], &got, &why, &isNew); err != nil {
				return fmt.Errorf("%s: %w", t.Entry, err)
			}
			item := BankImportItem{ID: ids[i], Entry: t.Entry, BankRef: t.Ref, Status: got, Duplicate: !isNew, Why: why}
			res.Items = append(res.Items, item)
			switch {
			case !isNew:
				res.Duplicates++
			case t.Applicable():
				fresh = append(fresh, i)
			default:
				res.Recorded++
				res.Items[i].Why = explain.Match(t).Why
				if _, err := tx.Exec(ctx, `UPDATE bank_transactions SET why = $2 WHERE id = $1`, ids[i], res.Items[i].Why); err != nil {
					return err
				}
			}
		}
		res.New = res.Transactions - res.Duplicates
		if len(fresh) > 0 {
			if err := s.matchImport(ctx, tx, &in, fresh, ids, &res); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE bank_imports SET new = $2, applied = $3, unmatched = $4 WHERE id = $1`,
			res.ImportID, res.New, res.Applied, res.Unmatched); err != nil {
			return err
		}
		if in.Audit != nil {
			if _, err := insertAudit(ctx, tx, in.Audit(res)); err != nil {
				return err
			}
		}
		return nil
	})
	return res, wrap(op, err)
}

// matchImport decides the new booked credits of an import and records the decisions.
func (s *Store) matchImport(ctx context.Context, tx pgx.Tx, in *BankImport, fresh []int, ids []int64, res *BankImportResult) error {
	st := &in.Statement
	currencies := map[string]bool{}
	var keys []string
	for _, i := range fresh {
		currencies[st.Transactions[i].Currency] = true
		keys = append(keys, bank.PayerKeys(st.Transactions[i].Payer)...)
	}
	curList := make([]string, 0, len(currencies))
	for c := range currencies {
		curList = append(curList, c)
	}
	invoices, err := bankInvoices(ctx, tx, `WHERE i.currency = ANY($1) AND (i.closed_at IS NULL OR i.closed_at > now() - $2 * interval '1 second')`,
		curList, int64(closedWindow.Seconds()))
	if err != nil {
		return err
	}
	payers, err := bankPayers(ctx, tx, keys)
	if err != nil {
		return err
	}
	issued := make(map[string]*bank.Invoice, len(invoices))
	for k := range invoices {
		issued[invoices[k].ID] = &invoices[k]
	}
	m := bank.NewMatcher(invoices, payers, in.Matching)
	for _, i := range fresh {
		t := &st.Transactions[i]
		d := m.Match(t)
		res.Items[i].Why = d.Why
		if !d.Apply {
			res.Unmatched++
			if err := setBankDecision(ctx, tx, ids[i], BankUnmatched, d, ""); err != nil {
				return err
			}
			continue
		}
		res.Applied++
		res.Items[i].Status, res.Items[i].Allocs = BankMatched, d.Allocations
		customer := ""
		for _, a := range d.Allocations {
			inv := issued[a.InvoiceID]
			if customer == "" {
				customer = inv.CustomerID
			} else if customer != inv.CustomerID {
				customer = "*"
			}
			if err := queueBankEvent(ctx, tx, in.Event, ids[i], t, a, inv.IssuedAt); err != nil {
				return err
			}
		}
		if customer == "*" {
			customer = ""
		}
		if err := setBankDecision(ctx, tx, ids[i], BankMatched, d, customer); err != nil {
			return err
		}
		// A transfer that named its invoice teaches who the payer is; a payer match
		// learned nothing new.
		if customer != "" && d.Method != bank.MethodPayer {
			if err := rememberPayer(ctx, tx, t.Payer, customer, "auto: "+string(d.Method), false); err != nil {
				return err
			}
		}
	}
	return nil
}

func setBankDecision(ctx context.Context, tx pgx.Tx, id int64, status BankStatus, d bank.Decision, customer string) error {
	sugg, _ := json.Marshal(nonNil(d.Suggestions))   // plain data
	allocs, _ := json.Marshal(nonNil(d.Allocations)) // plain data
	_, err := tx.Exec(ctx, `UPDATE bank_transactions SET status = $2, method = $3, confidence = $4, why = left($5, 2000),
			suggestions = $6, allocations = $7, customer_id = $8,
			matched_at = CASE WHEN $2 = 'matched' THEN now() END, updated_at = now()
		WHERE id = $1`, id, status, d.Method, d.Confidence, d.Why, sugg, allocs, customer)
	return err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func queueBankEvent(ctx context.Context, tx pgx.Tx, build BankEvent, id int64, t *bank.Transaction, a bank.Allocation, issuedAt time.Time) error {
	e, err := build(id, t, a, issuedAt)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO webhook_events (source, event_id, event_type, kind, invoice_id, payment_id, dispute_id,
			currency, amount_minor, event, body_sha256)
		VALUES ($1, $2, $3, $4, $5, $6, '', $7, $8, $9, $10)`,
		e.Source, e.EventID, e.EventType, e.Kind, e.InvoiceID, e.PaymentID, e.Currency, e.Amount, []byte(e.Event), e.BodySHA256)
	return err
}

func rememberPayer(ctx context.Context, tx pgx.Tx, p bank.Party, customer, by string, override bool) error {
	conflict := `DO NOTHING`
	if override {
		conflict = `DO UPDATE SET customer_id = excluded.customer_id, learned_at = now(), learned_by = excluded.learned_by`
	}
	for _, k := range bank.PayerKeys(p) {
		if len(k) > 200 {
			continue
		}
		if _, err := tx.Exec(ctx, `INSERT INTO bank_payers (payer_key, customer_id, learned_by) VALUES ($1, $2, $3)
			ON CONFLICT (payer_key) `+conflict, k, customer, by); err != nil {
			return err
		}
	}
	return nil
}

// bankInvoices reads invoices for matching: the ledger's balance less the payments
// queued in the outbox and not applied yet, so that a second import does not count
// a balance the first one already paid.
func bankInvoices(ctx context.Context, q pgx.Tx, where string, args ...any) ([]bank.Invoice, error) {
	rows, err := q.Query(ctx, `
		SELECT i.invoice_id, i.customer_id, i.currency,
			greatest(0, i.balance_minor - coalesce((SELECT sum(w.amount_minor) FROM webhook_events w
				WHERE w.invoice_id = i.invoice_id AND w.kind = 'payment' AND w.status IN ('pending', 'held')), 0))::bigint,
			i.issued_at, i.status, i.closed_at IS NOT NULL
		FROM invoices i `+where, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (bank.Invoice, error) {
		var inv bank.Invoice
		err := row.Scan(&inv.ID, &inv.CustomerID, &inv.Currency, &inv.Balance, &inv.IssuedAt, &inv.Status, &inv.Closed)
		return inv, err
	})
}

func bankPayers(ctx context.Context, q pgx.Tx, keys []string) (map[string]string, error) {
	out := map[string]string{}
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT payer_key, customer_id FROM bank_payers WHERE payer_key = ANY($1)`, keys)
	if err != nil {
		return nil, err
	}
	var k, c string
	_, err = pgx.ForEachRow(rows, []any{&k, &c}, func() error { out[k] = c; return nil })
	return out, err
}

// BankTransaction is a stored bank transaction, as the unmatched queue shows it.
type BankTransaction struct {
	ID          int64             `json:"id"`
	Account     string            `json:"account"`
	BankRef     string            `json:"bank_ref"`
	ImportID    int64             `json:"import_id"`
	Format      string            `json:"format"`
	Entry       string            `json:"entry"`
	Credit      bool              `json:"credit"`
	Booking     string            `json:"booking"`
	Reversal    bool              `json:"reversal,omitempty"`
	Currency    string            `json:"currency"`
	Amount      int64             `json:"amount_minor"`
	BookedAt    *time.Time        `json:"booked_at,omitempty"`
	Details     bank.Transaction  `json:"-"`
	Status      BankStatus        `json:"status"`
	Method      string            `json:"method,omitempty"`
	Confidence  int               `json:"confidence"`
	Why         string            `json:"why,omitempty"`
	Suggestions []bank.Suggestion `json:"suggestions"`
	Allocations []bank.Allocation `json:"allocations"`
	CustomerID  string            `json:"customer_id,omitempty"`
	MatchedAt   *time.Time        `json:"matched_at,omitempty"`
	MatchedBy   string            `json:"matched_by,omitempty"`
	IgnoreWhy   string            `json:"ignore_reason,omitempty"`
	ImportedAt  time.Time         `json:"imported_at"`
	// Applied counts the allocations the forwarder has applied (their webhook
	// events); AppliedAt is when the last one was.
	Applied   int        `json:"applied"`
	AppliedAt *time.Time `json:"applied_at,omitempty"`
}

const bankColumns = `t.id, t.account, t.bank_ref, t.import_id, t.format, t.entry, t.credit, t.booking, t.reversal, t.currency,
	t.amount_minor, t.booked_at, t.details, t.status, t.method, t.confidence, t.why, t.suggestions, t.allocations,
	t.customer_id, t.matched_at, t.matched_by, t.ignore_reason, t.imported_at,
	(SELECT count(*) FROM webhook_events w WHERE w.source = 'bank' AND w.payment_id = 'bank-' || t.id AND w.status = 'applied')::int,
	(SELECT max(w.applied_at) FROM webhook_events w WHERE w.source = 'bank' AND w.payment_id = 'bank-' || t.id)`

func scanBankTransaction(row pgx.CollectableRow) (BankTransaction, error) {
	var b BankTransaction
	var details, sugg, allocs []byte
	err := row.Scan(&b.ID, &b.Account, &b.BankRef, &b.ImportID, &b.Format, &b.Entry, &b.Credit, &b.Booking, &b.Reversal,
		&b.Currency, &b.Amount, &b.BookedAt, &details, &b.Status, &b.Method, &b.Confidence, &b.Why, &sugg, &allocs,
		&b.CustomerID, &b.MatchedAt, &b.MatchedBy, &b.IgnoreWhy, &b.ImportedAt, &b.Applied, &b.AppliedAt)
	if err != nil {
		return b, err
	}
	if err := json.Unmarshal(details, &b.Details); err != nil {
		return b, err
	}
	b.Suggestions, b.Allocations = []bank.Suggestion{}, []bank.Allocation{}
	if err := json.Unmarshal(sugg, &b.Suggestions); err != nil {
		return b, err
	}
	if err := json.Unmarshal(allocs, &b.Allocations); err != nil {
		return b, err
	}
	b.ImportedAt = b.ImportedAt.UTC()
	b.BookedAt, b.MatchedAt, b.AppliedAt = utcPtr(b.BookedAt), utcPtr(b.MatchedAt), utcPtr(b.AppliedAt)
	return b, nil
}

// ListBankTransactions returns up to limit transactions in status, oldest first, from
// after the id after (0 for the start).
func (s *Store) ListBankTransactions(ctx context.Context, status BankStatus, after int64, limit int) ([]BankTransaction, error) {
	const op = "list bank transactions"
	if limit <= 0 {
		return nil, invalid(op, "limit must be positive")
	}
	return queryRows(ctx, s, op, scanBankTransaction, `SELECT `+bankColumns+` FROM bank_transactions t
		WHERE t.status = $1 AND t.id > $2 ORDER BY t.id LIMIT $3`, status, after, limit)
}

// GetBankTransaction returns one stored bank transaction, or ErrNotFound.
func (s *Store) GetBankTransaction(ctx context.Context, id int64) (BankTransaction, error) {
	return queryOne(ctx, s, "get bank transaction", scanBankTransaction,
		`SELECT `+bankColumns+` FROM bank_transactions t WHERE t.id = $1`, id)
}

// BankMatch is an operator's match of an unmatched transaction.
type BankMatch struct {
	ID int64
	// Allocations, with amounts adding up to the transaction's; or InvoiceIDs, among
	// which the amount is spread like the matcher does (bank.Allocate: in order, each
	// up to its balance, the rest on the last).
	Allocations []bank.Allocation
	InvoiceIDs  []string
	By          string
	Event       BankEvent
	// Audit makes the entry from the matched transaction, written in the same
	// transaction.
	Audit func(BankTransaction) AuditEntry
}

// MatchBankTransaction applies an unmatched transaction to the invoices of
// m.Allocations through the outbox, remembers its payer for the (first) invoice's
// customer, and audits it, all at once. ErrNotFound for an unknown transaction or
// invoice, ErrBankState if it is not unmatched, ErrInvalid for an invoice in another
// currency or closed (with the invoice named).
func (s *Store) MatchBankTransaction(ctx context.Context, m BankMatch) (BankTransaction, error) {
	const op = "match bank transaction"
	if (len(m.Allocations) == 0) == (len(m.InvoiceIDs) == 0) || m.Event == nil {
		return BankTransaction{}, invalid(op, "allocations or invoice ids (one of them), and an event builder, are required")
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var out BankTransaction
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+bankColumns+` FROM bank_transactions t WHERE t.id = $1 FOR UPDATE OF t`, m.ID)
		if err != nil {
			return err
		}
		bt, err := pgx.CollectExactlyOneRow(rows, scanBankTransaction)
		if err != nil {
			return err
		}
		if bt.Status != BankUnmatched {
			return fmt.Errorf("transaction %d is %s: %w", m.ID, bt.Status, ErrBankState)
		}
		ids := m.InvoiceIDs
		if len(ids) == 0 {
			ids = make([]string, len(m.Allocations))
			for i, a := range m.Allocations {
				ids[i] = a.InvoiceID
			}
		}
		invs, err := bankInvoices(ctx, tx, `WHERE i.invoice_id = ANY($1)`, ids)
		if err != nil {
			return err
		}
		byID := map[string]*bank.Invoice{}
		for i := range invs {
			byID[invs[i].ID] = &invs[i]
		}
		customer := ""
		var chosen []*bank.Invoice
		for i, id := range ids {
			inv, ok := byID[id]
			switch {
			case !ok:
				return &BankAllocationError{Index: i, InvoiceID: id, Reason: "unknown invoice", NotFound: true}
			case inv.Currency != bt.Currency:
				return &BankAllocationError{Index: i, InvoiceID: id, Reason: fmt.Sprintf("the invoice is in %s, the transfer in %s", inv.Currency, bt.Currency)}
			case inv.Closed:
				return &BankAllocationError{Index: i, InvoiceID: id, Reason: fmt.Sprintf("the invoice is %s (closed) and takes no payment; match an open invoice of the customer (the surplus is kept there as credit) or ignore the transfer with the refund as reason", inv.Status)}
			}
			if customer == "" {
				customer = inv.CustomerID
			}
			chosen = append(chosen, inv)
		}
		allocations := m.Allocations
		if len(allocations) == 0 {
			allocations = bank.Allocate(bt.Amount, chosen)
		}
		var sum int64
		for _, a := range allocations {
			sum += a.Amount
		}
		if sum != bt.Amount {
			return &BankAllocationError{Index: -1, Reason: fmt.Sprintf("the allocations add up to %d but the transfer is %d (minor units)", sum, bt.Amount)}
		}
		for _, a := range allocations {
			if err := queueBankEvent(ctx, tx, m.Event, bt.ID, &bt.Details, a, byID[a.InvoiceID].IssuedAt); err != nil {
				return err
			}
		}
		allocs, _ := json.Marshal(allocations) // plain data
		if _, err := tx.Exec(ctx, `UPDATE bank_transactions SET status = 'matched', method = 'operator', confidence = 100,
				allocations = $2, customer_id = $3, matched_at = now(), matched_by = $4, updated_at = now()
			WHERE id = $1`, bt.ID, allocs, customer, m.By); err != nil {
			return err
		}
		if err := rememberPayer(ctx, tx, bt.Details.Payer, customer, m.By, true); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT `+bankColumns+` FROM bank_transactions t WHERE t.id = $1`, bt.ID)
		if err != nil {
			return err
		}
		if out, err = pgx.CollectExactlyOneRow(rows, scanBankTransaction); err != nil {
			return err
		}
		if m.Audit != nil {
			_, err = insertAudit(ctx, tx, m.Audit(out))
		}
		return err
	})
	var ae *BankAllocationError
	if errors.As(err, &ae) || errors.Is(err, ErrBankState) {
		return out, err
	}
	return out, wrap(op, err)
}

// BankAllocationError is an allocation an operator asked for that cannot be made.
type BankAllocationError struct {
	Index     int
	InvoiceID string
	Reason    string
	NotFound  bool
}

func (e *BankAllocationError) Error() string {
	if e.Index < 0 {
		return e.Reason
	}
	return fmt.Sprintf("allocation %d (invoice %s): %s", e.Index, e.InvoiceID, e.Reason)
}

// IgnoreBankTransaction sets an unmatched transaction aside with the operator's
// reason, audited in the same transaction. ErrNotFound, or ErrBankState when it is
// not unmatched.
func (s *Store) IgnoreBankTransaction(ctx context.Context, id int64, reason, by string, audit func(BankTransaction) AuditEntry) (BankTransaction, error) {
	const op = "ignore bank transaction"
	if reason == "" || len(reason) > 500 {
		return BankTransaction{}, invalid(op, "reason must be 1-500 bytes")
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var out BankTransaction
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var status BankStatus
		if err := tx.QueryRow(ctx, `SELECT status FROM bank_transactions WHERE id = $1 FOR UPDATE`, id).Scan(&status); err != nil {
			return err
		}
		if status != BankUnmatched {
			return fmt.Errorf("transaction %d is %s: %w", id, status, ErrBankState)
		}
		rows, err := tx.Query(ctx, `UPDATE bank_transactions t SET status = 'ignored', ignore_reason = $2, matched_by = $3, updated_at = now()
			WHERE t.id = $1 RETURNING `+bankColumns, id, reason, by)
		if err != nil {
			return err
		}
		if out, err = pgx.CollectExactlyOneRow(rows, scanBankTransaction); err != nil {
			return err
		}
		if audit != nil {
			_, err = insertAudit(ctx, tx, audit(out))
		}
		return err
	})
	if errors.Is(err, ErrBankState) {
		return out, err
	}
	return out, wrap(op, err)
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
