package notify

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind classifies a provider failure by what the caller should do about it.
type Kind int

// Kinds of failure. Every kind but KindTransient is permanent: retrying the same
// request cannot succeed.
const (
	// KindTransient: rate limited, provider error (5xx), timeout or network failure.
	// Retry later, honouring RetryAfter. A transient failure of a send may still
	// have delivered the message (a timeout after the provider accepted it), so
	// reconcile with FindEmail/FindSMS before sending again.
	KindTransient Kind = iota + 1
	// KindRecipientInvalid: the address or number can never receive the message
	// (malformed, unreachable, not mobile, opted out).
	KindRecipientInvalid
	// KindBadRequest: the provider rejected the request itself (a 4xx that is not
	// about the recipient), or the message failed local validation.
	KindBadRequest
	// KindConfig: credentials, account, sender or base URL are wrong (401, 403, 404).
	KindConfig
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindTransient:
		return "transient"
	case KindRecipientInvalid:
		return "recipient invalid"
	case KindBadRequest:
		return "bad request"
	case KindConfig:
		return "configuration error"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Provider names used in Error.Provider.
const (
	ProviderSendGrid = "sendgrid"
	ProviderTwilio   = "twilio"
)

// Error is a classified provider failure. Use errors.As, or the helpers IsPermanent,
// IsRecipientInvalid and RetryAfter, which see through wrapping.
type Error struct {
	// Provider is ProviderSendGrid or ProviderTwilio.
	Provider string
	// Op is what failed: "send email", "find email", "send sms" or "find sms".
	Op string
	// Kind says what to do about the failure.
	Kind Kind
	// StatusCode is the HTTP status; 0 when there was no response.
	StatusCode int
	// Code is Twilio's error code (21211, ...); 0 for SendGrid or when absent.
	Code int
	// Message is the provider's explanation, or ours for local failures.
	Message string
	// RetryAfter is how long the provider asked us to wait (429, some 503s).
	RetryAfter time.Duration
	// Err is the underlying error (SDK, network), if any.
	Err error
}

// Error describes the failure, e.g.
// "twilio send sms: recipient invalid (HTTP 400, code 21211): Invalid 'To' Phone Number: 123".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s", e.Provider, e.Op, e.Kind)
	switch {
	case e.StatusCode != 0 && e.Code != 0:
		fmt.Fprintf(&b, " (HTTP %d, code %d)", e.StatusCode, e.Code)
	case e.StatusCode != 0:
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	} else if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Permanent reports whether retrying the same request is pointless.
func (e *Error) Permanent() bool { return e.Kind != KindTransient }

// KindOf returns the Kind of the first *Error in err's chain, or 0 if there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// IsPermanent reports whether err is a classified failure that retrying cannot fix.
// Unclassified errors (including context cancellation) are not permanent.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent()
}

// IsRecipientInvalid reports whether err says the recipient can never receive the
// message.
func IsRecipientInvalid(err error) bool { return KindOf(err) == KindRecipientInvalid }

// RetryAfter returns the delay the provider asked for, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// kindForStatus classifies an HTTP status when nothing more specific is known.
func kindForStatus(status int) Kind {
	switch {
	case status == http.StatusTooManyRequests, status == http.StatusRequestTimeout, status >= 500:
		return KindTransient
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusNotFound,
		status >= 300 && status < 400:
		// 404 and redirects: the base URL or account is wrong, not the message.
		return KindConfig
	case status >= 400:
		return KindBadRequest
	}
	// 1xx or a 2xx we could not use: the provider may have accepted the message,
	// so retry (through reconciliation) rather than give up.
	return KindTransient
}

// retryAfter parses Retry-After (seconds or an HTTP date) and, failing that,
// SendGrid's X-RateLimit-Reset (a Unix time).
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs >= 0 && secs < 1<<31 {
			return time.Duration(secs) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	if v := strings.TrimSpace(h.Get("X-RateLimit-Reset")); v != "" {
		if unix, err := strconv.ParseInt(v, 10, 64); err == nil && unix > 0 && unix < 1<<40 {
			// The reset is a whole second; never ask for less than one.
			return max(time.Unix(unix, 0).Sub(now), time.Second)
		}
	}
	return 0
}
