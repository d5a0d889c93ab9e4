package fakeprovider

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMailSendRecordsAndAnswers202(t *testing.T) {
	t.Parallel()
	s, base := newTestServer(t, Options{})
	ctx := testCtx(t)

	resp := postMail(t, ctx, base, mailJSON("ann@example.com", "Invoice 7", "inv-7/first/email"))
	require.Equal(t, http.StatusAccepted, resp.status, resp.body)
	xid := resp.header.Get("X-Message-Id")
	require.NotEmpty(t, xid)
	require.Empty(t, resp.body)

	out := s.Outbox()
	require.Len(t, out, 1)
	m := out[0]
	require.Equal(t, SendGrid, m.Provider)
	require.Equal(t, xid, m.ID)
	require.True(t, strings.HasPrefix(m.ActivityID, xid+"."))
	require.Equal(t, "ann@example.com", m.To)
	require.Equal(t, "Ann", m.ToName)
	require.Equal(t, "billing@dunwell.test", m.From)
	require.Equal(t, "Dunwell", m.FromName)
	require.Equal(t, "Invoice 7", m.Subject)
	require.Equal(t, "Please pay.", m.Text)
	require.Equal(t, "<p>Please pay.</p>", m.HTML)
	require.Equal(t, map[string]string{"notice_key": "inv-7/first/email"}, m.CustomArgs)
	require.Equal(t, StatusDelivered, m.Status)
	require.EqualValues(t, 1, m.Seq)
}

func TestMailSendAcceptsGzip(t *testing.T) {
	t.Parallel()
	s, base := newTestServer(t, Options{})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write([]byte(mailJSON("ann@example.com", "Zipped", "k")))
	require.NoError(t, err)
	require.NoError(t, zw.Close())

	resp := do(t, testCtx(t), http.MethodPost, base+"/v3/mail/send", &buf, func(r *http.Request) {
		sendGridAuthed(r)
		r.Header.Set("Content-Encoding", "gzip")
	})
	require.Equal(t, http.StatusAccepted, resp.status, resp.body)
	require.Equal(t, "Zipped", s.Outbox()[0].Subject)
}

func TestMailSendRejects(t *testing.T) {
	t.Parallel()
	_, base := newTestServer(t, Options{SendGridAPIKey: testKey, Invalid: []string{"Gone@Example.com"}})
	valid := mailJSON("ann@example.com", "S", "k")
	for _, tc := range []struct {
		name, body, field string
		auth              string
		status            int
	}{
		{name: "no auth", body: valid, auth: "-", status: 401},
		{name: "wrong key", body: valid, auth: "Bearer nope", status: 401},
		{name: "not JSON", body: "{", status: 400},
		{name: "JSON array", body: "[]", status: 400},
		{name: "custom arg not a string", body: strings.Replace(valid, `"notice_key":"k"`, `"notice_key":1`, 1), status: 400},
		{name: "malformed recipient", body: mailJSON("not-an-address", "S", "k"), status: 400, field: "personalizations.0.to.0.email"},
		{name: "configured invalid recipient", body: mailJSON("gone@example.com", "S", "k"), status: 400, field: "personalizations.0.to.0.email"},
		{name: "no subject", body: mailJSON("ann@example.com", "", "k"), status: 400, field: "subject"},
		{name: "no personalizations", body: `{"from":{"email":"a@b.co"},"subject":"s","content":[{"type":"text/plain","value":"x"}]}`, status: 400, field: "personalizations"},
		{name: "no from", body: `{"personalizations":[{"to":[{"email":"a@b.co"}]}],"subject":"s","content":[{"type":"text/plain","value":"x"}]}`, status: 400, field: "from.email"},
		{name: "html before text", body: `{"from":{"email":"a@b.co"},"personalizations":[{"to":[{"email":"a@b.co"}]}],"subject":"s","content":[{"type":"text/html","value":"x"},{"type":"text/plain","value":"x"}]}`, status: 400, field: "content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp := do(t, testCtx(t), http.MethodPost, base+"/v3/mail/send", strings.NewReader(tc.body), func(r *http.Request) {
				sendGridAuthed(r)
				switch tc.auth {
				case "-":
					r.Header.Del("Authorization")
				case "":
				default:
					r.Header.Set("Authorization", tc.auth)
				}
			})
			require.Equal(t, tc.status, resp.status, resp.body)
			var body struct {
				Errors []struct {
					Message string  `json:"message"`
					Field   *string `json:"field"`
				} `json:"errors"`
			}
			resp.json(t, &body)
			require.NotEmpty(t, body.Errors)
			require.NotEmpty(t, body.Errors[0].Message)
			if tc.field != "" {
				var fields []string
				for _, e := range body.Errors {
					if e.Field != nil {
						fields = append(fields, *e.Field)
					}
				}
				require.Contains(t, fields, tc.field)
			}
		})
	}
}

