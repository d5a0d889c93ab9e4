package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dunwell/dunwell/webhooks"
)

// Webhooks configures the payment webhooks of `starter serve`.
type Webhooks struct {
	// Stripe verifies Stripe-Signature (STRIPE_WEBHOOK_SECRET, comma-separated during a
	// rotation); nil when unset.
	Stripe *webhooks.StripeVerifier
	// Payments verifies Standard Webhooks signatures (PAYMENTS_WEBHOOK_SECRET,
	// comma-separated); nil when unset.
	Payments *webhooks.StandardVerifier
	// ParkAfter is how long a webhook event may wait for its invoice (or payment, or
	// a working Temporal) before it is parked for an operator (WEBHOOK_PARK_AFTER).
	ParkAfter time.Duration
	// Inbound configures SendGrid's Inbound Parse webhook: customers' replies.
	Inbound Inbound
}

// Inbound configures POST /v1/webhooks/sendgrid/inbound/{token} (docs/collectors.md,
// Replies). Inbound Parse does not sign its posts, so it is authenticated the way
// SendGrid documents: a secret in the URL it posts to (the path token), and
// optionally HTTP basic auth in that URL too.
type Inbound struct {
	// Token is the secret path segment (SENDGRID_INBOUND_TOKEN, at least 32 URL-safe
	// characters); empty: the webhook answers 503.
	Token string
	// User and Password, when set (SENDGRID_INBOUND_BASIC_AUTH="user:password"), are
	// required as basic auth as well.
	User, Password string
	// MaxBytes bounds a post (SENDGRID_INBOUND_MAX_BYTES, default 30 MiB, SendGrid's
	// own limit for a message with its attachments).
	MaxBytes int64
}

// DefaultInboundMaxBytes is SendGrid's limit for a received message.
const DefaultInboundMaxBytes = 30 << 20

// loadInbound reads the Inbound Parse settings; errors never show the secrets.
func (c *Config) loadInbound(get func(string, string) string) error {
	var errs []error
	in := Inbound{Token: get("SENDGRID_INBOUND_TOKEN", ""), MaxBytes: DefaultInboundMaxBytes}
	if in.Token != "" && (len(in.Token) < 32 || len(in.Token) > 200 || strings.Trim(in.Token,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "") {
		errs = append(errs, errors.New("SENDGRID_INBOUND_TOKEN: must be 32 to 200 letters, digits, '-' or '_' (e.g. openssl rand -hex 24)"))
	}
	if v := get("SENDGRID_INBOUND_BASIC_AUTH", ""); v != "" {
		user, pass, ok := strings.Cut(v, ":")
		if !ok || user == "" || len(pass) < 16 {
			errs = append(errs, errors.New("SENDGRID_INBOUND_BASIC_AUTH: must be user:password with a password of at least 16 characters"))
		}
		in.User, in.Password = user, pass
	}
	if v := get("SENDGRID_INBOUND_MAX_BYTES", ""); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 64<<10 || n > 100<<20 {
			errs = append(errs, fmt.Errorf("SENDGRID_INBOUND_MAX_BYTES: must be a number of bytes from 65536 to 104857600, got %q", v))
		} else {
			in.MaxBytes = n
		}
	}
	c.Webhooks.Inbound = in
	return errors.Join(errs...)
}

// loadWebhooks reads the webhook secrets. Errors name the variable and which secret
// in the list is wrong, never the secret itself.
func (c *Config) loadWebhooks(get func(string, string) string) error {
	var errs []error
	var err error
	if c.Webhooks.Stripe, err = verifier(get, "STRIPE_WEBHOOK_SECRET", webhooks.NewStripeVerifier); err != nil {
		errs = append(errs, err)
	}
	if c.Webhooks.Payments, err = verifier(get, "PAYMENTS_WEBHOOK_SECRET", webhooks.NewStandardVerifier); err != nil {
		errs = append(errs, err)
	}
	park, err := time.ParseDuration(get("WEBHOOK_PARK_AFTER", "72h"))
	if err != nil || park < time.Minute || park > 90*24*time.Hour {
		errs = append(errs, errors.New(`WEBHOOK_PARK_AFTER: must be a duration between 1m and 2160h like "72h"`))
	}
	c.Webhooks.ParkAfter = park
	return errors.Join(errs...)
}

// verifier builds a verifier from the comma-separated secrets in the variable env;
// nil when it is unset.
func verifier[V any](get func(string, string) string, env string, build func([]string) (*V, error)) (*V, error) {
	list, err := secretList(get(env, ""))
	if err != nil || list == nil {
		if err != nil {
			err = fmt.Errorf("%s: %w", env, err)
		}
		return nil, err
	}
	v, err := build(list)
	if err != nil {
		return v, fmt.Errorf("%s: %w", env, err)
	}
	return v, nil
}

// secretList splits a comma-separated list; nil for an empty value.
func secretList(v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	var out []string
	for i, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, fmt.Errorf("secret %d: is empty (a stray comma?)", i+1)
		}
		out = append(out, s)
	}
	return out, nil
}
