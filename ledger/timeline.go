package ledger

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Timeline entry kinds: what GET /v1/customers/{id}/timeline may filter on. An
// entry's details.event says more where a kind covers several events (a dispute
// opened, resolved or upheld).
const (
	TimelineInvoice        = "invoice"         // an invoice was issued
	TimelineMessage        = "message"         // a reminder went out (or failed) on a channel
	TimelineDelivery       = "delivery"        // what the provider said became of a message
	TimelinePayment        = "payment"         // money received
	TimelineRefund         = "refund"          // money given back: refund or chargeback
	TimelineAdjustment     = "adjustment"      // the amount due changed, a credit note, a re-opening
	TimelineCharge         = "charge"          // a late fee, interest or an early-payment discount
	TimelineDispute        = "dispute"         // opened, resolved or upheld
	TimelinePromise        = "promise"         // made, kept or broken
	TimelinePlan           = "plan"            // agreed, completed or broken
	TimelinePause          = "pause"           // paused or resumed
	TimelineApproval       = "approval"        // a step or escalation waiting for, or given, approval
	TimelineClosure        = "closure"         // cancelled or written off
	TimelineChange         = "change"          // another policy or due date
	TimelineOptOut         = "opt_out"         // a channel address opted out (or back in)
	TimelineEscalation     = "escalation"      // handed to an agency or legal
	TimelineOperatorAction = "operator_action" // a call through the API, from the audit log
	TimelineCustomerAction = "customer_action" // something the customer did (the portal), from the audit log
	TimelineNote           = "note"            // what an operator wrote
	TimelineTask           = "task"            // a task for a person opened, done (its outcome and note) or closed
	TimelineReply          = "reply"           // an email the customer sent to the reply-to address
)

// TimelineKinds lists every timeline kind.
var TimelineKinds = []string{
	TimelineInvoice, TimelineMessage, TimelineDelivery, TimelinePayment, TimelineRefund,
	TimelineAdjustment, TimelineCharge, TimelineDispute, TimelinePromise, TimelinePlan,
	TimelinePause, TimelineApproval, TimelineClosure, TimelineChange, TimelineOptOut,
	TimelineEscalation, TimelineOperatorAction, TimelineCustomerAction, TimelineNote, TimelineTask, TimelineReply,
}

// MaxTimelineLimit bounds one page of a timeline.
const MaxTimelineLimit = 500

// TimelineEntry is one interaction with a customer. Details holds the facts of the
// entry as stored (ids, amounts in minor units with their currency, statuses,
// reasons); details.event names the precise event.
type TimelineEntry struct {
	At        time.Time
	Kind      string
	InvoiceID string
	Actor     string
	Details   map[string]any
	// Cursor is where the entry stands in the timeline's order: a page Before it
	// starts with the entry after it.
	Cursor TimelineCursor
}

// TimelineCursor is a position in a timeline, newest first: (At, source, key) is
// unique per entry. The zero cursor is the start (the newest entry).
type TimelineCursor struct {
	At     time.Time
	Source string
	Key    string
}

