package fakeprovider

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

func TestTwilioCreateRecordsAndAnswers201(t *testing.T) {
	t.Parallel()
	s, base := newTestServer(t, Options{})
	form := smsForm("+15551234567", "Invoice 7 is overdue.")
	form.Set("StatusCallback", "https://dunwell.test/twilio/status")
	resp := postSMS(t, testCtx(t), base, form)
	require.Equal(t, http.StatusCreated, resp.status, resp.body)

	var got map[string]any
	resp.json(t, &got)
	require.Regexp(t, regexp.MustCompile(`^SM[0-9a-f]{32}$`), got["sid"])
	require.Equal(t, "queued", got["status"])
	require.Equal(t, "+15551234567", got["to"])
	require.Equal(t, "+15005550006", got["from"])
	require.Equal(t, "Invoice 7 is overdue.", got["body"])
	require.Equal(t, testAccount, got["account_sid"])
	require.Equal(t, "1", got["num_segments"])
	require.Nil(t, got["date_sent"])
	created, err := time.Parse(time.RFC1123Z, got["date_created"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), created, time.Hour) // a sanity check on the format, not on timing

	out := s.Outbox()
	require.Len(t, out, 1)
	require.Equal(t, got["sid"], out[0].ID)
	require.Equal(t, "https://dunwell.test/twilio/status", out[0].StatusCallback)
	require.Equal(t, "Invoice 7 is overdue.", out[0].Text)
}

func TestTwilioCreateRejects(t *testing.T) {
	t.Parallel()
	_, base := newTestServer(t, Options{TwilioAuthToken: testToken, Invalid: []string{"+15005550001"}})
	for _, tc := range []struct {
		name         string
		form         url.Values
		auth         func(*http.Request)
		path         string
		status, code int
	}{
		{name: "no auth", form: smsForm("+15551234567", "x"), auth: func(r *http.Request) {}, status: 401, code: 20003},
		{name: "wrong token", form: smsForm("+15551234567", "x"), auth: func(r *http.Request) { r.SetBasicAuth(testAccount, "nope") }, status: 401, code: 20003},
		{name: "other account", form: smsForm("+15551234567", "x"), auth: func(r *http.Request) { r.SetBasicAuth("AC"+strings.Repeat("1", 32), testToken) }, status: 401, code: 20003},
		{name: "bad account path", form: smsForm("+15551234567", "x"), path: "/2010-04-01/Accounts/nope/Messages.json", auth: func(r *http.Request) { r.SetBasicAuth("key", testToken) }, status: 404, code: 20404},
		{name: "no To", form: url.Values{"From": {"+15005550006"}, "Body": {"x"}}, status: 400, code: 21604},
		{name: "no From", form: url.Values{"To": {"+15551234567"}, "Body": {"x"}}, status: 400, code: 21603},
		{name: "no Body", form: url.Values{"To": {"+15551234567"}, "From": {"+15005550006"}}, status: 400, code: 21602},
		{name: "To not E.164", form: smsForm("5551234567", "x"), status: 400, code: 21211},
		{name: "To garbage", form: smsForm("<script>", "x"), status: 400, code: 21211},
		{name: "configured invalid", form: smsForm("+15005550001", "x"), status: 400, code: 21211},
		{name: "body too long", form: smsForm("+15551234567", strings.Repeat("x", 1601)), status: 400, code: 21617},
		{name: "bad From", form: url.Values{"To": {"+15551234567"}, "From": {"not a number!"}, "Body": {"x"}}, status: 400, code: 21212},
		{name: "bad service", form: url.Values{"To": {"+15551234567"}, "MessagingServiceSid": {"MGnope"}, "Body": {"x"}}, status: 400, code: 21701},
		{name: "To equals From", form: smsForm("+15005550006", "x"), status: 400, code: 21266},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := twilioPath
			if tc.path != "" {
				path = tc.path
			}
			resp := do(t, testCtx(t), http.MethodPost, base+path, strings.NewReader(tc.form.Encode()), func(r *http.Request) {
				twilioAuthed(r)
				if tc.auth != nil {
					r.Header.Del("Authorization")
					tc.auth(r)
				}
			})
			require.Equal(t, tc.status, resp.status, resp.body)
			var e twilioError
			resp.json(t, &e)
			require.Equal(t, tc.code, e.Code)
			require.Equal(t, tc.status, e.Status)
			require.NotEmpty(t, e.Message)
			require.Equal(t, fmt.Sprintf("https://www.twilio.com/docs/errors/%d", tc.code), e.MoreInfo)
		})
	}
}

