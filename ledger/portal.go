package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The customer's portal (package portal): its links, and the payment plans customers
// ask for there that wait for an operator. Migration 00016.

// Audit actions of the portal: the operator's link management (recorded by the API)
// and the customer's own actions (actor "customer", Details["link_id"]).
const (
	AuditPortalLinkCreate = "portal.link.create"
	AuditPortalLinkRevoke = "portal.link.revoke"
	AuditPlanRequest      = "portal.plan_request"
	AuditPlanApprove      = "portal.plan_request.approve"
	AuditPlanReject       = "portal.plan_request.reject"
)

// ErrPlanDecided means the plan request was approved or rejected already.
var ErrPlanDecided = errors.New("plan request already decided")

// ErrPlanPending means the invoice already has a plan request waiting for an operator.
var ErrPlanPending = errors.New("a plan request for this invoice is already waiting for an operator")

// PortalLink is a stored link: never its token, only the token's hash.
type PortalLink struct {
	ID         int64
	CustomerID string
	CreatedBy  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
}

// Usable reports whether the link still opens its page at now.
func (l PortalLink) Usable(now time.Time) bool { return l.RevokedAt == nil && now.Before(l.ExpiresAt) }

const portalLinkColumns = `id, customer_id, created_by, created_at, expires_at, revoked_at`

func scanPortalLink(row pgx.CollectableRow) (PortalLink, error) {
	var l PortalLink
	err := row.Scan(&l.ID, &l.CustomerID, &l.CreatedBy, &l.CreatedAt, &l.ExpiresAt, &l.RevokedAt)
	l.CreatedAt, l.ExpiresAt = l.CreatedAt.UTC(), l.ExpiresAt.UTC()
	if l.RevokedAt != nil {
		r := l.RevokedAt.UTC()
		l.RevokedAt = &r
	}
	return l, err
}

// CreatePortalLink stores a link to customerID's page by its token's SHA-256, valid
// until expiresAt. The customer must have an invoice (else ErrNotFound).
func (s *Store) CreatePortalLink(ctx context.Context, tokenSHA256 []byte, customerID, createdBy string, expiresAt time.Time) (PortalLink, error) {
	const op = "create portal link"
	switch {
	case len(tokenSHA256) != 32:
		return PortalLink{}, invalid(op, "token hash must be 32 bytes")
	case customerID == "" || len(customerID) > 128:
		return PortalLink{}, invalid(op, "customer id must be 1-128 characters")
	case len(createdBy) > 200:
		return PortalLink{}, invalid(op, "created_by is longer than 200 characters")
	}
	return queryOne(ctx, s, op, scanPortalLink, `
		INSERT INTO portal_links (token_sha256, customer_id, created_by, expires_at)
		SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM invoices WHERE customer_id = $2)
		RETURNING `+portalLinkColumns, tokenSHA256, customerID, createdBy, expiresAt)
}

// EnsurePortalLink stores the link of a message (a token derived from the message's
// key, so a retry brings the same hash) unless it is stored already, and returns the
// stored link: its first expiry holds, and a link revoked since stays revoked. The
// customer must have an invoice (else ErrNotFound); a hash stored for another
// customer is an error (a derived token names its message, and so its customer).
func (s *Store) EnsurePortalLink(ctx context.Context, tokenSHA256 []byte, customerID, createdBy string, expiresAt time.Time) (PortalLink, error) {
	const op = "ensure portal link"
	switch {
	case len(tokenSHA256) != 32:
		return PortalLink{}, invalid(op, "token hash must be 32 bytes")
	case customerID == "" || len(customerID) > 128:
		return PortalLink{}, invalid(op, "customer id must be 1-128 characters")
	case len(createdBy) > 200:
		return PortalLink{}, invalid(op, "created_by is longer than 200 characters")
	}
	link, err := queryOne(ctx, s, op, scanPortalLink, `
		WITH ins AS (
			INSERT INTO portal_links (token_sha256, customer_id, created_by, expires_at)
			SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM invoices WHERE customer_id = $2)
			ON CONFLICT (token_sha256) DO NOTHING
			RETURNING `+portalLinkColumns+`)
		SELECT `+portalLinkColumns+` FROM ins
		UNION ALL
		SELECT `+portalLinkColumns+` FROM portal_links WHERE token_sha256 = $1 AND NOT EXISTS (SELECT 1 FROM ins)`,
		tokenSHA256, customerID, createdBy, expiresAt)
	if err == nil && link.CustomerID != customerID {
		return PortalLink{}, fmt.Errorf("%s: the token is stored for another customer", op)
	}
	return link, err
}

// PortalLinkByHash returns the link whose token hashes to tokenSHA256, revoked and
// expired ones included (the caller tells them apart); ErrNotFound if none.
func (s *Store) PortalLinkByHash(ctx context.Context, tokenSHA256 []byte) (PortalLink, error) {
	return queryOne(ctx, s, "find portal link", scanPortalLink,
		`SELECT `+portalLinkColumns+` FROM portal_links WHERE token_sha256 = $1`, tokenSHA256)
}

