// Package timeline puts a customer's timeline entries (ledger.Timeline) into plain
// words: what a collector reads before picking up the phone. It is pure: the entry's
// kind and stored details in, one line of English out.
package timeline

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dunwell/dunwell/money"
)

// Entry is what Summary reads of a timeline entry.
type Entry struct {
	Kind      string
	InvoiceID string
	Actor     string
	// Details as the ledger stores them: JSON numbers are float64, event names the
	// precise event, amounts are minor units with a currency.
	Details map[string]any
}

// MaxNoteSummary bounds how much of a note its summary shows, in characters.
const MaxNoteSummary = 120

// Summary says what happened in one line. An entry it does not know reads as its
// kind and event, so a new kind of entry is never dropped.
func Summary(e Entry) string {
	d := details(e.Details)
	inv := "invoice " + e.InvoiceID
	event := d.str("event")
	var s string
	switch e.Kind {
	case "invoice":
		s = fmt.Sprintf("Invoice %s issued: %s due %s", e.InvoiceID, d.money("amount_due_minor", d.str("currency")), d.str("due_date"))
	case "message":
		s = message(d, inv)
	case "delivery":
		s = delivery(d, inv)
	case "payment":
		s = fmt.Sprintf("Payment of %s received for %s", d.money("amount_minor", d.str("currency")), inv)
		if d.num("credit_minor") > 0 {
			s += fmt.Sprintf(", %s of it as credit", d.money("credit_minor", d.str("currency")))
		}
		s += fmt.Sprintf("; balance now %s", d.money("balance_after_minor", d.str("currency")))
	case "escalation":
		target := "a collection agency"
		if d.str("target") == "legal" {
			target = "legal"
		}
		s = fmt.Sprintf("Invoice %s handed to %s with %s open", e.InvoiceID, target, d.money("balance_minor", d.str("currency")))
	case "opt_out":
		s = optOut(d)
	case "operator_action", "customer_action":
		s = action(e, d)
	case "task":
		return task(e, d)
	case "reply":
		return reply(d)
	case "note":
		s = "Note: " + firstLine(d.str("text"), MaxNoteSummary)
		if e.InvoiceID != "" {
			s = fmt.Sprintf("Note on %s: %s", inv, firstLine(d.str("text"), MaxNoteSummary))
		}
		return s
	default:
		s = lifecycle(event, d, inv)
	}
	if r := d.str("reason"); r != "" && e.Kind != "operator_action" && e.Kind != "customer_action" {
		s += ": " + firstLine(r, MaxNoteSummary)
	}
	return s
}

// task words a task's entry: opened, done with its outcome and note, or closed.
func task(e Entry, d details) string {
	what := d.str("task_kind") + " task"
	if d.str("task_kind") == "call" {
		what = "Call"
	}
	about := ""
	if e.InvoiceID != "" {
		about = " about invoice " + e.InvoiceID
	}
	switch d.str("event") {
	case "opened":
		s := capitalize(what) + about + " opened"
		if a := d.str("assignee"); a != "" {
			s += " for " + a
		}
		return s
	case "done":
		s := capitalize(what) + about + ": " + strings.ReplaceAll(d.str("outcome"), "_", " ")
		if p := d.str("promise_date"); p != "" {
			s += " to pay"
			if d.has("promise_amount_minor") {
				s += " " + d.money("promise_amount_minor", d.str("currency"))
			}
			s += " by " + p
		}
		if n := d.str("note"); n != "" {
			s += ": " + firstLine(n, MaxNoteSummary)
		}
		return s
	case "closed":
		return capitalize(what) + about + " closed: " + firstLine(d.str("reason"), MaxNoteSummary)
	}
	return capitalize(what) + about + " " + d.str("event")
}

