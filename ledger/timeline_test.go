package ledger

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// issueAt stores a new invoice of customer, issued at.
func issueAt(t *testing.T, customer string, at time.Time) string {
	t.Helper()
	id := uid("inv")
	r := invoiceRecord(id, "body")
	r.CustomerID, r.IssuedAt = customer, at
	out, err := testStore.IssueInvoice(context.Background(), r)
	require.NoError(t, err)
	require.Equal(t, IssueCreated, out)
	return id
}

// seen is what a test checks of an entry: kind, event, invoice and actor.
type seen struct{ kind, event, invoice, actor string }

func seenOf(entries []TimelineEntry) []seen {
	out := make([]seen, len(entries))
	for i, e := range entries {
		ev, _ := e.Details["event"].(string)
		out[i] = seen{e.Kind, ev, e.InvoiceID, e.Actor}
	}
	return out
}

func TestTimelineGathersEverySourceNewestFirst(t *testing.T) {
	ctx := parallel(t)
	cust, other := uid("cust"), uid("cust")
	a := issueAt(t, cust, t0)
	b := issueAt(t, cust, t0.Add(time.Hour))
	x := issueAt(t, other, t0.Add(2*time.Hour))

	// A reminder on a, sent and delivered; one on x, which must not show.
	for _, inv := range []string{a, x} {
		key := inv + "/first/email"
		_, err := testStore.ClaimNotice(ctx, NoticeClaim{Key: key, InvoiceID: inv, Step: "first", Channel: "email"})
		require.NoError(t, err)
		require.NoError(t, testStore.CompleteNotice(ctx, key, NoticeSent, "sg-"+inv, "", t0.Add(24*time.Hour)))
		_, _, err = testStore.RecordDelivery(ctx, DeliveryUpdate{NoticeKey: key, Status: DeliveryDelivered, At: t0.Add(24*time.Hour + time.Minute)})
		require.NoError(t, err)
	}
	// The customer's phone said STOP.
	_, err := testStore.RecordOptOut(ctx, OptOutChange{EventID: uid("twilio"), Channel: ChannelSMS, Address: "+4915112345678",
		CustomerIDs: []string{cust}, OptedOut: true, Source: SourceStop, At: t0.Add(30 * time.Hour)})
	require.NoError(t, err)
	// b is paid; x too.
	for _, inv := range []string{b, x} {
		_, err = testStore.RecordPayment(ctx, PaymentRecord{InvoiceID: inv, PaymentID: "pay-1", Currency: "EUR", Amount: 12_345,
			Applied: 12_345, BalanceAfter: 0, PaidAt: t0.Add(48 * time.Hour), AppliedAt: t0.Add(48 * time.Hour), Status: StatusPaid})
		require.NoError(t, err)
	}
	// a is disputed, and charged a late fee (one entry: the event with its money).
	_, err = testStore.RecordEvent(ctx, LifecycleEvent{InvoiceID: a, EventKey: "dispute/d1", Kind: "dispute_opened",
		Reason: "goods damaged", Actor: "key:ops", At: t0.Add(72 * time.Hour), Status: StatusDisputed, Balance: 12_345})
	require.NoError(t, err)
	_, err = testStore.RecordEvent(ctx, LifecycleEvent{InvoiceID: a, EventKey: "fee/1", Kind: "late_fee_charged",
		Actor: "dunwell", At: t0.Add(96 * time.Hour), Status: StatusOverdue, Balance: 12_845,
		Adjustment: &Adjustment{AdjustmentID: "late-fee/1", Kind: "late_fee", Currency: "EUR", Amount: 500,
			BalanceAfter: 12_845, At: t0.Add(96 * time.Hour)}})
	require.NoError(t, err)
	// The operator's call that disputed it, and a customer's portal visit.
	_, key, err := testStore.CreateAPIKey(ctx, uid("ops"), []string{"operator"})
	require.NoError(t, err)
	_, err = testStore.RecordAudit(ctx, AuditEntry{At: t0.Add(72 * time.Hour), KeyID: key.ID, KeyName: key.Name, Action: "invoice.dispute",
		Outcome: AuditApplied, InvoiceID: a, Details: map[string]any{"method": "POST", "path": "/v1/invoices/" + a + "/dispute", "status": 200}})
	require.NoError(t, err)
	_, err = testStore.RecordAudit(ctx, AuditEntry{At: t0.Add(80 * time.Hour), Action: "portal.visit",
		Details: map[string]any{"customer_id": cust, "actor": "customer"}})
	require.NoError(t, err)
	_, err = testStore.RecordAudit(ctx, AuditEntry{At: t0.Add(80 * time.Hour), Action: "portal.visit",
		Details: map[string]any{"customer_id": other, "actor": "customer"}})
	require.NoError(t, err)
	_, err = testStore.RecordEscalation(ctx, EscalationRecord{InvoiceID: a, CustomerID: cust, Target: TargetAgency,
		Currency: "EUR", Balance: 12_845, DueDate: "2026-03-31", EscalatedAt: t0.Add(120 * time.Hour)})
	require.NoError(t, err)
	// A note, audited: the audit entry does not show twice.
	note, err := testStore.AddNote(ctx, Note{CustomerID: cust, InvoiceID: a, Text: "Called, will pay Friday", Author: "key:ops"},
		func(n Note) AuditEntry {
			return AuditEntry{Action: AuditNoteCreate, Outcome: AuditCreated, InvoiceID: n.InvoiceID, KeyName: "ops",
				Details: map[string]any{"customer_id": n.CustomerID, "note_id": n.NoteID}}
		})
	require.NoError(t, err)
	_, err = testStore.AddNote(ctx, Note{CustomerID: other, Text: "someone else", Author: "key:ops"}, nil)
	require.NoError(t, err)

	want := []seen{
		{"note", "noted", a, "key:ops"},
		{"escalation", "escalated", a, "dunwell"},
		{"charge", "late_fee_charged", a, "dunwell"},
		{"customer_action", "portal.visit", "", "customer"},
		{"operator_action", "invoice.dispute", a, "key:" + key.Name},
		{"dispute", "dispute_opened", a, "key:ops"},
		{"payment", "paid", b, "customer"},
		{"opt_out", "opted_out", "", "customer"},
		{"delivery", "delivered", a, "provider"},
		{"message", "sent", a, "dunwell"},
		{"invoice", "issued", b, ""},
		{"invoice", "issued", a, ""},
	}
	page, err := testStore.Timeline(ctx, TimelineQuery{CustomerID: cust, Limit: MaxTimelineLimit})
	require.NoError(t, err)
	require.False(t, page.More)
	require.Equal(t, want, seenOf(page.Entries))

	byEvent := map[string]TimelineEntry{}
	for _, e := range page.Entries {
		byEvent[e.Details["event"].(string)] = e
	}
	require.Equal(t, note.CreatedAt, byEvent["noted"].At)
	require.Equal(t, "Called, will pay Friday", byEvent["noted"].Details["text"])
	require.Equal(t, map[string]any{"adjustment_id": "late-fee/1", "kind": "late_fee", "currency": "EUR",
		"amount_minor": float64(500), "credit_minor": float64(0), "balance_after_minor": float64(12_845)},
		byEvent["late_fee_charged"].Details["adjustment"])
	require.Equal(t, "goods damaged", byEvent["dispute_opened"].Details["reason"])
	require.Equal(t, map[string]any{"event": "invoice.dispute", "outcome": "applied", "status": float64(200)},
		byEvent["invoice.dispute"].Details, "method, path and credential are left out")
	require.Equal(t, map[string]any{"event": "portal.visit"}, byEvent["portal.visit"].Details, "actor and customer are the entry's own fields")
	require.Equal(t, map[string]any{"event": "opted_out", "channel": "sms", "source": "stop"},
		byEvent["opted_out"].Details, "no address")
	require.Equal(t, t0.Add(48*time.Hour), byEvent["paid"].At)

	// Pages of 5 follow each other without a gap or a repeat.
	var paged []TimelineEntry
	q := TimelineQuery{CustomerID: cust, Limit: 5}
	for {
		p, err := testStore.Timeline(ctx, q)
		require.NoError(t, err)
		paged = append(paged, p.Entries...)
		if !p.More {
			break
		}
		require.Len(t, p.Entries, 5)
		next, err := ParseTimelineCursor(p.Entries[len(p.Entries)-1].Cursor.String())
		require.NoError(t, err)
		q.Before = next
	}
	require.Equal(t, want, seenOf(paged))

	// Kinds, and a time as the cursor: strictly before it.
	page, err = testStore.Timeline(ctx, TimelineQuery{CustomerID: cust, Limit: 10, Kinds: []string{TimelinePayment, TimelineNote}})
	require.NoError(t, err)
	require.Equal(t, []seen{want[0], want[6]}, seenOf(page.Entries))
	before, err := ParseTimelineCursor(t0.Add(48 * time.Hour).Format(time.RFC3339))
	require.NoError(t, err)
	page, err = testStore.Timeline(ctx, TimelineQuery{CustomerID: cust, Limit: 10, Before: before})
	require.NoError(t, err)
	require.Equal(t, want[7:], seenOf(page.Entries))
}