// RevokePortalLink revokes one link of the customer at now and returns it; revoking a
// revoked link changes nothing. ErrNotFound if the customer has no such link.
func (s *Store) RevokePortalLink(ctx context.Context, customerID string, linkID int64, now time.Time) (PortalLink, error) {
	return queryOne(ctx, s, "revoke portal link", scanPortalLink, `
		UPDATE portal_links SET revoked_at = coalesce(revoked_at, $3)
		WHERE customer_id = $1 AND id = $2
		RETURNING `+portalLinkColumns, customerID, linkID, now)
}

// RevokePortalLinks revokes every link of the customer that is not revoked yet and
// returns how many it revoked.
func (s *Store) RevokePortalLinks(ctx context.Context, customerID string, now time.Time) (int64, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `UPDATE portal_links SET revoked_at = $2 WHERE customer_id = $1 AND revoked_at IS NULL`,
		customerID, now)
	if err != nil {
		return 0, wrap("revoke portal links", err)
	}
	return tag.RowsAffected(), nil
}

// maxCustomerPayments bounds CustomerPayments.
const maxCustomerPayments = 100

// CustomerPayments returns the newest payments applied to the customer's invoices
// (at most 100), newest first.
func (s *Store) CustomerPayments(ctx context.Context, customerID string) ([]PaymentRecord, error) {
	return queryRows(ctx, s, "list customer payments", func(row pgx.CollectableRow) (PaymentRecord, error) {
		var p PaymentRecord
		err := row.Scan(&p.InvoiceID, &p.PaymentID, &p.Currency, &p.Amount, &p.Applied,
			&p.Credit, &p.BalanceAfter, &p.PaidAt, &p.AppliedAt)
		p.PaidAt, p.AppliedAt = p.PaidAt.UTC(), p.AppliedAt.UTC()
		return p, err
	}, `
		SELECT p.invoice_id, p.payment_id, p.currency, p.amount_minor, p.applied_minor, p.credit_minor,
			p.balance_after_minor, p.paid_at, p.applied_at
		FROM payments p JOIN invoices i USING (invoice_id)
		WHERE i.customer_id = $1 ORDER BY p.paid_at DESC, p.payment_id LIMIT $2`, customerID, maxCustomerPayments)
}

// Plan request statuses.
const (
	PlanPending  = "pending"
	PlanApproved = "approved"
	PlanRejected = "rejected"
)

// PlanInstallment is one installment of a requested plan.
type PlanInstallment struct {
	DueDate string `json:"due_date"` // YYYY-MM-DD
	Amount  int64  `json:"amount_minor"`
}

// PlanRequest is a payment plan a customer asked for on the portal that waits for (or
// got) an operator's decision.
type PlanRequest struct {
	ID           int64             `json:"id"`
	InvoiceID    string            `json:"invoice_id"`
	CustomerID   string            `json:"customer_id"`
	LinkID       int64             `json:"link_id"`
	Currency     string            `json:"currency"`
	Installments []PlanInstallment `json:"installments"`
	WhyPending   string            `json:"why_pending"`
	Status       string            `json:"status"`
	RequestedAt  time.Time         `json:"requested_at"`
	DecidedAt    *time.Time        `json:"decided_at"`
	DecidedBy    string            `json:"decided_by,omitempty"`
	Reason       string            `json:"reason,omitempty"`
}

const planRequestColumns = `id, invoice_id, customer_id, link_id, currency, installments, why_pending, status,
	requested_at, decided_at, decided_by, reason`

func scanPlanRequest(row pgx.CollectableRow) (PlanRequest, error) {
	var p PlanRequest
	var items []byte
	if err := row.Scan(&p.ID, &p.InvoiceID, &p.CustomerID, &p.LinkID, &p.Currency, &items, &p.WhyPending, &p.Status,
		&p.RequestedAt, &p.DecidedAt, &p.DecidedBy, &p.Reason); err != nil {
		return p, err
	}
	p.RequestedAt = p.RequestedAt.UTC()
	if p.DecidedAt != nil {
		d := p.DecidedAt.UTC()
		p.DecidedAt = &d
	}
	if err := json.Unmarshal(items, &p.Installments); err != nil {
		return p, fmt.Errorf("plan request %d installments: %w", p.ID, err)
	}
	return p, nil
}

