package fakeprovider

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/internal/testenv"
)

const (
	testAccount = "AC0123456789abcdef0123456789abcdef"
	testToken   = "secret123"
	testKey     = "SG.test-key"
	twilioPath  = "/2010-04-01/Accounts/" + testAccount + "/Messages.json"
)

func TestMain(m *testing.M) {
	testenv.IsolateDefaultClient()
	os.Exit(m.Run())
}

// newTestServer starts a fake on a free port; cleanup releases held requests
// before closing the listener, so Close never waits on them.
func newTestServer(t *testing.T, opts Options) (*Server, string) {
	t.Helper()
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	t.Cleanup(s.Close) // runs first
	return s, ts.URL
}

// testCtx bounds a test's waits so a bug fails the test instead of hanging it.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal([]byte(r.body), v), "body: %s", r.body)
}

// Condition waits (for the server to notice something), not sleeps.
const (
	testWait = 10 * time.Second
	testTick = 5 * time.Millisecond
)

func do(t *testing.T, ctx context.Context, method, u string, body io.Reader, setup func(*http.Request)) response {
	t.Helper()
	resp, err := rawDo(ctx, method, u, body, setup)
	require.NoError(t, err)
	return resp
}

// rawDo is do without testing.T, for goroutines.
func rawDo(ctx context.Context, method, u string, body io.Reader, setup func(*http.Request)) (response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return response{}, err
	}
	if setup != nil {
		setup(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}, err
}

// async runs a request in the background; the channel yields its response (status
// 0 if it failed).
func async(ctx context.Context, method, u, body string, setup func(*http.Request)) <-chan response {
	ch := make(chan response, 1)
	go func() {
		resp, _ := rawDo(ctx, method, u, strings.NewReader(body), setup)
		ch <- resp
	}()
	return ch
}

func sendGridAuthed(req *http.Request) {
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
}

func twilioAuthed(req *http.Request) {
	req.SetBasicAuth(testAccount, testToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
}

// mailJSON is a valid Mail Send body to one recipient.
func mailJSON(to, subject, key string) string {
	b, _ := json.Marshal(map[string]any{
		"from":             map[string]string{"email": "billing@dunwell.test", "name": "Dunwell"},
		"subject":          subject,
		"personalizations": []any{map[string]any{"to": []any{map[string]string{"email": to, "name": "Ann"}}}},
		"content": []any{
			map[string]string{"type": "text/plain", "value": "Please pay."},
			map[string]string{"type": "text/html", "value": "<p>Please pay.</p>"},
		},
		"custom_args": map[string]string{"notice_key": key},
	})
	return string(b)
}

func postMail(t *testing.T, ctx context.Context, base, body string) response {
	t.Helper()
	return do(t, ctx, http.MethodPost, base+"/v3/mail/send", strings.NewReader(body), sendGridAuthed)
}

func postSMS(t *testing.T, ctx context.Context, base string, form url.Values) response {
	t.Helper()
	return do(t, ctx, http.MethodPost, base+twilioPath, strings.NewReader(form.Encode()), twilioAuthed)
}

func smsForm(to, body string) url.Values {
	return url.Values{"To": {to}, "From": {"+15005550006"}, "Body": {body}}
}

// httptestRecorder serves one request in-process and returns its status.
func httptestRecorder(s *Server, method, target, body string, setup func(*http.Request)) int {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if setup != nil {
		setup(req)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec.Code
}