// lifecycle words the lifecycle events (disputes, promises, plans, pauses, money).
func lifecycle(event string, d details, inv string) string {
	cur := d.str("currency")
	adj := details(d.obj("adjustment"))
	amount := func() string { // the money the event moved, else what its details say
		if adj != nil {
			return adj.money("amount_minor", adj.str("currency"))
		}
		return d.money("amount_minor", cur)
	}
	var s string
	switch event {
	case "dispute_opened":
		s = "Dispute opened on " + inv
	case "dispute_resolved":
		s = "Dispute on " + inv + " resolved; the debt stands"
	case "dispute_upheld":
		s = "Dispute on " + inv + " upheld"
	case "promise_made":
		s = fmt.Sprintf("Promise to pay %s by %s on %s", d.money("amount_minor", cur), d.str("date"), inv)
	case "promise_kept":
		s = "Promise on " + inv + " kept"
	case "promise_broken":
		s = "Promise on " + inv + " broken"
	case "plan_agreed":
		s = fmt.Sprintf("Payment plan agreed on %s: %d installments, %s to %s", inv, int64(d.num("installments")), d.str("first_due"), d.str("last_due"))
	case "plan_completed":
		s = "Payment plan on " + inv + " completed"
	case "plan_broken":
		s = "Payment plan on " + inv + " broken"
	case "paused":
		s = "Reminders paused on " + inv
		if u := d.str("until"); u != "" {
			s += " until " + u
		}
	case "resumed":
		s = "Reminders resumed on " + inv
	case "approval_requested":
		s = inv + " waits for approval"
	case "approved":
		s = "Approved on " + inv
	case "rejected":
		s = "Rejected on " + inv
	case "refunded", "refund", "chargeback":
		what := "Refund"
		if adj.str("kind") == "chargeback" || event == "chargeback" {
			what = "Chargeback"
		}
		s = fmt.Sprintf("%s of %s on %s", what, negate(amount()), inv)
	case "adjusted", "adjustment", "credit_note":
		s = fmt.Sprintf("Amount due of %s changed by %s", inv, amount())
	case "reopened":
		s = "Invoice " + strings.TrimPrefix(inv, "invoice ") + " reopened"
	case "cancelled", "void":
		s = "Invoice " + strings.TrimPrefix(inv, "invoice ") + " cancelled"
	case "written_off", "write_off":
		s = "Invoice " + strings.TrimPrefix(inv, "invoice ") + " written off"
	case "late_fee_charged", "late_fee":
		s = fmt.Sprintf("Late fee of %s charged on %s", amount(), inv)
	case "interest_charged", "interest":
		s = fmt.Sprintf("Interest of %s charged on %s", amount(), inv)
	case "compensation_charged", "compensation":
		s = fmt.Sprintf("Compensation for recovery costs of %s charged on %s", amount(), inv)
	case "discount_taken", "discount":
		s = fmt.Sprintf("Early-payment discount of %s on %s", negate(amount()), inv)
	case "policy_changed":
		s = fmt.Sprintf("%s moved to policy %s v%d", capitalize(inv), d.str("policy_id"), int64(d.num("policy_version")))
	case "due_date_changed":
		s = fmt.Sprintf("Due date of %s moved to %s", inv, d.str("due_date"))
	default:
		s = strings.ReplaceAll(event, "_", " ") + " on " + inv
	}
	if adj != nil && adj.has("balance_after_minor") {
		s += fmt.Sprintf(" (balance now %s)", adj.money("balance_after_minor", adj.str("currency")))
	}
	return s
}

var channels = map[string]string{"email": "Email", "sms": "SMS"}

func channel(d details) string {
	if c, ok := channels[d.str("channel")]; ok {
		return c
	}
	return d.str("channel")
}

func message(d details, inv string) string {
	step, ch := d.str("step"), channel(d)
	if ch == "Email" {
		ch = "email"
	}
	if d.has("covered") {
		return consolidated(d, ch)
	}
	switch d.str("status") {
	case "sent":
		return fmt.Sprintf("Reminder %q sent by %s for %s", step, ch, inv)
	case "failed":
		return fmt.Sprintf("Reminder %q by %s failed for %s%s", step, ch, inv, colon(d.str("error")))
	case "undeliverable":
		return fmt.Sprintf("Reminder %q for %s reached no channel%s", step, inv, colon(d.str("error")))
	default:
		return fmt.Sprintf("Reminder %q being sent by %s for %s (attempt %d)", step, ch, inv, int64(d.num("attempts")))
	}
}

// consolidated words one message about several invoices: the invoice steps it
// covered and those it left out, with why.
func consolidated(d details, ch string) string {
	covered := lines(d["covered"], false)
	var s string
	switch d.str("status") {
	case "sent":
		s = fmt.Sprintf("Reminder sent by %s for %s: %s", ch, invoices(len(covered)), strings.Join(covered, ", "))
	case "failed":
		if len(covered) == 0 {
			s = fmt.Sprintf("No reminder by %s: every invoice was left out", ch)
		} else {
			why := ""
			if e := d.str("error"); e != "" {
				why = " (" + e + ")"
			}
			s = fmt.Sprintf("Reminder by %s for %s failed%s: %s", ch, invoices(len(covered)), why, strings.Join(covered, ", "))
		}
	default:
		s = fmt.Sprintf("Reminder being sent by %s for %s (attempt %d): %s", ch, invoices(len(covered)), int64(d.num("attempts")), strings.Join(covered, ", "))
	}
	if left := lines(d["left_out"], true); len(left) > 0 {
		s += "; left out " + strings.Join(left, ", ")
	}
	return s
}

// lines lists a message's invoice steps as "INV-1 (first)", or with the reason it
// was left out as "INV-2 (paid)".
func lines(v any, reasons bool) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, item := range list {
		l := details(asMap(item))
		what := l.str("step")
		if reasons && l.str("reason") != "" {
			what = l.str("reason")
		}
		out = append(out, fmt.Sprintf("%s (%s)", l.str("invoice_id"), what))
	}
	return out
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func invoices(n int) string {
	if n == 1 {
		return "1 invoice"
	}
	return fmt.Sprintf("%d invoices", n)
}