// String encodes c as an opaque URL-safe token.
func (c TimelineCursor) String() string {
	b, _ := json.Marshal(struct {
		At     string `json:"at"`
		Source string `json:"s,omitempty"`
		Key    string `json:"k,omitempty"`
	}{c.At.UTC().Format(time.RFC3339Nano), c.Source, c.Key}) // cannot fail: strings only
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseTimelineCursor reads a token made by TimelineCursor.String, or an RFC 3339
// time: the entries before that instant.
func ParseTimelineCursor(s string) (TimelineCursor, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return TimelineCursor{At: t.UTC()}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 || b[0] != '{' {
		return TimelineCursor{}, fmt.Errorf("is neither a cursor from a previous page nor an RFC 3339 time")
	}
	var raw struct {
		At     string `json:"at"`
		Source string `json:"s"`
		Key    string `json:"k"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return TimelineCursor{}, fmt.Errorf("is not a cursor from a previous page")
	}
	at, err := time.Parse(time.RFC3339Nano, raw.At)
	if err != nil {
		return TimelineCursor{}, fmt.Errorf("is not a cursor from a previous page")
	}
	return TimelineCursor{At: at.UTC(), Source: raw.Source, Key: raw.Key}, nil
}

// TimelineQuery selects one page of a customer's timeline.
type TimelineQuery struct {
	CustomerID string
	// Before, when not zero, starts the page after that position.
	Before TimelineCursor
	// Limit is the page size, 1 to MaxTimelineLimit.
	Limit int
	// Kinds, when not empty, keeps only entries of these kinds (TimelineKinds).
	Kinds []string
}

// TimelinePage is one page, newest first; More says whether older entries follow
// (the next page is Before the last entry's Cursor).
type TimelinePage struct {
	Entries []TimelineEntry
	More    bool
}

// Timeline returns one page of the customer's timeline, newest first: its invoices,
// the messages sent and what became of them, payments, refunds and adjustments (each
// with the event that made it), disputes, promises, plans, pauses and the other
// lifecycle events, escalations, opt-outs and opt-ins of its addresses, calls through
// the API about it or its invoices (the audit log; a note's entry is the note), and
// notes. A customer without invoices is ErrUnknownCustomer; a bad query ErrInvalid.
func (s *Store) Timeline(ctx context.Context, q TimelineQuery) (TimelinePage, error) {
	const op = "read timeline"
	if q.CustomerID == "" {
		return TimelinePage{}, invalid(op, "empty customer id")
	}
	if q.Limit < 1 || q.Limit > MaxTimelineLimit {
		return TimelinePage{}, invalid(op, "limit %d is not between 1 and %d", q.Limit, MaxTimelineLimit)
	}
	for _, k := range q.Kinds {
		if !slices.Contains(TimelineKinds, k) {
			return TimelinePage{}, invalid(op, "unknown kind %q", k)
		}
	}
	var before *time.Time
	if !q.Before.At.IsZero() {
		before = &q.Before.At
	}
	var kinds []string
	if len(q.Kinds) > 0 {
		kinds = q.Kinds
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var page TimelinePage
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		var known bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM invoices WHERE customer_id = $1)`,
			q.CustomerID).Scan(&known); err != nil {
			return err
		}
		if !known {
			return fmt.Errorf("%s: %w", q.CustomerID, ErrUnknownCustomer)
		}
		rows, err := tx.Query(ctx, timelineSQL, q.CustomerID, before, q.Before.Source, q.Before.Key, q.Limit+1, kinds)
		if err != nil {
			return err
		}
		page.Entries, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (TimelineEntry, error) {
			var e TimelineEntry
			err := row.Scan(&e.At, &e.Cursor.Source, &e.Cursor.Key, &e.Kind, &e.InvoiceID, &e.Actor, &e.Details)
			e.At = e.At.UTC()
			e.Cursor.At = e.At
			return e, err
		})
		return err
	})
	if err != nil {
		return TimelinePage{}, wrap(op, err)
	}
	if len(page.Entries) > q.Limit {
		page.Entries, page.More = page.Entries[:q.Limit], true
	}
	return page, nil
}

