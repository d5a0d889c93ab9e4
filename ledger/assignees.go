package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Audit actions of portfolios: a customer assigned to a collector, or to nobody. Their
// details name the customer, the collector and, for a rule, the rule; the customer's
// timeline shows them.
const (
	AuditCustomerAssign   = "customer.assign"
	AuditCustomerUnassign = "customer.unassign"
)

// How a customer came to its collector.
const (
	AssignedByHand = "hand" // an operator chose (PUT or DELETE /v1/customers/{id}/assignee)
	AssignedByRule = "rule" // the customer's segment's rule in segments.yaml
)

// ErrNotCollector means a name is not a collector: no active API key of that name
// grants the operator scope.
var ErrNotCollector = errors.New("not a collector (no active API key of that name with the operator scope)")

// Assignment is whose portfolio a customer is in.
type Assignment struct {
	CustomerID string `json:"customer_id"`
	// Collector is the collector's API key name; "" when nobody (unassigned by hand).
	Collector string `json:"collector"`
	// Source is AssignedByHand or AssignedByRule; Rule names the rule
	// ("segment:smb").
	Source     string    `json:"source"`
	Rule       string    `json:"rule,omitempty"`
	AssignedBy string    `json:"assigned_by"`
	AssignedAt time.Time `json:"assigned_at"`
}

const assignmentColumns = `customer_id, coalesce(collector, ''), source, rule, assigned_by, assigned_at`

func scanAssignment(row pgx.Row) (Assignment, error) {
	var a Assignment
	err := row.Scan(&a.CustomerID, &a.Collector, &a.Source, &a.Rule, &a.AssignedBy, &a.AssignedAt)
	a.AssignedAt = a.AssignedAt.UTC()
	return a, err
}

// IsCollector reports whether name is a collector: an active API key of that name
// with the operator scope.
func (s *Store) IsCollector(ctx context.Context, name string) (bool, error) {
	return queryOne(ctx, s, "look up collector", pgx.RowTo[bool], `
		SELECT EXISTS (SELECT 1 FROM api_keys WHERE name = $1 AND revoked_at IS NULL AND 'operator' = ANY (scopes))`, name)
}

// Assignee returns the customer's assignment; false when the customer has none (no
// hand assignment and no rule applied yet).
func (s *Store) Assignee(ctx context.Context, customerID string) (Assignment, bool, error) {
	a, err := queryOne(ctx, s, "read assignee", func(row pgx.CollectableRow) (Assignment, error) { return scanAssignment(row) },
		`SELECT `+assignmentColumns+` FROM customer_assignees WHERE customer_id = $1`, customerID)
	if errors.Is(err, ErrNotFound) {
		return Assignment{}, false, nil
	}
	return a, err == nil, err
}

// AssignCustomer assigns the customer to collector by hand ("" assigns it to nobody,
// which no rule overrides), by, and writes audit(assignment) in the same transaction.
// A customer without invoices is ErrUnknownCustomer; a collector that is not one
// ErrNotCollector; a bad name or author ErrInvalid. Assigning what is already assigned
// by hand changes nothing and writes no entry (changed false).
func (s *Store) AssignCustomer(ctx context.Context, customerID, collector, by string, audit func(Assignment) AuditEntry) (Assignment, bool, error) {
	const op = "assign customer"
	if customerID == "" || by == "" || len(by) > 100 {
		return Assignment{}, false, invalid(op, "empty customer id, or empty or oversize author")
	}
	if collector != "" && !keyNameRE.MatchString(collector) {
		return Assignment{}, false, invalid(op, "collector %q is not an API key name", collector)
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var a Assignment
	var changed bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := checkAssignable(ctx, tx, customerID, collector); err != nil {
			return err
		}
		old, err := scanAssignment(tx.QueryRow(ctx, `SELECT `+assignmentColumns+` FROM customer_assignees WHERE customer_id = $1 FOR UPDATE`, customerID))
		switch {
		case err == nil && old.Source == AssignedByHand && old.Collector == collector:
			a = old
			return nil
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		if a, err = scanAssignment(tx.QueryRow(ctx, `
			INSERT INTO customer_assignees (customer_id, collector, source, rule, assigned_by)
			VALUES ($1, nullif($2, ''), 'hand', '', $3)
			ON CONFLICT (customer_id) DO UPDATE SET collector = excluded.collector, source = 'hand', rule = '',
				assigned_by = excluded.assigned_by, assigned_at = now()
			RETURNING `+assignmentColumns, customerID, collector, by)); err != nil {
			return err
		}
		changed = true
		if audit == nil {
			return nil
		}
		_, err = insertAudit(ctx, tx, audit(a))
		return err
	})
	if err != nil {
		return Assignment{}, false, wrap(op, err)
	}
	return a, changed, nil
}