// CreatePlanRequest stores a pending plan request and its audit entry in one
// transaction. An invoice with a pending request already gives ErrPlanPending.
func (s *Store) CreatePlanRequest(ctx context.Context, p PlanRequest, audit func(PlanRequest) AuditEntry) (PlanRequest, error) {
	const op = "create plan request"
	if len(p.Installments) == 0 || len(p.Installments) > 60 {
		return PlanRequest{}, invalid(op, "must have 1 to 60 installments")
	}
	items, err := json.Marshal(p.Installments)
	if err != nil {
		return PlanRequest{}, invalid(op, "installments: %v", err)
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var out PlanRequest
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			INSERT INTO portal_plan_requests (invoice_id, customer_id, link_id, currency, installments, why_pending)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+planRequestColumns,
			p.InvoiceID, p.CustomerID, p.LinkID, p.Currency, items, p.WhyPending)
		if err != nil {
			return err
		}
		if out, err = pgx.CollectExactlyOneRow(rows, scanPlanRequest); err != nil {
			return err
		}
		_, err = insertAudit(ctx, tx, audit(out))
		return err
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return PlanRequest{}, fmt.Errorf("ledger: %s: invoice %s: %w", op, p.InvoiceID, ErrPlanPending)
	}
	if err != nil {
		return PlanRequest{}, wrap(op, err)
	}
	return out, nil
}

// GetPlanRequest returns one plan request, or ErrNotFound.
func (s *Store) GetPlanRequest(ctx context.Context, id int64) (PlanRequest, error) {
	return queryOne(ctx, s, "get plan request", scanPlanRequest,
		`SELECT `+planRequestColumns+` FROM portal_plan_requests WHERE id = $1`, id)
}

// maxPlanRequests bounds ListPlanRequests.
const maxPlanRequests = 500

// ListPlanRequests returns the plan requests with the status (all when empty), oldest
// first, at most 500.
func (s *Store) ListPlanRequests(ctx context.Context, status string) ([]PlanRequest, error) {
	return queryRows(ctx, s, "list plan requests", scanPlanRequest, `
		SELECT `+planRequestColumns+` FROM portal_plan_requests
		WHERE $1 = '' OR status = $1 ORDER BY requested_at, id LIMIT $2`, status, maxPlanRequests)
}

// PendingPlanRequests returns the customer's plan requests that wait for an operator,
// oldest first.
func (s *Store) PendingPlanRequests(ctx context.Context, customerID string) ([]PlanRequest, error) {
	return queryRows(ctx, s, "list pending plan requests", scanPlanRequest, `
		SELECT `+planRequestColumns+` FROM portal_plan_requests
		WHERE customer_id = $1 AND status = 'pending' ORDER BY requested_at, id LIMIT $2`, customerID, maxPlanRequests)
}

// DecidePlanRequest sets a pending request's decision (PlanApproved or PlanRejected)
// and writes its audit entry in one transaction. A request decided already gives
// ErrPlanDecided (and the stored request); an unknown one ErrNotFound.
func (s *Store) DecidePlanRequest(ctx context.Context, id int64, status, by, reason string, at time.Time, audit func(PlanRequest) AuditEntry) (PlanRequest, error) {
	const op = "decide plan request"
	if status != PlanApproved && status != PlanRejected {
		return PlanRequest{}, invalid(op, "status must be %q or %q", PlanApproved, PlanRejected)
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var out PlanRequest
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+planRequestColumns+` FROM portal_plan_requests WHERE id = $1 FOR UPDATE`, id)
		if err != nil {
			return err
		}
		if out, err = pgx.CollectExactlyOneRow(rows, scanPlanRequest); err != nil {
			return err
		}
		if out.Status != PlanPending {
			return ErrPlanDecided
		}
		rows, err = tx.Query(ctx, `
			UPDATE portal_plan_requests SET status = $2, decided_at = $3, decided_by = $4, reason = $5
			WHERE id = $1 RETURNING `+planRequestColumns, id, status, at, by, reason)
		if err != nil {
			return err
		}
		if out, err = pgx.CollectExactlyOneRow(rows, scanPlanRequest); err != nil {
			return err
		}
		_, err = insertAudit(ctx, tx, audit(out))
		return err
	})
	if errors.Is(err, ErrPlanDecided) {
		return out, fmt.Errorf("ledger: %s %d: %w", op, id, ErrPlanDecided)
	}
	if err != nil {
		return PlanRequest{}, wrap(op, err)
	}
	return out, nil
}

// ContactAddress is a channel address a customer was contacted at.
type ContactAddress struct {
	Channel string
	Address string
}

// CustomerAddresses lists the addresses the customer was contacted at or that opted
// out or in for the customer, by channel and address.
func (s *Store) CustomerAddresses(ctx context.Context, customerID string) ([]ContactAddress, error) {
	return queryRows(ctx, s, "list customer addresses", func(row pgx.CollectableRow) (ContactAddress, error) {
		var a ContactAddress
		return a, row.Scan(&a.Channel, &a.Address)
	}, `
		SELECT channel, address FROM contact_addresses WHERE customer_id = $1
		UNION SELECT channel, address FROM opt_outs WHERE customer_id = $1
		ORDER BY 1, 2 LIMIT 100`, customerID)
}