// timelineSQL is the whole timeline in one query: a UNION ALL of one branch per
// source, each finding the customer's rows through an index (the customer's invoices
// by invoices_customer_idx, then each table by its invoice index; notes, opt-out
// events and customer-level audit entries by their customer index). The paging and
// kind conditions below the union are pushed into every branch by PostgreSQL.
//
// $1 customer, $2 $3 $4 the cursor (at, source, key; $2 NULL: from the newest),
// $5 the row limit, $6 the kinds (NULL: all).
const timelineSQL = `
WITH inv AS MATERIALIZED (
	SELECT invoice_id, currency FROM invoices WHERE customer_id = $1
)
SELECT at, src, key, kind, invoice_id, actor, details FROM (
	SELECT i.issued_at AS at, 'a_invoice' AS src, i.invoice_id AS key, 'invoice' AS kind,
		i.invoice_id, '' AS actor,
		jsonb_build_object('event', 'issued', 'currency', i.currency, 'amount_due_minor', i.amount_due_minor,
			'due_date', i.due_date, 'policy_id', i.policy_id, 'policy_version', i.policy_version) AS details
	FROM invoices i WHERE i.customer_id = $1

	UNION ALL
	SELECT coalesce(n.sent_at, n.claimed_at), 'b_notice', n.notice_key, 'message', n.invoice_id, 'dunwell',
		jsonb_strip_nulls(jsonb_build_object('event', n.status, 'step', n.step, 'channel', n.channel,
			'status', n.status, 'attempts', n.attempts, 'error', nullif(n.error, '')))
	FROM inv JOIN notices n USING (invoice_id)
	WHERE n.message_key IS NULL -- a step a consolidated message covered: the message says it

	UNION ALL
	-- One entry per consolidated message, naming the invoice steps it covered and
	-- those it left out (and why).
	SELECT coalesce(m.sent_at, m.claimed_at), 'b_message', m.message_key, 'message', '', 'dunwell',
		jsonb_strip_nulls(jsonb_build_object('event', m.status, 'message_key', m.message_key, 'channel', m.channel,
			'status', m.status, 'window_day', m.window_day, 'attempts', m.attempts, 'error', nullif(m.error, ''),
			'covered', m.covered, 'left_out', CASE WHEN jsonb_array_length(m.left_out) > 0 THEN m.left_out END))
	FROM account_messages m WHERE m.customer_id = $1

	UNION ALL
	-- Letters (letters.go): handed to the print-and-mail provider, or waiting in the
	-- outbox, or mailed by an operator.
	SELECT coalesce(l.mailed_at, l.sent_at, l.claimed_at), 'b_letter', l.letter_key, 'message', l.invoice_id,
		CASE WHEN l.status = 'mailed' THEN l.mailed_by ELSE 'dunwell' END,
		jsonb_strip_nulls(jsonb_build_object('event', l.status, 'step', l.step, 'channel', 'letter', 'letter_id', l.id,
			'status', l.status, 'attempts', l.attempts, 'provider_id', nullif(l.provider_id, ''), 'error', nullif(l.error, '')))
	FROM inv JOIN letters l USING (invoice_id)

	UNION ALL
	SELECT d.at, 'c_delivery', d.notice_key, 'delivery', n.invoice_id, 'provider',
		jsonb_strip_nulls(jsonb_build_object('event', d.status, 'step', n.step, 'channel', n.channel,
			'status', d.status, 'final', d.final, 'error', nullif(d.error, '')))
	FROM inv JOIN notices n USING (invoice_id) JOIN notice_deliveries d ON d.notice_key = n.notice_key
	WHERE n.message_key IS NULL

	UNION ALL
	-- A consolidated message's delivery, once (its latest report on any of its
	-- notices, which share the provider's message).
	SELECT * FROM (
		SELECT DISTINCT ON (m.message_key) d.at, 'c_delivery', m.message_key, 'delivery', '', 'provider',
			jsonb_strip_nulls(jsonb_build_object('event', d.status, 'message_key', m.message_key, 'channel', m.channel,
				'status', d.status, 'final', d.final, 'error', nullif(d.error, ''), 'covered', m.covered))
		FROM account_messages m
		JOIN notices n ON n.message_key = m.message_key
		JOIN notice_deliveries d ON d.notice_key = n.notice_key
		WHERE m.customer_id = $1
		ORDER BY m.message_key, d.at DESC, d.notice_key
	) md

	UNION ALL
	SELECT p.paid_at, 'd_payment', p.invoice_id || '/' || p.payment_id, 'payment', p.invoice_id, 'customer',
		jsonb_build_object('event', 'paid', 'payment_id', p.payment_id, 'currency', p.currency,
			'amount_minor', p.amount_minor, 'applied_minor', p.applied_minor, 'credit_minor', p.credit_minor,
			'balance_after_minor', p.balance_after_minor)
	FROM inv JOIN payments p USING (invoice_id)

	UNION ALL
	SELECT e.at, 'e_event', e.invoice_id || '/' || e.event_key,
		CASE WHEN e.kind LIKE 'dispute_%' THEN 'dispute'
			WHEN e.kind LIKE 'promise_%' THEN 'promise'
			WHEN e.kind LIKE 'plan_%' THEN 'plan'
			WHEN e.kind IN ('paused', 'resumed') THEN 'pause'
			WHEN e.kind IN ('approval_requested', 'approved', 'rejected') THEN 'approval'
			WHEN e.kind = 'refunded' THEN 'refund'
			WHEN e.kind IN ('late_fee_charged', 'interest_charged', 'discount_taken', 'compensation_charged') THEN 'charge'
			WHEN e.kind IN ('cancelled', 'written_off') THEN 'closure'
			WHEN e.kind IN ('policy_changed', 'due_date_changed') THEN 'change'
			ELSE 'adjustment' END, -- adjusted, reopened
		e.invoice_id, e.actor,
		jsonb_build_object('currency', inv.currency) || e.details || jsonb_strip_nulls(jsonb_build_object('event', e.kind, 'reason', nullif(e.reason, ''),
			'adjustment', CASE WHEN a.adjustment_id IS NOT NULL THEN jsonb_strip_nulls(jsonb_build_object(
				'adjustment_id', a.adjustment_id, 'kind', a.kind, 'currency', a.currency,
				'amount_minor', a.amount_minor, 'credit_minor', a.credit_minor,
				'balance_after_minor', a.balance_after_minor, 'payment_id', nullif(a.payment_id, ''))) END))
	FROM inv JOIN lifecycle_events e USING (invoice_id)
	LEFT JOIN adjustments a ON a.invoice_id = e.invoice_id AND a.event_key = e.event_key
	WHERE e.kind <> 'opted_out'

	UNION ALL
	SELECT a.at, 'f_adjustment', a.invoice_id || '/' || a.adjustment_id,
		CASE WHEN a.kind IN ('refund', 'chargeback') THEN 'refund'
			WHEN a.kind IN ('late_fee', 'interest', 'discount') THEN 'charge'
			WHEN a.kind IN ('write_off', 'void') THEN 'closure'
			ELSE 'adjustment' END, -- adjustment, credit_note
		a.invoice_id, a.actor,
		jsonb_build_object('event', a.kind, 'reason', a.reason, 'adjustment', jsonb_strip_nulls(jsonb_build_object(
			'adjustment_id', a.adjustment_id, 'kind', a.kind, 'currency', a.currency,
			'amount_minor', a.amount_minor, 'credit_minor', a.credit_minor,
			'balance_after_minor', a.balance_after_minor, 'payment_id', nullif(a.payment_id, ''))))
	FROM inv JOIN adjustments a USING (invoice_id)
	WHERE a.event_key IS NULL

	UNION ALL
	SELECT x.escalated_at, 'g_escalation', x.invoice_id, 'escalation', x.invoice_id, 'dunwell',
		jsonb_build_object('event', 'escalated', 'target', x.target, 'currency', x.currency,
			'balance_minor', x.balance_minor, 'status', x.status)
	FROM inv JOIN escalations x USING (invoice_id)

	UNION ALL
	SELECT o.at, 'h_opt_out', lpad(o.id::text, 20, '0'), 'opt_out', '',
		CASE WHEN o.source IN ('bounce', 'dropped', 'invalid') THEN 'provider'
			WHEN o.source = 'operator' THEN 'operator' ELSE 'customer' END,
		jsonb_build_object('event', CASE WHEN o.opted_out THEN 'opted_out' ELSE 'opted_in' END,
			'channel', o.channel, 'source', o.source)
	FROM opt_out_events o WHERE o.customer_ids @> ARRAY[$1::text]

	UNION ALL
	SELECT l.at, 'i_audit', lpad(l.id::text, 20, '0'),
		CASE WHEN who.actor = 'customer' THEN 'customer_action' ELSE 'operator_action' END,
		coalesce(l.invoice_id, ''), who.actor,
		(l.details - 'method' - 'path' - 'credential' - 'actor' - 'customer_id') || jsonb_strip_nulls(jsonb_build_object(
			'event', l.action, 'outcome', nullif(l.outcome, ''), 'reason', nullif(l.reason, '')))
	FROM (
		SELECT a.* FROM inv JOIN audit_log a USING (invoice_id)
		UNION ALL
		SELECT a.* FROM audit_log a
		WHERE a.details ? 'customer_id' AND a.details->>'customer_id' = $1
			AND (a.invoice_id IS NULL OR a.invoice_id NOT IN (SELECT invoice_id FROM inv))
	) l
	-- Who: the actor the entry names (the portal's "customer"), else the API key.
	CROSS JOIN LATERAL (SELECT coalesce(nullif(l.details->>'actor', ''),
		CASE WHEN l.key_id IS NOT NULL THEN 'key:' || l.key_name ELSE nullif(l.key_name, '') END,
		nullif(l.details->>'by', ''), 'unknown') AS actor) who
	WHERE l.action NOT IN ('customer.note', 'task.complete') -- the note, the task's outcome: their own entries

	UNION ALL
	SELECT c.created_at, 'j_note', lpad(c.note_id::text, 20, '0'), 'note', coalesce(c.invoice_id, ''), c.author,
		jsonb_build_object('event', 'noted', 'note_id', c.note_id, 'text', c.text)
	FROM customer_notes c WHERE c.customer_id = $1

	UNION ALL
	-- A task: opened, then done (the outcome and note a person recorded) or closed.
	SELECT k.at, 'k_task', lpad(t.task_id::text, 20, '0') || '/' || k.event, 'task', coalesce(t.invoice_id, ''), k.actor,
		jsonb_strip_nulls(jsonb_build_object('event', k.event, 'task_id', t.task_id, 'task_kind', t.kind,
			'step', nullif(t.step, ''), 'assignee', nullif(t.assignee, ''), 'invoice_ids', t.invoice_ids,
			'outcome', CASE WHEN k.event = 'done' THEN t.outcome END,
			'note', CASE WHEN k.event = 'done' THEN nullif(t.note, '') END,
			'promise_date', CASE WHEN k.event = 'done' THEN t.promise_date END,
			'promise_amount_minor', CASE WHEN k.event = 'done' THEN t.promise_amount_minor END,
			'currency', (SELECT i.currency FROM invoices i WHERE i.invoice_id = t.invoice_id),
			'reason', CASE WHEN k.event = 'closed' THEN t.closed_reason END))
	FROM tasks t
	CROSS JOIN LATERAL (VALUES ('opened', t.created_at, 'dunwell'), ('done', t.completed_at, t.completed_by),
		('closed', t.closed_at, 'dunwell')) k (event, at, actor)
	WHERE t.customer_id = $1 AND k.at IS NOT NULL

	UNION ALL
	-- An email the customer sent to the reply-to address (the Inbound Parse webhook),
	-- with what the reply rules say it claims, for a collector to confirm.
	SELECT r.received_at, 'l_reply', lpad(r.reply_id::text, 20, '0'), 'reply',
		CASE WHEN cardinality(r.invoice_ids) = 1 THEN r.invoice_ids[1] ELSE '' END, 'customer',
		jsonb_build_object('event', 'received', 'reply_id', r.reply_id, 'subject', r.subject,
			'text', left(r.body, 1000), 'invoice_ids', to_jsonb(r.invoice_ids), 'says', to_jsonb(r.says),
			'matched_by', r.matched_by)
	FROM inbound_replies r WHERE r.customer_id = $1
) t
WHERE ($2::timestamptz IS NULL OR (t.at, t.src, t.key) < ($2, $3::text, $4::text))
	AND ($6::text[] IS NULL OR t.kind = ANY ($6))
ORDER BY t.at DESC, t.src DESC, t.key DESC
LIMIT $5`
