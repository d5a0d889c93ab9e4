package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// maxStatementInvoices bounds the invoices one statement reads.
const maxStatementInvoices = 5_000

// CustomerAccount is what the ledger holds about one customer for a statement: the
// invoices that were open at some time in the period, and their payments and
// adjustments up to its end.
type CustomerAccount struct {
	CustomerID  string
	Invoices    []Invoice
	Payments    []PaymentRecord
	Adjustments []InvoiceAdjustment
	// InterestLines are, per invoice, the interest lines recorded with its latest
	// interest_charged event before the end (reference-rate interest only).
	InterestLines []InvoiceInterestLines
}

// InvoiceInterestLines is the "interest_lines" detail of an invoice's interest_charged
// event: the half-year lines (collection.InterestLineView, as JSON) of the interest
// booked by At.
type InvoiceInterestLines struct {
	InvoiceID string
	At        time.Time
	Lines     json.RawMessage
}

// InvoiceAdjustment is an adjustment with the invoice it belongs to.
type InvoiceAdjustment struct {
	InvoiceID string
	Adjustment
}

// ReadCustomerAccount reads, in one consistent snapshot, the customer's invoices
// issued before end and not closed before since (zero: any), with their payments
// paid and adjustments made before end. A customer without any invoice is
// ErrNotFound; one whose invoices were all closed before since has an empty list.
func (s *Store) ReadCustomerAccount(ctx context.Context, customerID string, since, end time.Time) (CustomerAccount, error) {
	const op = "read customer account"
	if customerID == "" || end.IsZero() {
		return CustomerAccount{}, invalid(op, "customer id and end are required")
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	acc := CustomerAccount{CustomerID: customerID}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var known bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM invoices WHERE customer_id = $1)`, customerID).Scan(&known); err != nil {
			return err
		}
		if !known {
			return fmt.Errorf("customer %s: %w", customerID, ErrNotFound)
		}
		var sinceArg *time.Time
		if !since.IsZero() {
			sinceArg = &since
		}
		rows, err := tx.Query(ctx, `
			SELECT invoice_id, customer_id, currency, amount_due_minor, issued_at, due_date,
				policy_id, policy_version, segment, body_sha256, status, balance_minor,
				status_at, created_at, updated_at, closed_at
			FROM invoices
			WHERE customer_id = $1 AND issued_at < $2
				AND ($3::timestamptz IS NULL OR closed_at IS NULL OR closed_at >= $3)
			ORDER BY due_date, invoice_id LIMIT $4`, customerID, end, sinceArg, maxStatementInvoices)
		if err != nil {
			return err
		}
		if acc.Invoices, err = pgx.CollectRows(rows, scanInvoice); err != nil {
			return err
		}
		ids := make([]string, len(acc.Invoices))
		for i, inv := range acc.Invoices {
			ids[i] = inv.InvoiceID
		}
		rows, err = tx.Query(ctx, `
			SELECT invoice_id, payment_id, currency, amount_minor, applied_minor, credit_minor,
				balance_after_minor, paid_at, applied_at
			FROM payments WHERE invoice_id = ANY($1) AND paid_at < $2
			ORDER BY paid_at, invoice_id, payment_id`, ids, end)
		if err != nil {
			return err
		}
		acc.Payments, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (PaymentRecord, error) {
			var p PaymentRecord
			err := row.Scan(&p.InvoiceID, &p.PaymentID, &p.Currency, &p.Amount, &p.Applied,
				&p.Credit, &p.BalanceAfter, &p.PaidAt, &p.AppliedAt)
			p.PaidAt, p.AppliedAt = p.PaidAt.UTC(), p.AppliedAt.UTC()
			return p, err
		})
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `
			SELECT invoice_id, adjustment_id, kind, currency, amount_minor, credit_minor,
				balance_after_minor, payment_id, reason, actor, at
			FROM adjustments WHERE invoice_id = ANY($1) AND at < $2
			ORDER BY at, invoice_id, adjustment_id`, ids, end)
		if err != nil {
			return err
		}
		acc.Adjustments, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (InvoiceAdjustment, error) {
			var a InvoiceAdjustment
			err := row.Scan(&a.InvoiceID, &a.AdjustmentID, &a.Kind, &a.Currency, &a.Amount, &a.Credit,
				&a.BalanceAfter, &a.PaymentID, &a.Reason, &a.Actor, &a.At)
			a.At = a.At.UTC()
			return a, err
		})
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `
			SELECT DISTINCT ON (invoice_id) invoice_id, at, details->'interest_lines'
			FROM lifecycle_events
			WHERE invoice_id = ANY($1) AND kind = 'interest_charged' AND at < $2 AND details ? 'interest_lines'
			ORDER BY invoice_id, at DESC, recorded_at DESC`, ids, end)
		if err != nil {
			return err
		}
		acc.InterestLines, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (InvoiceInterestLines, error) {
			var l InvoiceInterestLines
			err := row.Scan(&l.InvoiceID, &l.At, &l.Lines)
			l.At = l.At.UTC()
			return l, err
		})
		return err
	})
	if err != nil {
		return CustomerAccount{}, wrap(op+" "+customerID, err)
	}
	return acc, nil
}

// StatementCustomers lists, sorted, the customers with at least one invoice that is
// not closed, limited to those in segments and customers when either is given (a
// customer matches when its invoice's segment is listed or it is listed itself).
func (s *Store) StatementCustomers(ctx context.Context, segments, customers []string) ([]string, error) {
	all := len(segments) == 0 && len(customers) == 0
	return queryRows(ctx, s, "list customers with open invoices", pgx.RowTo[string], `
		SELECT DISTINCT customer_id FROM invoices
		WHERE closed_at IS NULL AND ($1 OR segment = ANY($2) OR customer_id = ANY($3))
		ORDER BY customer_id`, all, nonNil(segments), nonNil(customers))
}

// LastStatement returns the date (YYYY-MM-DD) of the last statement sent to the
// customer dated before asOf, and whether there is one.
func (s *Store) LastStatement(ctx context.Context, customerID string, asOf time.Time) (string, bool, error) {
	days, err := queryRows(ctx, s, "last statement of "+customerID, pgx.RowTo[time.Time], `
		SELECT as_of FROM statements
		WHERE customer_id = $1 AND status = 'sent' AND as_of < $2::date
		ORDER BY as_of DESC LIMIT 1`, customerID, asOf.UTC().Format(dateLayout))
	if err != nil || len(days) == 0 {
		return "", false, err
	}
	return days[0].Format(dateLayout), true, nil
}

// CustomerEmail returns the email address the customer was last reminded at, and
// whether there is one.
func (s *Store) CustomerEmail(ctx context.Context, customerID string) (string, bool, error) {
	addrs, err := queryRows(ctx, s, "email of customer "+customerID, pgx.RowTo[string], `
		SELECT address FROM contact_addresses WHERE customer_id = $1 AND channel = 'email'
		ORDER BY last_used_at DESC, address LIMIT 1`, customerID)
	if err != nil || len(addrs) == 0 {
		return "", false, err
	}
	return addrs[0], true, nil
}

// Statement statuses.
const (
	StatementSending = "sending"
	StatementSent    = "sent"
	StatementFailed  = "failed"
)

// StatementClaim asks to claim the right to send a customer's statement of one date.
type StatementClaim struct {
	CustomerID string
	AsOf       string // YYYY-MM-DD
	Since      string // YYYY-MM-DD or "" (from the beginning)
	Address    string // the email address it goes to
}

// Key is the statement's business key: statement/<customer>/<as of>.
func (c StatementClaim) Key() string { return StatementKey(c.CustomerID, c.AsOf) }

// StatementKey is the business key of the customer's statement dated asOf.
func StatementKey(customerID, asOf string) string { return "statement/" + customerID + "/" + asOf }

// StatementRow is a stored statement. After ClaimStatement: Fresh means send;
// NeedsReconcile means an earlier attempt never recorded its outcome (ask the
// provider first); sent or failed means it is settled.
type StatementRow struct {
	Key        string
	CustomerID string
	AsOf       string
	Since      string
	Address    string
	Status     string
	ProviderID string
	Error      string
	Attempts   int
	ClaimedAt  time.Time
	SentAt     *time.Time
	Fresh      bool
}

// NeedsReconcile reports whether an earlier claim is still 'sending'.
func (r StatementRow) NeedsReconcile() bool { return !r.Fresh && r.Status == StatementSending }

const statementColumns = `statement_key, customer_id, as_of, since, address, status, provider_id, error,
	attempts, claimed_at, sent_at`

func scanStatement(row pgx.Row, r *StatementRow, extra ...any) error {
	var (
		asOf  time.Time
		since *time.Time
	)
	dest := append([]any{&r.Key, &r.CustomerID, &asOf, &since, &r.Address, &r.Status, &r.ProviderID, &r.Error,
		&r.Attempts, &r.ClaimedAt, &r.SentAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return err
	}
	r.AsOf = asOf.Format(dateLayout)
	if since != nil {
		r.Since = since.Format(dateLayout)
	}
	r.ClaimedAt, r.SentAt = r.ClaimedAt.UTC(), utcPtr(r.SentAt)
	return nil
}

// ClaimStatement claims the right to send the customer's statement dated c.AsOf:
// the first claim stores it as 'sending' and comes back Fresh; any later one counts
// an attempt and returns the stored row (with the since and address of the first).
// Of concurrent claims exactly one is Fresh.
func (s *Store) ClaimStatement(ctx context.Context, c StatementClaim) (StatementRow, error) {
	const op = "claim statement"
	var problems []string
	if c.CustomerID == "" {
		problems = append(problems, "customer id is empty")
	}
	if _, err := time.Parse(dateLayout, c.AsOf); err != nil {
		problems = append(problems, fmt.Sprintf("as of %q is not a date", c.AsOf))
	}
	if _, err := time.Parse(dateLayout, c.Since); c.Since != "" && err != nil {
		problems = append(problems, fmt.Sprintf("since %q is not a date", c.Since))
	}
	if strings.TrimSpace(c.Address) == "" {
		problems = append(problems, "address is empty")
	}
	if len(problems) > 0 {
		return StatementRow{}, invalid(op, "%s", strings.Join(problems, "; "))
	}
	var since *string
	if c.Since != "" {
		since = &c.Since
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var r StatementRow
	row := s.pool.QueryRow(ctx, `
		INSERT INTO statements (statement_key, customer_id, as_of, since, channel, address, status,
			attempts, claimed_at, updated_at)
		VALUES ($1, $2, $3, $4, 'email', $5, 'sending', 1, now(), now())
		ON CONFLICT (statement_key) DO UPDATE
		SET attempts = statements.attempts + 1, updated_at = now()
		RETURNING `+statementColumns+`, (xmax = 0)`,
		c.Key(), c.CustomerID, c.AsOf, since, NormalizeAddress(ChannelEmail, c.Address))
	if err := scanStatement(row, &r, &r.Fresh); err != nil {
		return StatementRow{}, wrap(op+" "+c.Key(), err)
	}
	return r, nil
}

// CompleteStatement records the outcome of a claimed statement: StatementSent with
// the provider's id, or StatementFailed with the reason. It only moves a statement
// out of 'sending'; completing again with the stored status is a no-op, another
// final status is ErrNoticeFinal, an unknown key ErrNotFound.
func (s *Store) CompleteStatement(ctx context.Context, key, status, providerID, errText string, at time.Time) error {
	const op = "complete statement"
	if status != StatementSent && status != StatementFailed {
		return invalid(op, "statement %s: %q is not a final status", key, status)
	}
	if at.IsZero() {
		return invalid(op, "statement %s: time is zero", key)
	}
	var sentAt *time.Time
	if status == StatementSent {
		sentAt = &at
	}
	if len(errText) > 1000 {
		errText = errText[:1000]
	}
	return s.settleClaim(ctx, op, claimTable{"statements", "statement_key", "statement"}, key, status, providerID, errText, sentAt, at)
}

// GetStatement returns one stored statement by key (Fresh false), or ErrNotFound.
func (s *Store) GetStatement(ctx context.Context, key string) (StatementRow, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var r StatementRow
	if err := scanStatement(s.pool.QueryRow(ctx, `SELECT `+statementColumns+` FROM statements WHERE statement_key = $1`, key), &r); err != nil {
		return StatementRow{}, wrap("get statement "+key, err)
	}
	return r, nil
}

// SentStatementBetween returns the customer's statement sent with a date from from
// through before (both YYYY-MM-DD), the latest, and whether there is one: a
// scheduled run does not send a customer a second statement in the same period.
func (s *Store) SentStatementBetween(ctx context.Context, customerID, from, before string) (StatementRow, bool, error) {
	const op = "sent statement in period"
	if _, err := time.Parse(dateLayout, from); err != nil {
		return StatementRow{}, false, invalid(op, "from %q is not a date", from)
	}
	if _, err := time.Parse(dateLayout, before); err != nil {
		return StatementRow{}, false, invalid(op, "before %q is not a date", before)
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var r StatementRow
	err := scanStatement(s.pool.QueryRow(ctx, `SELECT `+statementColumns+` FROM statements
		WHERE customer_id = $1 AND status = 'sent' AND as_of >= $2::date AND as_of < $3::date
		ORDER BY as_of DESC LIMIT 1`, customerID, from, before), &r)
	if errors.Is(err, pgx.ErrNoRows) {
		return StatementRow{}, false, nil
	}
	if err != nil {
		return StatementRow{}, false, wrap(op+" of "+customerID, err)
	}
	return r, true, nil
}

// CustomerProfile is the name and locale the customer's latest issued invoice gave.
type CustomerProfile struct {
	Name   string
	Locale string
}

// CustomerProfile returns the customer's profile and whether there is one (invoices
// issued before migration 00017 left none).
func (s *Store) CustomerProfile(ctx context.Context, customerID string) (CustomerProfile, bool, error) {
	rows, err := queryRows(ctx, s, "profile of customer "+customerID, pgx.RowToStructByPos[CustomerProfile], `
		SELECT name, locale FROM customer_profiles WHERE customer_id = $1`, customerID)
	if err != nil || len(rows) == 0 {
		return CustomerProfile{}, false, err
	}
	return rows[0], true, nil
}