// AssignByRule assigns the customer to collector because of rule ("segment:smb"),
// unless an operator assigned it by hand (to someone or to nobody): a hand choice
// stands until an operator changes it. A rule's assignment follows the rule: the next
// call with another collector moves the customer. A change commits with its audit
// entry (actor "dunwell"); an unchanged assignment writes nothing. A collector that
// is not one is ErrNotCollector.
func (s *Store) AssignByRule(ctx context.Context, customerID, collector, rule string) (Assignment, bool, error) {
	const op = "assign customer by rule"
	if customerID == "" || rule == "" || len(rule) > 200 || !keyNameRE.MatchString(collector) {
		return Assignment{}, false, invalid(op, "empty customer id or rule, or collector %q is not an API key name", collector)
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var a Assignment
	var changed bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := checkAssignable(ctx, tx, customerID, collector); err != nil {
			return err
		}
		old, err := scanAssignment(tx.QueryRow(ctx, `SELECT `+assignmentColumns+` FROM customer_assignees WHERE customer_id = $1 FOR UPDATE`, customerID))
		switch {
		case err == nil && (old.Source == AssignedByHand || (old.Collector == collector && old.Rule == rule)):
			a = old
			return nil
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		if a, err = scanAssignment(tx.QueryRow(ctx, `
			INSERT INTO customer_assignees (customer_id, collector, source, rule, assigned_by)
			VALUES ($1, $2, 'rule', $3, 'dunwell')
			ON CONFLICT (customer_id) DO UPDATE SET collector = excluded.collector, source = 'rule', rule = excluded.rule,
				assigned_by = 'dunwell', assigned_at = now()
			RETURNING `+assignmentColumns, customerID, collector, rule)); err != nil {
			return err
		}
		changed = true
		_, err = insertAudit(ctx, tx, AssignmentAudit(a, AuditApplied))
		return err
	})
	if err != nil {
		return Assignment{}, false, wrap(op, err)
	}
	return a, changed, nil
}

// AssignmentAudit is the audit entry of an assignment: the customer, the collector
// and the rule; a rule's entry names "dunwell" as its actor.
func AssignmentAudit(a Assignment, outcome string) AuditEntry {
	action := AuditCustomerAssign
	if a.Collector == "" {
		action = AuditCustomerUnassign
	}
	details := map[string]any{"customer_id": a.CustomerID}
	if a.Collector != "" {
		details["collector"] = a.Collector
	}
	if a.Source == AssignedByRule {
		details["rule"] = a.Rule
		details["actor"] = "dunwell"
	}
	return AuditEntry{Action: action, Outcome: outcome, Details: details}
}

// checkAssignable checks, in tx, that the customer is known and collector (unless
// "") is a collector.
func checkAssignable(ctx context.Context, tx pgx.Tx, customerID, collector string) error {
	var known, isCollector bool
	if err := tx.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM invoices WHERE customer_id = $1),
			EXISTS (SELECT 1 FROM api_keys WHERE name = $2 AND revoked_at IS NULL AND 'operator' = ANY (scopes))`,
		customerID, collector).Scan(&known, &isCollector); err != nil {
		return err
	}
	switch {
	case !known:
		return fmt.Errorf("%s: %w", customerID, ErrUnknownCustomer)
	case collector != "" && !isCollector:
		return fmt.Errorf("%s: %w", collector, ErrNotCollector)
	}
	return nil
}

// Portfolio lists the customers assigned to collector, sorted.
func (s *Store) Portfolio(ctx context.Context, collector string) ([]string, error) {
	return queryRows(ctx, s, "list portfolio", pgx.RowTo[string],
		`SELECT customer_id FROM customer_assignees WHERE collector = $1 ORDER BY customer_id`, collector)
}