// Every lifecycle event has its timeline kind; an opt-out of an invoice is told once,
// by the customer's opt-out events.
func TestTimelineKindOfEveryLifecycleEvent(t *testing.T) {
	ctx := parallel(t)
	cust := uid("cust")
	inv := issueAt(t, cust, t0)
	kinds := map[string]string{
		"dispute_opened": "dispute", "dispute_resolved": "dispute", "dispute_upheld": "dispute",
		"promise_made": "promise", "promise_kept": "promise", "promise_broken": "promise",
		"plan_agreed": "plan", "plan_completed": "plan", "plan_broken": "plan",
		"paused": "pause", "resumed": "pause",
		"approval_requested": "approval", "approved": "approval", "rejected": "approval",
		"refunded": "refund", "adjusted": "adjustment", "reopened": "adjustment",
		"cancelled": "closure", "written_off": "closure",
		"late_fee_charged": "charge", "interest_charged": "charge", "discount_taken": "charge",
		"policy_changed": "change", "due_date_changed": "change",
	}
	i := 0
	for kind := range kinds {
		i++
		_, err := testStore.RecordEvent(ctx, LifecycleEvent{InvoiceID: inv, EventKey: kind, Kind: kind,
			At: t0.Add(time.Duration(i) * time.Minute), Status: StatusOpen, Balance: 1})
		require.NoError(t, err)
	}
	_, err := testStore.RecordEvent(ctx, LifecycleEvent{InvoiceID: inv, EventKey: "opt-out/sms", Kind: "opted_out",
		At: t0.Add(time.Hour), Status: StatusOpen, Balance: 1})
	require.NoError(t, err)

	page, err := testStore.Timeline(ctx, TimelineQuery{CustomerID: cust, Limit: 100})
	require.NoError(t, err)
	got := map[string]string{}
	for _, e := range page.Entries {
		require.Contains(t, TimelineKinds, e.Kind)
		if e.Kind != TimelineInvoice {
			got[e.Details["event"].(string)] = e.Kind
		}
	}
	require.Equal(t, kinds, got)
}