// sdkAPI is a twilio-go Messages client pointed at the fake, to check the fake
// against the SDK's own encoding and decoding.
func sdkAPI(base string) *openapi.ApiService {
	target, _ := url.Parse(base)
	c := &client.Client{
		Credentials: client.NewCredentials(testAccount, testToken),
		HTTPClient: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			r = r.Clone(r.Context())
			r.URL.Scheme, r.URL.Host, r.Host = target.Scheme, target.Host, ""
			return http.DefaultTransport.RoundTrip(r)
		})},
	}
	c.SetAccountSid(testAccount)
	return openapi.NewApiServiceWithClient(c)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTwilioListPagesThroughSDK(t *testing.T) {
	t.Parallel()
	s, base := newTestServer(t, Options{Bounce: []string{"+15550000004"}})
	api := sdkAPI(base)
	for i := range 5 {
		p := &openapi.CreateMessageParams{}
		p.SetTo(fmt.Sprintf("+1555000000%d", i%2+3)).SetFrom("+15005550006").SetBody(fmt.Sprintf("msg %d", i))
		m, err := api.CreateMessage(p)
		require.NoError(t, err)
		require.Equal(t, "queued", *m.Status)
	}

	// PageSize 2 over three matching messages makes the SDK follow next_page_uri.
	lp := &openapi.ListMessageParams{}
	lp.SetTo("+15550000003").SetFrom("+15005550006").SetPageSize(2).SetDateSentAfter(time.Now().Add(-time.Hour))
	got, err := api.ListMessage(lp)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, "msg 4", *got[0].Body, "newest first")
	require.Equal(t, "msg 0", *got[2].Body)
	require.Equal(t, "delivered", *got[0].Status)
	require.NotNil(t, got[0].DateSent)

	lp = &openapi.ListMessageParams{}
	lp.SetTo("+15550000004")
	got, err = api.ListMessage(lp)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, "undelivered", *got[0].Status)
	require.Equal(t, 30003, *got[0].ErrorCode)

	lp = &openapi.ListMessageParams{}
	lp.SetTo("+15550000003").SetDateSentAfter(time.Now().Add(time.Hour))
	got, err = api.ListMessage(lp)
	require.NoError(t, err)
	require.Empty(t, got)

	fetched, err := api.FetchMessage(s.Outbox()[0].ID, nil)
	require.NoError(t, err)
	require.Equal(t, "msg 0", *fetched.Body)
	_, err = api.FetchMessage("SMnope", nil)
	var rerr *client.TwilioRestError
	require.ErrorAs(t, err, &rerr)
	require.Equal(t, 20404, rerr.Code)

	_, err = api.CreateMessage((&openapi.CreateMessageParams{}).SetTo("12").SetFrom("+15005550006").SetBody("x"))
	require.ErrorAs(t, err, &rerr)
	require.Equal(t, 21211, rerr.Code)
	require.Equal(t, 400, rerr.Status)
}

func TestTwilioListFiltersByDay(t *testing.T) {
	t.Parallel()
	_, base := newTestServer(t, Options{})
	ctx := testCtx(t)
	require.Equal(t, 201, postSMS(t, ctx, base, smsForm("+15551234567", "x")).status)
	today := time.Now().UTC().Format(time.DateOnly)
	tomorrow := time.Now().UTC().Add(24 * time.Hour).Format(time.DateOnly)
	count := func(q url.Values) int {
		resp := do(t, ctx, http.MethodGet, base+twilioPath+"?"+q.Encode(), nil, twilioAuthed)
		require.Equal(t, 200, resp.status, resp.body)
		var l twilioListResponse
		resp.json(t, &l)
		return len(l.Messages)
	}
	require.Equal(t, 1, count(url.Values{"DateSent>": {today}}))
	require.Equal(t, 1, count(url.Values{"DateSent": {today}}))
	require.Equal(t, 0, count(url.Values{"DateSent>": {tomorrow}}))
	require.Equal(t, 1, count(url.Values{"DateSent<": {tomorrow}}))
	for _, bad := range []url.Values{{"DateSent>": {"soon"}}, {"PageSize": {"0"}}, {"Page": {"-1"}}, {"PageSize": {"x"}}} {
		require.Equal(t, 400, do(t, ctx, http.MethodGet, base+twilioPath+"?"+bad.Encode(), nil, twilioAuthed).status, bad)
	}
}

func TestConcurrentSends(t *testing.T) {
	t.Parallel()
	s, base := newTestServer(t, Options{})
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			if i%2 == 0 {
				_, _ = rawDo(ctx, http.MethodPost, base+twilioPath, strings.NewReader(smsForm(fmt.Sprintf("+1555100%04d", i), "x").Encode()), twilioAuthed)
			} else {
				_, _ = rawDo(ctx, http.MethodPost, base+"/v3/mail/send", strings.NewReader(mailJSON(fmt.Sprintf("p%d@example.com", i), "s", "k")), sendGridAuthed)
			}
		})
	}
	wg.Wait()
	out := s.Outbox()
	require.Len(t, out, 40)
	ids := map[string]bool{}
	for i, m := range out {
		require.EqualValues(t, i+1, m.Seq)
		ids[m.ID] = true
	}
	require.Len(t, ids, 40)
}

func TestSegments(t *testing.T) {
	t.Parallel()
	require.Equal(t, 1, segments(strings.Repeat("a", 160)))
	require.Equal(t, 2, segments(strings.Repeat("a", 161)))
	require.Equal(t, 1, segments(strings.Repeat("€", 80)))
	require.Equal(t, 1, segments(strings.Repeat("é", 70)+""))
	require.Equal(t, 2, segments(strings.Repeat("ł", 71)))
}

func FuzzTwilioCreate(f *testing.F) {
	s := New(Options{})
	for _, seed := range []string{smsForm("+15551234567", "x").Encode(), "To=%zz", "To=+1&To=+2", "Body=" + strings.Repeat("é", 2000), ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		code := httptestRecorder(s, http.MethodPost, twilioPath, body, twilioAuthed)
		if code != http.StatusCreated && code != http.StatusBadRequest {
			t.Fatalf("status %d for body %q", code, body)
		}
	})
}
