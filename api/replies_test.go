package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/replies"
)

const (
	inboundToken = "inbound-test-token-0123456789abcdef"
	inboundReply = "accounts@acme.example"
)

// inboundPost is an Inbound Parse post of a reply from sender to to, with its
// Message-ID.
func inboundPost(t *testing.T, messageID, from, to, subject, text string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range [][2]string{
		{"headers", fmt.Sprintf("Message-ID: <%s>\nFrom: %s\nTo: %s\nSubject: %s\n", messageID, from, to, subject)},
		{"dkim", "{@example.com : pass}"}, {"from", from}, {"to", to}, {"subject", subject}, {"text", text},
		{"envelope", fmt.Sprintf(`{"to":[%q],"from":%q}`, to, from)},
		{"charsets", `{"to":"UTF-8","subject":"UTF-8","from":"UTF-8","text":"UTF-8"}`}, {"SPF", "pass"},
	} {
		require.NoError(t, w.WriteField(f[0], f[1]))
	}
	fw, err := w.CreateFormFile("attachment1", "receipt.pdf")
	require.NoError(t, err)
	_, err = fw.Write([]byte("%PDF-1.4 not kept"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return w.FormDataContentType(), buf.Bytes()
}

func postInbound(t *testing.T, srv *testServer, path, contentType string, body []byte, headers ...string) answer {
	t.Helper()
	req := newRequest(t, http.MethodPost, srv.URL+path, string(body), contentType, headers)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	require.NoError(t, err)
	return answer{code: resp.StatusCode, header: resp.Header, body: b.Bytes()}
}

func readReply(t *testing.T, a answer) ReplyResult {
	t.Helper()
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	var r ReplyResult
	require.NoError(t, json.Unmarshal(a.body, &r))
	return r
}

// TestInboundReplies: a reply to a reminder's tagged reply-to address finds its
// customer and the invoice it names, lands in the timeline, opens a reply task for
// the customer's collector with what it claims; a redelivery changes nothing; a
// reply from a known address without the tag matches by sender; an unknown sender's
// is the team's.
func TestInboundReplies(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore, func(s *Server) {
		s.Inbound = InboundParse{Token: inboundToken, ReplyTo: inboundReply, User: "sendgrid", Password: "inbound-basic-password"}
	})
	admin, _ := newKey(t, testStore, auth.AllScopes()...)
	_, collector := newKey(t, testStore, auth.ScopeOperator, auth.ScopeRead)
	cust := uid("C")
	inv := issueFor(t, srv, admin, cust, "100.00")
	other := issueFor(t, srv, admin, cust, "50.00")
	a := call(t, srv, http.MethodPut, "/v1/customers/"+cust+"/assignee", fmt.Sprintf(`{"assignee": %q}`, collector.Name), bearer(admin)...)
	require.Equal(t, http.StatusOK, a.code, string(a.body))
	noticeKey := inv + "/first/email"
	_, err := testStore.ClaimNotice(t.Context(), ledger.NoticeClaim{Key: noticeKey, InvoiceID: inv, Step: "first", Channel: ledger.ChannelEmail})
	require.NoError(t, err)
	path := "/v1/webhooks/sendgrid/inbound/" + inboundToken
	basic := []string{"Authorization", "Basic c2VuZGdyaWQ6aW5ib3VuZC1iYXNpYy1wYXNzd29yZA=="} // sendgrid:inbound-basic-password

	msgID := uid("m") + "@mail.example.com"
	ct, body := inboundPost(t, msgID, "Ada <someone-else@example.com>", replies.Address(inboundReply, noticeKey),
		"Re: Invoice "+inv+" is overdue", "We already paid "+inv+" on Monday.\n\nOn Mon, Acme wrote:\n> Invoice "+other+" too.")
	got := readReply(t, postInbound(t, srv, path, ct, body, basic...))
	require.Equal(t, "recorded", got.Status)
	require.Equal(t, cust, got.CustomerID)
	require.Equal(t, ledger.ReplyMatchedByTag, got.MatchedBy)
	require.ElementsMatch(t, []string{inv, other}, got.InvoiceIDs, "the quoted original names what it answers")
	require.Equal(t, []string{replies.ClaimPaid}, got.Says)
	task, err := testStore.GetTask(t.Context(), got.TaskID)
	require.NoError(t, err)
	require.Equal(t, ledger.TaskReply, task.Kind)
	require.Equal(t, collector.Name, task.Assignee, "the customer's collector")
	require.Equal(t, ledger.TaskOpen, task.Status)
	require.Contains(t, task.Title, "says paid (confirm)")
	require.EqualValues(t, got.ReplyID, task.Details["reply_id"])
	rep, err := testStore.GetReply(t.Context(), got.ReplyID)
	require.NoError(t, err)
	require.Equal(t, "We already paid "+inv+" on Monday.", rep.Body, "the quoted original is not kept as the customer's words")

	// SendGrid posts it again: the same reply and task, nothing new.
	again := readReply(t, postInbound(t, srv, path, ct, body, basic...))
	require.Equal(t, "duplicate", again.Status)
	require.Equal(t, got.ReplyID, again.ReplyID)
	require.Equal(t, got.TaskID, again.TaskID)

	tl := readTimeline(t, srv, admin, cust, "?kind=reply")
	require.Len(t, tl.Entries, 1)
	require.Equal(t, "customer", tl.Entries[0].Actor)
	require.Contains(t, tl.Entries[0].Summary, "says paid (to confirm)")
	require.Equal(t, "We already paid "+inv+" on Monday.", tl.Entries[0].Details["text"])

	// By the sender's address: the address the customer was contacted at.
	require.NoError(t, testStore.RememberAddress(t.Context(), ledger.ChannelEmail, "Ada.Known@Example.com", cust))
	ct, body = inboundPost(t, uid("m")+"@mail.example.com", "ada.known@example.com", inboundReply,
		"Your reminder", "Die Ware ist nie angekommen.")
	got = readReply(t, postInbound(t, srv, path, ct, body, basic...))
	require.Equal(t, cust, got.CustomerID)
	require.Equal(t, ledger.ReplyMatchedBySender, got.MatchedBy)
	require.Equal(t, []string{replies.ClaimDisputed}, got.Says)
	require.Empty(t, got.InvoiceIDs)

	// Nobody known: the team's task, no customer, in nobody's timeline.
	ct, body = inboundPost(t, uid("m")+"@mail.example.com", "stranger@example.net", inboundReply, "Hello", "Who are you?")
	got = readReply(t, postInbound(t, srv, path, ct, body, basic...))
	require.Empty(t, got.CustomerID)
	require.Equal(t, ledger.ReplyUnmatched, got.MatchedBy)
	task, err = testStore.GetTask(t.Context(), got.TaskID)
	require.NoError(t, err)
	require.Empty(t, task.Assignee, "the team's")
	require.Empty(t, task.CustomerID)
	require.Contains(t, task.Title, "unknown sender")
}

// TestInboundRefusals: a wrong token or basic auth is 401, a malformed post 400
// naming the field, an oversize one 413, an unconfigured webhook 503; none stores
// anything.
func TestInboundRefusals(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, testStore, func(s *Server) {
		s.Inbound = InboundParse{Token: inboundToken, ReplyTo: inboundReply, User: "sendgrid", Password: "inbound-basic-password", MaxBytes: 64 << 10}
	})
	basic := []string{"Authorization", "Basic c2VuZGdyaWQ6aW5ib3VuZC1iYXNpYy1wYXNzd29yZA=="}
	path := "/v1/webhooks/sendgrid/inbound/" + inboundToken
	msgID := uid("m") + "@mail.example.com"
	ct, body := inboundPost(t, msgID, "x@example.com", inboundReply, "s", "t")

	require.Equal(t, http.StatusUnauthorized, postInbound(t, srv, "/v1/webhooks/sendgrid/inbound/wrong-token-0123456789abcdef0123456", ct, body, basic...).code)
	require.Equal(t, http.StatusUnauthorized, postInbound(t, srv, path, ct, body).code, "basic auth is required too")
	require.Equal(t, http.StatusUnauthorized, postInbound(t, srv, path, ct, body, "Authorization", "Basic c2VuZGdyaWQ6d3Jvbmc=").code)
	a := postInbound(t, srv, path, "application/json", []byte(`{}`), basic...)
	require.Equal(t, http.StatusBadRequest, a.code)
	require.Contains(t, string(a.body), "Content-Type")
	bad := bytes.Replace(body, []byte("x@example.com"), []byte("not an address"), -1)
	a = postInbound(t, srv, path, ct, bad, basic...)
	require.Equal(t, http.StatusBadRequest, a.code, string(a.body))
	var e ErrorBody
	require.NoError(t, json.Unmarshal(a.body, &e))
	require.Contains(t, e.Fields, "from")
	huge := bytes.Replace(body, []byte("%PDF-1.4 not kept"), []byte(strings.Repeat("x", 80<<10)), 1)
	require.Equal(t, http.StatusRequestEntityTooLarge, postInbound(t, srv, path, ct, huge, basic...).code)
	_, _, err := testStore.RecordReply(t.Context(), ledger.Reply{}) // the ledger refuses an empty reply
	require.ErrorIs(t, err, ledger.ErrInvalid)

	unconfigured := newTestServer(t, testStore)
	require.Equal(t, http.StatusServiceUnavailable, postInbound(t, unconfigured, path, ct, body).code)

	// None of these stored the reply: its first good post is new.
	got := readReply(t, postInbound(t, srv, path, ct, body, basic...))
	require.Equal(t, "recorded", got.Status)
}
