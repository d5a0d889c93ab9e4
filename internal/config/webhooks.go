package config

import (
	"errors"
	"fmt"
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