func delivery(d details, inv string) string {
	if d.has("covered") {
		covered := lines(d["covered"], false)
		return fmt.Sprintf("%s reminder for %s %s%s", channel(d), invoices(len(covered)), d.str("status"), colon(d.str("error")))
	}
	s := fmt.Sprintf("%s of reminder %q for %s %s", channel(d), d.str("step"), inv, d.str("status"))
	return s + colon(d.str("error"))
}

var optOutSources = map[string]string{
	"stop": "STOP by text", "unsubscribe": "unsubscribed", "spamreport": "reported as spam",
	"bounce": "the address bounced", "dropped": "the provider refused the address",
	"invalid": "the address cannot receive", "start": "START by text",
	"resubscribe": "resubscribed", "operator": "an operator's decision", "portal": "through the portal",
}

func optOut(d details) string {
	why := optOutSources[d.str("source")]
	if why == "" {
		why = d.str("source")
	}
	if d.str("event") == "opted_in" {
		return fmt.Sprintf("%s messages allowed again (%s)", channel(d), why)
	}
	return fmt.Sprintf("%s messages stopped (%s)", channel(d), why)
}

// action words an audit entry generically: who called what, on which invoice, with
// what outcome and why.
func action(e Entry, d details) string {
	switch d.str("event") {
	case "customer.assign":
		if d.str("outcome") == "rejected" {
			break
		}
		if rule := d.str("rule"); rule != "" {
			return fmt.Sprintf("Assigned to collector %s by the rule for %s", d.str("collector"), strings.ReplaceAll(rule, ":", " "))
		}
		return fmt.Sprintf("%s: assigned to collector %s", e.Actor, d.str("collector"))
	case "customer.unassign":
		if d.str("outcome") != "rejected" {
			return e.Actor + ": unassigned from every collector"
		}
	}
	s := e.Actor + ": " + d.str("event")
	if e.InvoiceID != "" {
		s += " on invoice " + e.InvoiceID
	}
	if o := d.str("outcome"); o != "" {
		s += " (" + o + ")"
	}
	return s + colon(firstLine(d.str("reason"), MaxNoteSummary))
}

// details reads the JSON details of an entry leniently: a missing or mistyped value
// reads as empty.
type details map[string]any

func (d details) has(k string) bool { _, ok := d[k]; return ok }

func (d details) str(k string) string {
	s, _ := d[k].(string)
	return s
}

func (d details) num(k string) float64 {
	f, _ := d[k].(float64)
	return f
}

func (d details) obj(k string) map[string]any {
	m, _ := d[k].(map[string]any)
	return m
}

// money formats minor units of k in currency ("12.50 EUR").
func (d details) money(k, currency string) string {
	return strings.TrimSpace(money.Format(int64(d.num(k)), currency) + " " + currency)
}

func negate(amount string) string { return strings.TrimPrefix(amount, "-") }

func colon(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// firstLine is the first line of s, cut to max characters with an ellipsis.
func firstLine(s string, max int) string {
	line, _, more := strings.Cut(strings.TrimSpace(s), "\n")
	line = strings.TrimSpace(line)
	if utf8.RuneCountInString(line) > max {
		r := []rune(line)
		return string(r[:max-1]) + "…"
	}
	if more {
		return line + " …"
	}
	return line
}

// Decimal returns a copy of details for the API, where money is a decimal string in
// major units: every number under a key ending in "_minor" becomes the same amount
// under the key without the suffix ("amount_minor": 1250 with currency EUR becomes
// "amount": "12.50"), in the currency named beside it or, in a nested object without
// one, by its parent. Amounts without a known currency keep their minor units.
func Decimal(details map[string]any) map[string]any {
	return decimal(details, "")
}

func decimal(m map[string]any, currency string) map[string]any {
	if m == nil {
		return nil
	}
	if c, ok := m["currency"].(string); ok && c != "" {
		currency = c
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case map[string]any:
			out[k] = decimal(v, currency)
		case float64:
			if name, ok := strings.CutSuffix(k, "_minor"); ok && currency != "" && name != "" {
				out[name] = money.Format(int64(v), currency)
				continue
			}
			out[k] = v
		default:
			out[k] = v
		}
	}
	return out
}

// reply words an email the customer sent: its subject, the invoices it names and
// what the rules say it claims, which a person confirms.
func reply(d details) string {
	s := "Reply by email"
	if subj := firstLine(d.str("subject"), MaxNoteSummary); subj != "" {
		s += ": " + strconv.Quote(subj)
	}
	if ids := strs(d["invoice_ids"]); len(ids) > 0 {
		s += " about " + strings.Join(ids, ", ")
	}
	if says := strs(d["says"]); len(says) > 0 {
		s += "; says " + strings.Join(says, " and ") + " (to confirm)"
	}
	return s
}

// strs reads a JSON array of strings.
func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, item := range list {
		if s, ok := item.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}
