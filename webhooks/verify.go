package webhooks

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	stripewebhook "github.com/stripe/stripe-go/v85/webhook"
)

// Tolerance is how far a signature's timestamp may lie in the past (both schemes;
// Standard Webhooks also in the future): a captured request cannot be replayed later.
const Tolerance = 5 * time.Minute

// Header names.
const (
	HeaderStripeSignature  = "Stripe-Signature"
	HeaderWebhookID        = standardwebhooks.HeaderWebhookID
	HeaderWebhookTimestamp = standardwebhooks.HeaderWebhookTimestamp
	HeaderWebhookSignature = standardwebhooks.HeaderWebhookSignature
)

// SignatureError is a request that does not prove it comes from the provider:
// missing or malformed header, stale timestamp, or no signature made with any of the
// configured secrets. The API answers 401 and stores nothing. Header and Reason are
// safe to show the caller; they never contain a secret.
type SignatureError struct {
	Header string
	Reason string
}

func (e *SignatureError) Error() string { return e.Header + ": " + e.Reason }

// StripeVerifier checks Stripe-Signature with stripe-go's webhook package against
// each configured endpoint secret: during a rotation Stripe signs with the old and the
// new secret, and either one passing is enough.
type StripeVerifier struct{ secrets []string }

// NewStripeVerifier takes the endpoint secrets (whsec_..., as the Stripe dashboard or
// `stripe listen` shows them).
func NewStripeVerifier(secrets []string) (*StripeVerifier, error) {
	if len(secrets) == 0 {
		return nil, errors.New("no secret given")
	}
	for i, s := range secrets {
		if !strings.HasPrefix(s, "whsec_") || len(s) < len("whsec_")+8 || strings.ContainsAny(s, " \t\r\n") {
			return nil, fmt.Errorf("secret %d: must look like whsec_... (the endpoint's signing secret)", i+1)
		}
	}
	return &StripeVerifier{secrets: append([]string(nil), secrets...)}, nil
}

// Verify checks the raw body against the Stripe-Signature header value.
func (v *StripeVerifier) Verify(payload []byte, header string) error {
	var last error
	for _, s := range v.secrets {
		err := stripewebhook.ValidatePayloadWithTolerance(payload, header, s, Tolerance)
		if err == nil {
			return nil
		}
		last = err
		if !errors.Is(err, stripewebhook.ErrNoValidSignature) {
			break // missing, malformed or stale: no other secret changes that
		}
	}
	reason := "no signature matches a configured secret"
	switch {
	case errors.Is(last, stripewebhook.ErrNotSigned):
		reason = "header is missing"
	case errors.Is(last, stripewebhook.ErrInvalidHeader):
		reason = "header is malformed; expected t=<unix time>,v1=<hex HMAC-SHA256>"
	case errors.Is(last, stripewebhook.ErrTooOld):
		reason = "timestamp is older than the 5-minute tolerance"
	}
	return &SignatureError{Header: HeaderStripeSignature, Reason: reason}
}

// StandardVerifier checks Standard Webhooks signatures (v1, HMAC-SHA256 of
// "id.timestamp.body") with the spec's reference library, against each configured
// key; any one passing is enough, so keys can be rotated.
type StandardVerifier struct{ hooks []*standardwebhooks.Webhook }

// Secret sizes the spec asks for, in bytes after base64 decoding.
const (
	minSecretBytes = 24
	maxSecretBytes = 64
)

// NewStandardVerifier takes whsec_<base64> secrets of 24 to 64 bytes.
func NewStandardVerifier(secrets []string) (*StandardVerifier, error) {
	if len(secrets) == 0 {
		return nil, errors.New("no secret given")
	}
	v := &StandardVerifier{}
	for i, s := range secrets {
		raw, ok := strings.CutPrefix(s, "whsec_")
		key, err := base64.StdEncoding.DecodeString(raw)
		if !ok || err != nil || len(key) < minSecretBytes || len(key) > maxSecretBytes {
			return nil, fmt.Errorf("secret %d: must be whsec_ followed by the base64 of %d to %d random bytes", i+1, minSecretBytes, maxSecretBytes)
		}
		wh, err := standardwebhooks.NewWebhookRaw(key)
		if err != nil {
			return nil, fmt.Errorf("secret %d: %w", i+1, err)
		}
		v.hooks = append(v.hooks, wh)
	}
	return v, nil
}

// Verify checks the raw body against the webhook-* headers.
func (v *StandardVerifier) Verify(payload []byte, h http.Header) error {
	for _, name := range []string{HeaderWebhookID, HeaderWebhookTimestamp, HeaderWebhookSignature} {
		if h.Get(name) == "" {
			return &SignatureError{Header: name, Reason: "header is missing"}
		}
	}
	var last error
	for _, wh := range v.hooks {
		err := wh.Verify(payload, h)
		if err == nil {
			return nil
		}
		last = err
		if !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
			break
		}
	}
	switch {
	case errors.Is(last, standardwebhooks.ErrInvalidHeaders):
		return &SignatureError{Header: HeaderWebhookTimestamp, Reason: "must be a Unix time in seconds"}
	case errors.Is(last, standardwebhooks.ErrMessageTooOld):
		return &SignatureError{Header: HeaderWebhookTimestamp, Reason: "is older than the 5-minute tolerance"}
	case errors.Is(last, standardwebhooks.ErrMessageTooNew):
		return &SignatureError{Header: HeaderWebhookTimestamp, Reason: "is more than 5 minutes in the future"}
	}
	return &SignatureError{Header: HeaderWebhookSignature, Reason: "no v1 signature matches a configured secret"}
}

// SignStripe returns a Stripe-Signature header for payload at t, as Stripe makes it;
// for tests, make run and the curl examples of docs/api.md.
func SignStripe(payload []byte, secret string, t time.Time) string {
	return fmt.Sprintf("t=%d,v1=%x", t.Unix(), stripewebhook.ComputeSignature(t, payload, secret))
}

// SignStandard returns the webhook-signature header value for (id, t, payload) under
// a whsec_ secret, as a Standard Webhooks sender makes it.
func SignStandard(id string, t time.Time, payload []byte, secret string) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("secret: %w", err)
	}
	wh, err := standardwebhooks.NewWebhookRaw(key)
	if err != nil {
		return "", err
	}
	return wh.Sign(id, t, payload)
}