func TestTimelineRefusals(t *testing.T) {
	ctx := parallel(t)
	cust := uid("cust")
	issueAt(t, cust, t0)
	_, err := testStore.Timeline(ctx, TimelineQuery{CustomerID: uid("nobody"), Limit: 10})
	require.ErrorIs(t, err, ErrUnknownCustomer)
	for _, q := range []TimelineQuery{
		{CustomerID: cust, Limit: 0},
		{CustomerID: cust, Limit: MaxTimelineLimit + 1},
		{CustomerID: cust, Limit: 10, Kinds: []string{"gossip"}},
		{CustomerID: "", Limit: 10},
	} {
		_, err := testStore.Timeline(ctx, q)
		require.ErrorIs(t, err, ErrInvalid, "%+v", q)
	}
	for _, bad := range []string{"", "yesterday", "e30", "!!!", "eyJhdCI6Im5vIn0"} {
		_, err := ParseTimelineCursor(bad)
		require.Error(t, err, bad)
	}
}

func TestNoteTextProblem(t *testing.T) {
	for _, tc := range []struct{ text, problem string }{
		{"Called; will pay Friday.", ""},
		{"two\nlines\twith a tab\r\n", ""},
		{"日本語のメモ", ""},
		{strings.Repeat("ü", MaxNoteLength), ""},
		{"", "must not be empty"},
		{" \n\t ", "must not be empty"},
		{strings.Repeat("a", MaxNoteLength+1), "must be at most 4000 characters (has 4001)"},
		{"bell\a", "must not contain control characters (U+0007 at byte 4)"},
		{"nul\x00", "must not contain control characters (U+0000 at byte 3)"},
		{"\x1b[31mred", "must not contain control characters (U+001B at byte 0)"},
		{"bad \xff", "must be valid UTF-8"},
	} {
		require.Equal(t, tc.problem, NoteTextProblem(tc.text), "%q", tc.text)
	}
}