func TestActivityFindsByNoticeKey(t *testing.T) {
	t.Parallel()
	s, base := newTestServer(t, Options{Bounce: []string{"bounce@example.com"}})
	ctx := testCtx(t)
	require.Equal(t, 202, postMail(t, ctx, base, mailJSON("ann@example.com", "First", "inv-1/first/email")).status)
	require.Equal(t, 202, postMail(t, ctx, base, mailJSON("bounce@example.com", "Second", "inv-2/first/email")).status)
	sent := s.Outbox()

	query := func(q string) response {
		return do(t, ctx, http.MethodGet, base+"/v3/messages?"+url.Values{"query": {q}, "limit": {"10"}}.Encode(), nil, sendGridAuthed)
	}
	type activity struct {
		Messages []struct {
			MsgID         string `json:"msg_id"`
			ToEmail       string `json:"to_email"`
			Status        string `json:"status"`
			LastEventTime string `json:"last_event_time"`
		} `json:"messages"`
	}
	var got activity
	resp := query(`unique_args['notice_key']="inv-1/first/email"`)
	require.Equal(t, 200, resp.status, resp.body)
	require.Contains(t, resp.body, `"msg_id"`)
	require.Contains(t, resp.body, `"to_email"`)
	require.Contains(t, resp.body, `"last_event_time"`)
	resp.json(t, &got)
	require.Len(t, got.Messages, 1)
	require.Equal(t, sent[0].ActivityID, got.Messages[0].MsgID)
	require.Equal(t, "delivered", got.Messages[0].Status)

	since := sent[0].Received.Add(-time.Minute).UTC().Format(time.RFC3339)
	until := sent[1].Received.Add(time.Minute).UTC().Format(time.RFC3339)
	resp = query(`unique_args['notice_key']="inv-2/first/email" AND last_event_time BETWEEN TIMESTAMP "` + since + `" AND TIMESTAMP "` + until + `"`)
	got = activity{}
	resp.json(t, &got)
	require.Len(t, got.Messages, 1)
	require.Equal(t, "not_delivered", got.Messages[0].Status)

	resp = query(`unique_args['notice_key']="absent"`)
	got = activity{}
	resp.json(t, &got)
	require.Empty(t, got.Messages)
	require.Contains(t, resp.body, `"messages":[]`)

	resp = query(`unique_args['notice_key']="inv-1/first/email" AND last_event_time > TIMESTAMP "` + until + `"`)
	got = activity{}
	resp.json(t, &got)
	require.Empty(t, got.Messages)

	resp = query(`to_email="ANN@example.com"`)
	got = activity{}
	resp.json(t, &got)
	require.Len(t, got.Messages, 1)

	require.Equal(t, 400, query(`unique_args['notice_key'] LIKE "x"`).status)
	require.Equal(t, 401, do(t, ctx, http.MethodGet, base+"/v3/messages", nil, nil).status)
	require.Equal(t, 400, do(t, ctx, http.MethodGet, base+"/v3/messages?limit=0", nil, sendGridAuthed).status)
}

