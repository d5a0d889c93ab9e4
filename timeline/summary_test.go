package timeline

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSummary(t *testing.T) {
	fee := map[string]any{"adjustment_id": "late-fee/1", "kind": "late_fee", "currency": "EUR",
		"amount_minor": float64(500), "credit_minor": float64(0), "balance_after_minor": float64(12_845)}
	for _, tc := range []struct {
		name string
		e    Entry
		want string
	}{
		{"issued", Entry{Kind: "invoice", InvoiceID: "INV-1", Details: map[string]any{"event": "issued", "currency": "EUR",
			"amount_due_minor": float64(12_345), "due_date": "2026-03-31"}},
			"Invoice INV-1 issued: 123.45 EUR due 2026-03-31"},
		{"yen", Entry{Kind: "invoice", InvoiceID: "INV-2", Details: map[string]any{"event": "issued", "currency": "JPY",
			"amount_due_minor": float64(5000), "due_date": "2026-04-01"}},
			"Invoice INV-2 issued: 5000 JPY due 2026-04-01"},
		{"sent", Entry{Kind: "message", InvoiceID: "INV-1", Details: map[string]any{"event": "sent", "step": "first", "channel": "email", "status": "sent"}},
			`Reminder "first" sent by email for invoice INV-1`},
		{"failed", Entry{Kind: "message", InvoiceID: "INV-1", Details: map[string]any{"step": "final", "channel": "sms", "status": "failed", "error": "unreachable"}},
			`Reminder "final" by SMS failed for invoice INV-1: unreachable`},
		{"undeliverable", Entry{Kind: "message", InvoiceID: "INV-1", Details: map[string]any{"step": "final", "channel": "sms", "status": "undeliverable"}},
			`Reminder "final" for invoice INV-1 reached no channel`},
		{"sending", Entry{Kind: "message", InvoiceID: "INV-1", Details: map[string]any{"step": "first", "channel": "sms", "status": "sending", "attempts": float64(2)}},
			`Reminder "first" being sent by SMS for invoice INV-1 (attempt 2)`},
		{"consolidated", Entry{Kind: "message", Details: map[string]any{"event": "sent", "channel": "email", "status": "sent",
			"covered":  []any{map[string]any{"invoice_id": "INV-1", "step": "first"}, map[string]any{"invoice_id": "INV-2", "step": "due"}},
			"left_out": []any{map[string]any{"invoice_id": "INV-3", "step": "first", "reason": "paid"}}}},
			"Reminder sent by email for 2 invoices: INV-1 (first), INV-2 (due); left out INV-3 (paid)"},
		{"consolidated, all left out", Entry{Kind: "message", Details: map[string]any{"channel": "sms", "status": "failed", "covered": []any{},
			"left_out": []any{map[string]any{"invoice_id": "INV-3", "step": "first", "reason": "disputed"}}}},
			"No reminder by SMS: every invoice was left out; left out INV-3 (disputed)"},
		{"consolidated, failed", Entry{Kind: "message", Details: map[string]any{"channel": "sms", "status": "failed", "error": "unreachable",
			"covered": []any{map[string]any{"invoice_id": "INV-1", "step": "first"}}}},
			"Reminder by SMS for 1 invoice failed (unreachable): INV-1 (first)"},
		{"consolidated, sending", Entry{Kind: "message", Details: map[string]any{"channel": "email", "status": "sending", "attempts": float64(1),
			"covered": []any{map[string]any{"invoice_id": "INV-1", "step": "first"}}}},
			"Reminder being sent by email for 1 invoice (attempt 1): INV-1 (first)"},
		{"consolidated delivery", Entry{Kind: "delivery", Details: map[string]any{"channel": "email", "status": "bounced", "error": "550",
			"covered": []any{map[string]any{"invoice_id": "INV-1", "step": "first"}, map[string]any{"invoice_id": "INV-2", "step": "due"}}}},
			"Email reminder for 2 invoices bounced: 550"},
		{"delivered", Entry{Kind: "delivery", InvoiceID: "INV-1", Details: map[string]any{"step": "first", "channel": "email", "status": "delivered"}},
			`Email of reminder "first" for invoice INV-1 delivered`},
		{"bounced", Entry{Kind: "delivery", InvoiceID: "INV-1", Details: map[string]any{"step": "first", "channel": "email", "status": "bounced", "error": "550 no such user"}},
			`Email of reminder "first" for invoice INV-1 bounced: 550 no such user`},
		{"payment", Entry{Kind: "payment", InvoiceID: "INV-1", Details: map[string]any{"currency": "EUR", "amount_minor": float64(2000), "credit_minor": float64(0), "balance_after_minor": float64(10_345)}},
			"Payment of 20.00 EUR received for invoice INV-1; balance now 103.45 EUR"},
		{"over-payment", Entry{Kind: "payment", InvoiceID: "INV-1", Details: map[string]any{"currency": "EUR", "amount_minor": float64(13_000), "credit_minor": float64(655), "balance_after_minor": float64(0)}},
			"Payment of 130.00 EUR received for invoice INV-1, 6.55 EUR of it as credit; balance now 0.00 EUR"},
		{"dispute", Entry{Kind: "dispute", InvoiceID: "INV-1", Details: map[string]any{"event": "dispute_opened", "reason": "goods damaged"}},
			"Dispute opened on invoice INV-1: goods damaged"},
		{"promise", Entry{Kind: "promise", InvoiceID: "INV-1", Details: map[string]any{"event": "promise_made", "currency": "EUR", "amount_minor": float64(5000), "date": "2026-04-10"}},
			"Promise to pay 50.00 EUR by 2026-04-10 on invoice INV-1"},
		{"promise broken", Entry{Kind: "promise", InvoiceID: "INV-1", Details: map[string]any{"event": "promise_broken", "reason": "50.00 promised by 2026-04-10 was not paid"}},
			"Promise on invoice INV-1 broken: 50.00 promised by 2026-04-10 was not paid"},
		{"plan", Entry{Kind: "plan", InvoiceID: "INV-1", Details: map[string]any{"event": "plan_agreed", "installments": float64(3), "first_due": "2026-04-01", "last_due": "2026-06-01"}},
			"Payment plan agreed on invoice INV-1: 3 installments, 2026-04-01 to 2026-06-01"},
		{"pause", Entry{Kind: "pause", InvoiceID: "INV-1", Details: map[string]any{"event": "paused", "until": "2026-04-01", "reason": "on holiday"}},
			"Reminders paused on invoice INV-1 until 2026-04-01: on holiday"},
		{"late fee", Entry{Kind: "charge", InvoiceID: "INV-1", Details: map[string]any{"event": "late_fee_charged", "currency": "EUR", "adjustment": fee}},
			"Late fee of 5.00 EUR charged on invoice INV-1 (balance now 128.45 EUR)"},
		{"legacy late fee", Entry{Kind: "charge", InvoiceID: "INV-1", Details: map[string]any{"event": "late_fee", "reason": "", "adjustment": fee}},
			"Late fee of 5.00 EUR charged on invoice INV-1 (balance now 128.45 EUR)"},
		{"compensation", Entry{Kind: "charge", InvoiceID: "INV-1", Details: map[string]any{"event": "compensation_charged", "currency": "EUR", "adjustment": fee}},
			"Compensation for recovery costs of 5.00 EUR charged on invoice INV-1 (balance now 128.45 EUR)"},
		{"refund", Entry{Kind: "refund", InvoiceID: "INV-1", Details: map[string]any{"event": "refunded", "adjustment": map[string]any{
			"kind": "refund", "currency": "EUR", "amount_minor": float64(1000), "balance_after_minor": float64(1000)}}},
			"Refund of 10.00 EUR on invoice INV-1 (balance now 10.00 EUR)"},
		{"chargeback", Entry{Kind: "refund", InvoiceID: "INV-1", Details: map[string]any{"event": "refunded", "adjustment": map[string]any{
			"kind": "chargeback", "currency": "EUR", "amount_minor": float64(1000), "balance_after_minor": float64(1000)}}},
			"Chargeback of 10.00 EUR on invoice INV-1 (balance now 10.00 EUR)"},
		{"discount", Entry{Kind: "charge", InvoiceID: "INV-1", Details: map[string]any{"event": "discount_taken", "adjustment": map[string]any{
			"kind": "discount", "currency": "EUR", "amount_minor": float64(-200), "balance_after_minor": float64(0)}}},
			"Early-payment discount of 2.00 EUR on invoice INV-1 (balance now 0.00 EUR)"},
		{"written off", Entry{Kind: "closure", InvoiceID: "INV-1", Details: map[string]any{"event": "written_off", "reason": "insolvent"}},
			"Invoice INV-1 written off: insolvent"},
		{"policy", Entry{Kind: "change", InvoiceID: "INV-1", Details: map[string]any{"event": "policy_changed", "policy_id": "gentle", "policy_version": float64(2), "reason": "key account"}},
			"Invoice INV-1 moved to policy gentle v2: key account"},
		{"due date", Entry{Kind: "change", InvoiceID: "INV-1", Details: map[string]any{"event": "due_date_changed", "due_date": "2026-05-01"}},
			"Due date of invoice INV-1 moved to 2026-05-01"},
		{"escalation", Entry{Kind: "escalation", InvoiceID: "INV-1", Details: map[string]any{"target": "legal", "currency": "EUR", "balance_minor": float64(12_845)}},
			"Invoice INV-1 handed to legal with 128.45 EUR open"},
		{"opt-out", Entry{Kind: "opt_out", Details: map[string]any{"event": "opted_out", "channel": "sms", "source": "stop"}},
			"SMS messages stopped (STOP by text)"},
		{"opt-in", Entry{Kind: "opt_out", Details: map[string]any{"event": "opted_in", "channel": "email", "source": "resubscribe"}},
			"Email messages allowed again (resubscribed)"},
		{"operator", Entry{Kind: "operator_action", InvoiceID: "INV-1", Actor: "key:ops", Details: map[string]any{"event": "invoice.pause", "outcome": "rejected", "reason": "invoice is paid"}},
			"key:ops: invoice.pause on invoice INV-1 (rejected): invoice is paid"},
		{"portal", Entry{Kind: "customer_action", Actor: "customer", Details: map[string]any{"event": "portal.visit"}},
			"customer: portal.visit"},
		{"assigned", Entry{Kind: "operator_action", Actor: "key:ops", Details: map[string]any{"event": "customer.assign", "outcome": "applied", "collector": "ada"}},
			"key:ops: assigned to collector ada"},
		{"assigned by rule", Entry{Kind: "operator_action", Actor: "dunwell", Details: map[string]any{"event": "customer.assign", "outcome": "applied", "collector": "ada", "rule": "segment:smb"}},
			"Assigned to collector ada by the rule for segment smb"},
		{"assignment refused", Entry{Kind: "operator_action", Actor: "key:ops", Details: map[string]any{"event": "customer.assign", "outcome": "rejected", "reason": "not a collector"}},
			"key:ops: customer.assign (rejected): not a collector"},
		{"unassigned", Entry{Kind: "operator_action", Actor: "key:ops", Details: map[string]any{"event": "customer.unassign", "outcome": "applied"}},
			"key:ops: unassigned from every collector"},
		{"reply", Entry{Kind: "reply", Actor: "customer", Details: map[string]any{"event": "received", "subject": "Re: INV-1 overdue",
			"invoice_ids": []any{"INV-1", "INV-2"}, "says": []any{"paid"}}},
			`Reply by email: "Re: INV-1 overdue" about INV-1, INV-2; says paid (to confirm)`},
		{"reply, nothing claimed", Entry{Kind: "reply", Actor: "customer", Details: map[string]any{"event": "received", "subject": "", "invoice_ids": []any{}, "says": []any{}}},
			"Reply by email"},
		{"note", Entry{Kind: "note", Actor: "key:ops", Details: map[string]any{"text": "  Called.\nWill pay Friday.  "}},
			"Note: Called. …"},
		{"note on invoice", Entry{Kind: "note", InvoiceID: "INV-1", Details: map[string]any{"text": strings.Repeat("a", 130)}},
			"Note on invoice INV-1: " + strings.Repeat("a", 119) + "…"},
		{"unknown", Entry{Kind: "call", InvoiceID: "INV-1", Details: map[string]any{"event": "call_completed"}},
			"call completed on invoice INV-1"},
		{"no details", Entry{Kind: "payment", InvoiceID: "INV-1"},
			"Payment of 0.00 received for invoice INV-1; balance now 0.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Summary(tc.e))
		})
	}
}

func TestDecimal(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in, out map[string]any
	}{
		{"nil", nil, nil},
		{"payment", map[string]any{"currency": "EUR", "amount_minor": float64(1250), "payment_id": "p1"},
			map[string]any{"currency": "EUR", "amount": "12.50", "payment_id": "p1"}},
		{"nested inherits", map[string]any{"currency": "JPY", "event": "refunded", "adjustment": map[string]any{"amount_minor": float64(-300)}},
			map[string]any{"currency": "JPY", "event": "refunded", "adjustment": map[string]any{"amount": "-300"}}},
		{"nested own currency", map[string]any{"currency": "EUR", "adjustment": map[string]any{"currency": "KWD", "amount_minor": float64(1500)}},
			map[string]any{"currency": "EUR", "adjustment": map[string]any{"currency": "KWD", "amount": "1.500"}}},
		{"no currency", map[string]any{"amount_minor": float64(5), "status": float64(200)},
			map[string]any{"amount_minor": float64(5), "status": float64(200)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.out, Decimal(tc.in))
		})
	}
}