func TestAddNote(t *testing.T) {
	ctx := parallel(t)
	cust, other := uid("cust"), uid("cust")
	inv := issueAt(t, cust, t0)
	theirs := issueAt(t, other, t0)
	audit := func(n Note) AuditEntry {
		return AuditEntry{Action: AuditNoteCreate, Outcome: AuditCreated, InvoiceID: n.InvoiceID,
			Details: map[string]any{"customer_id": n.CustomerID, "note_id": n.NoteID}}
	}

	n, err := testStore.AddNote(ctx, Note{CustomerID: cust, InvoiceID: inv, Text: "Promised by phone", Author: "key:ops"}, audit)
	require.NoError(t, err)
	require.NotZero(t, n.NoteID)
	require.False(t, n.CreatedAt.IsZero())
	entries, err := testStore.ListAudit(ctx, inv)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, AuditNoteCreate, entries[0].Action)
	require.Equal(t, float64(n.NoteID), entries[0].Details["note_id"])

	for _, tc := range []struct {
		note Note
		err  error
	}{
		{Note{CustomerID: cust, Text: "   ", Author: "key:ops"}, ErrInvalid},
		{Note{CustomerID: cust, Text: strings.Repeat("x", MaxNoteLength+1), Author: "key:ops"}, ErrInvalid},
		{Note{CustomerID: cust, Text: "esc \x1b", Author: "key:ops"}, ErrInvalid},
		{Note{CustomerID: cust, Text: "no author"}, ErrInvalid},
		{Note{CustomerID: uid("nobody"), Text: "who?", Author: "key:ops"}, ErrUnknownCustomer},
		{Note{CustomerID: uid("nobody"), InvoiceID: inv, Text: "who?", Author: "key:ops"}, ErrUnknownCustomer},
		{Note{CustomerID: cust, InvoiceID: uid("missing"), Text: "which?", Author: "key:ops"}, ErrNotFound},
		{Note{CustomerID: cust, InvoiceID: theirs, Text: "wrong one", Author: "key:ops"}, ErrInvoiceOfAnotherCustomer},
	} {
		_, err := testStore.AddNote(ctx, tc.note, audit)
		require.ErrorIs(t, err, tc.err, "%+v", tc.note)
	}

	// An entry that cannot be written leaves no note.
	_, err = testStore.AddNote(ctx, Note{CustomerID: cust, Text: "not kept", Author: "key:ops"},
		func(Note) AuditEntry { return AuditEntry{Action: "Not An Action"} })
	require.ErrorIs(t, err, ErrInvalid)
	page, err := testStore.Timeline(ctx, TimelineQuery{CustomerID: cust, Limit: 10, Kinds: []string{TimelineNote}})
	require.NoError(t, err)
	require.Len(t, page.Entries, 1, "only the first note")
	require.Equal(t, "Promised by phone", page.Entries[0].Details["text"])
}

// A consolidated message is one entry naming the invoice steps it covered and left
// out, and its delivery one entry, however many invoices it listed.
func TestTimelineConsolidatedMessages(t *testing.T) {
	ctx := parallel(t)
	cust := uid("cust")
	a, b, c := issueAt(t, cust, t0), issueAt(t, cust, t0), issueAt(t, cust, t0)
	// c's own reminder went out before it was paid; then c was paid.
	_, err := testStore.ClaimNotice(ctx, NoticeClaim{Key: c + "/due/sms", InvoiceID: c, Step: "due", Channel: "sms"})
	require.NoError(t, err)
	require.NoError(t, testStore.CompleteNotice(ctx, c+"/due/sms", NoticeSent, "tw-1", "", t0.Add(time.Hour)))
	require.NoError(t, testStore.SetInvoiceStatus(ctx, c, StatusPaid, 0, t0.Add(2*time.Hour)))

	// One email for the three invoices' first step: c is left out.
	key := cust + "/email/2026-03-02/1"
	sent := t0.Add(24 * time.Hour)
	m, err := testStore.ClaimMessage(ctx, MessageClaim{Key: key, CustomerID: cust, Channel: "email", WindowDay: "2026-03-02",
		Lines: []MessageLine{{InvoiceID: a, Step: "first"}, {InvoiceID: b, Step: "first"}, {InvoiceID: c, Step: "first"}}})
	require.NoError(t, err)
	require.Len(t, m.LeftOut, 1)
	require.NoError(t, testStore.CompleteMessage(ctx, key, MessageSent, "sg-1", "", sent))
	for i, inv := range []string{a, b} {
		_, _, err := testStore.RecordDelivery(ctx, DeliveryUpdate{NoticeKey: inv + "/first/email", Status: DeliveryDelivered,
			At: sent.Add(time.Duration(i+1) * time.Minute)})
		require.NoError(t, err)
	}

	page, err := testStore.Timeline(ctx, TimelineQuery{CustomerID: cust, Limit: 50, Kinds: []string{TimelineMessage, TimelineDelivery}})
	require.NoError(t, err)
	require.Equal(t, []seen{
		{"delivery", "delivered", "", "provider"},
		{"message", "sent", "", "dunwell"},
		{"message", "sent", c, "dunwell"},
	}, seenOf(page.Entries))
	require.Equal(t, sent.Add(2*time.Minute), page.Entries[0].At, "the latest report")
	msg := page.Entries[1].Details
	require.Equal(t, key, msg["message_key"])
	require.Equal(t, []any{map[string]any{"invoice_id": a, "step": "first"}, map[string]any{"invoice_id": b, "step": "first"}}, msg["covered"])
	require.Equal(t, []any{map[string]any{"invoice_id": c, "step": "first", "reason": m.LeftOut[0].Reason}}, msg["left_out"])
}