func TestParseActivityQuery(t *testing.T) {
	t.Parallel()
	m := Message{
		ActivityID: "abc.filter.0", To: "ann@example.com", From: "b@x.co", Subject: `He said "hi"`, Status: "delivered",
		CustomArgs: map[string]string{"notice_key": "k1"}, Received: time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC),
	}
	for q, want := range map[string]bool{
		``:                                             true,
		`unique_args['notice_key']="k1"`:               true,
		`unique_args["notice_key"]="k1"`:               true,
		`unique_args['notice_key']="k2"`:               false,
		`unique_args['other']="k1"`:                    false,
		`unique_args['other']!="k1"`:                   true,
		`msg_id="abc.filter.0" and status="delivered"`: true,
		`subject="He said \"hi\""`:                     true,
		`from_email="B@X.CO"`:                          true,
		`last_event_time BETWEEN TIMESTAMP "2026-01-02T03:04:05Z" AND TIMESTAMP "2026-01-02T03:04:05Z"`: true,
		`last_event_time BETWEEN TIMESTAMP "2026-01-02T03:04:06Z" AND TIMESTAMP "2026-01-03T00:00:00Z"`: false,
		`last_event_time >= TIMESTAMP "2026-01-02T03:04:05Z"`:                                           true,
		`last_event_time < TIMESTAMP "2026-01-02T03:04:05Z"`:                                            false,
		`last_event_time <= TIMESTAMP "2026-01-02T05:04:05+02:00" AND unique_args['notice_key']="k1"`:   true,
	} {
		match, err := parseActivityQuery(q)
		require.NoError(t, err, q)
		require.Equal(t, want, match(m), q)
	}
	for _, q := range []string{
		`unique_args`, `unique_args['k']`, `unique_args['k']=`, `unique_args['k']="unterminated`,
		`nope="x"`, `msg_id="a" msg_id="b"`, `msg_id="a" AND`, `last_event_time BETWEEN "x"`,
		`last_event_time > TIMESTAMP "yesterday"`, `msg_id ! "x"`, `msg_id = "a" OR msg_id = "b"`, `(msg_id="a")`,
		`last_event_time [ TIMESTAMP "2026-01-02T03:04:05Z"`,
	} {
		_, err := parseActivityQuery(q)
		require.Error(t, err, q)
	}
}

func FuzzParseActivityQuery(f *testing.F) {
	for _, seed := range []string{
		`unique_args['notice_key']="k1" AND last_event_time BETWEEN TIMESTAMP "2026-01-02T03:04:05Z" AND TIMESTAMP "2026-01-03T03:04:05Z"`,
		`subject="\"x\\"`, `'`, `!`, `[[[`, `last_event_time >= TIMESTAMP`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, q string) {
		if match, err := parseActivityQuery(q); err == nil {
			match(Message{})
		}
	})
}

func FuzzMailSend(f *testing.F) {
	s := New(Options{})
	for _, seed := range []string{mailJSON("a@b.co", "s", "k"), `{"personalizations":[{}]}`, `{"from":null}`, `null`, `{"content":[{}]}`, "\x00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		rec := httptestRecorder(s, http.MethodPost, "/v3/mail/send", body, sendGridAuthed)
		if rec != http.StatusAccepted && rec != http.StatusBadRequest {
			t.Fatalf("status %d for body %q", rec, body)
		}
	})
}

func TestMailSendAttachments(t *testing.T) {
	t.Parallel()
	s, base := newTestServer(t, Options{})
	ctx := testCtx(t)
	withAttachment := func(content, filename string) string {
		body := mailJSON("ann@example.com", "Statement", "statement/C-1/2026-12-01")
		return strings.TrimSuffix(strings.TrimSpace(body), "}") +
			`, "attachments": [{"content": "` + content + `", "type": "application/pdf", "filename": "` + filename + `", "disposition": "attachment"}]}`
	}
	resp := postMail(t, ctx, base, withAttachment("JVBERi0xLjM=", "statement.pdf"))
	require.Equal(t, http.StatusAccepted, resp.status, resp.body)
	a := s.Outbox()[0].Attachments
	require.Equal(t, []Attachment{{Filename: "statement.pdf", Type: "application/pdf", Size: 8, Content: "JVBERi0xLjM="}}, a)

	resp = postMail(t, ctx, base, withAttachment("not base64!", ""))
	require.Equal(t, http.StatusBadRequest, resp.status)
	require.Contains(t, resp.body, "attachments.0.content")
	require.Contains(t, resp.body, "attachments.0.filename")
	require.Len(t, s.Outbox(), 1)
}
