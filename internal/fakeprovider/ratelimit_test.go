package fakeprovider

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRateLimiterRefusesSendsBeyondTheLimitPerSecond(t *testing.T) {
	t.Parallel()
	srv := New(Options{})
	lim := NewRateLimiter(srv)
	clock := time.Unix(1_800_000_000, 100)
	lim.now = func() time.Time { return clock }
	ts := httptest.NewServer(lim)
	t.Cleanup(ts.Close)
	t.Cleanup(srv.Close)
	var mu sync.Mutex
	var outcomes []SendOutcome
	lim.OnSend(func(o SendOutcome) { mu.Lock(); outcomes = append(outcomes, o); mu.Unlock() })
	lim.SetLimit(SendGrid, 2)
	ctx := testCtx(t)

	require.Equal(t, 202, postMail(t, ctx, ts.URL, mailJSON("a@example.com", "A", "inv-1/s/email")).status)
	require.Equal(t, 202, postMail(t, ctx, ts.URL, mailJSON("b@example.com", "B", "inv-2/s/email")).status)
	refused := postMail(t, ctx, ts.URL, mailJSON("c@example.com", "C", "inv-3/s/email"))
	require.Equal(t, http.StatusTooManyRequests, refused.status, refused.body)
	require.Equal(t, "1", refused.header.Get("Retry-After"))
	require.Equal(t, "2", refused.header.Get("X-RateLimit-Limit"))
	again := postMail(t, ctx, ts.URL, mailJSON("c@example.com", "C", "inv-3/s/email"))
	require.Equal(t, http.StatusTooManyRequests, again.status)

	// Twilio has no limit set: it passes.
	require.Equal(t, 201, postSMS(t, ctx, ts.URL, smsForm("+14155550100", "pay")).status)

	// The next second opens a new window: the refused message goes through.
	clock = clock.Add(time.Second)
	require.Equal(t, 202, postMail(t, ctx, ts.URL, mailJSON("c@example.com", "C", "inv-3/s/email")).status)

	require.Equal(t, RateStats{Passed: 3, Limited: 2, RepeatLimited: 1}, lim.Stats(SendGrid))
	require.Equal(t, RateStats{Passed: 1}, lim.Stats(Twilio))
	require.Len(t, srv.Outbox(), 4, "refused sends never reach the outbox")
	mu.Lock()
	got := append([]SendOutcome(nil), outcomes...)
	mu.Unlock()
	require.Len(t, got, 6)
	require.Equal(t, "sendgrid:inv-3/s/email", got[2].Key)
	require.Equal(t, http.StatusTooManyRequests, got[2].Status)
	require.Equal(t, "twilio:+14155550100\npay", got[4].Key)
	require.Equal(t, 201, got[4].Status)

	lim.OnSend(nil)
	lim.SetLimit(SendGrid, 0)
	lim.ResetStats()
	require.Equal(t, 202, postMail(t, ctx, ts.URL, mailJSON("d@example.com", "D", "inv-4/s/email")).status)
	require.Equal(t, RateStats{Passed: 1}, lim.Stats(SendGrid))
}

func TestRateLimiterAnswersTwilioStyle429s(t *testing.T) {
	t.Parallel()
	srv := New(Options{})
	lim := NewRateLimiter(srv)
	lim.now = func() time.Time { return time.Unix(1_800_000_000, 0) }
	ts := httptest.NewServer(lim)
	t.Cleanup(ts.Close)
	t.Cleanup(srv.Close)
	lim.SetLimit(Twilio, 1)
	ctx := testCtx(t)
	require.Equal(t, 201, postSMS(t, ctx, ts.URL, smsForm("+14155550100", "one")).status)
	resp := postSMS(t, ctx, ts.URL, smsForm("+14155550101", "two"))
	require.Equal(t, http.StatusTooManyRequests, resp.status)
	require.Equal(t, "1", resp.header.Get("Retry-After"))
	var body struct {
		Code int `json:"code"`
	}
	resp.json(t, &body)
	require.Equal(t, 20429, body.Code)
	// Lookups are never limited.
	require.Equal(t, 200, do(t, ctx, http.MethodGet, ts.URL+twilioPath, nil, twilioAuthed).status)
}
