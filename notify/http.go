package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// transportDefaults checks and fills the settings both senders share: BaseURL
// (defaultBase when empty), Timeout (DefaultTimeout when 0) and Transport
// (http.DefaultTransport when nil). It returns the parsed BaseURL and what is wrong.
func transportDefaults(provider, defaultBase string, baseURL *string, timeout *time.Duration, transport *http.RoundTripper) (*url.URL, []error) {
	var errs []error
	if *baseURL == "" {
		*baseURL = defaultBase
	}
	base, err := parseBaseURL("BaseURL", *baseURL)
	if err != nil {
		errs = append(errs, err)
	}
	if *timeout < 0 {
		errs = append(errs, fmt.Errorf("%s: Timeout %s must not be negative", provider, *timeout))
	} else if *timeout == 0 {
		*timeout = DefaultTimeout
	}
	if *transport == nil {
		*transport = http.DefaultTransport
	}
	return base, errs
}

// parseBaseURL validates a provider base URL: absolute http(s), a host, no query.
func parseBaseURL(name, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s %q is not a URL: %w", name, raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%s %q must be an http(s) URL like https://host[:port], without credentials, query or fragment", name, raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// noRedirect stops at a redirect: a provider API never redirects a correct request,
// and following one would turn a POST into a GET.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// callTransport serves one provider call. It points requests at the configured
// base URL (twilio-go keeps its own base URL private), binds them to the call's
// context (twilio-go's requests carry none), adds basic auth (twilio-go refuses
// passwords that are not purely alphanumeric, which local fake tokens often are
// not) and remembers the last response's status and headers (twilio-go's errors
// carry no headers, so no Retry-After).
type callTransport struct {
	base       http.RoundTripper
	target     *url.URL // nil keeps the SDK's URL
	ctx        context.Context
	user, pass string // basic auth; none when user is empty

	mu     sync.Mutex
	status int
	header http.Header
}

// RoundTrip sends a rewritten copy of req; req itself is not modified.
func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(t.ctx)
	if t.target != nil {
		r.URL.Scheme = t.target.Scheme
		r.URL.Host = t.target.Host
		r.URL.Path = t.target.Path + r.URL.Path
		r.URL.RawPath = ""
		r.Host = ""
	}
	if t.user != "" {
		r.SetBasicAuth(t.user, t.pass)
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.status, t.header = resp.StatusCode, resp.Header.Clone()
	t.mu.Unlock()
	return resp, nil
}

// last returns the last response's status and headers (0 and empty if none).
func (t *callTransport) last() (int, http.Header) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.header == nil {
		return t.status, http.Header{}
	}
	return t.status, t.header
}

// requestFailed turns a failure without a usable HTTP answer into an error: the
// caller's cancellation stays a plain (wrapped) context error, anything else —
// our own timeout, a refused or reset connection — is transient.
func requestFailed(parent context.Context, provider, op string, err error) error {
	if perr := parent.Err(); perr != nil {
		if errors.Is(err, perr) {
			return fmt.Errorf("%s %s: %w", provider, op, err)
		}
		return fmt.Errorf("%s %s: %w (%w)", provider, op, perr, err)
	}
	msg := "request failed: " + err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "timed out waiting for the provider (it may have accepted the message): " + err.Error()
	}
	return &Error{Provider: provider, Op: op, Kind: KindTransient, Message: msg, Err: err}
}

// validKey reports whether a notice key can be embedded in a SendGrid activity
// query, which has no documented escaping.
func validKey(k string) bool {
	return k != "" && len(k) <= 512 && !strings.ContainsFunc(k, func(r rune) bool {
		return r == '"' || r == '\'' || r == '\\' || r < 0x20 || r == 0x7f
	})
}
