package collection

import (
	"errors"
	"maps"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/dunwell/dunwell/money"
	"github.com/dunwell/dunwell/policy"
)

// FieldErrors maps a JSON field path ("customer.email") to what is wrong with it.
type FieldErrors map[string]string

// Fields lists the bad field names, sorted.
func (fe FieldErrors) Fields() []string {
	return slices.Sorted(maps.Keys(fe))
}

// Error renders every problem, sorted by field.
func (fe FieldErrors) Error() string {
	var b strings.Builder
	for i, f := range fe.Fields() {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f + ": " + fe[f])
	}
	return b.String()
}

// CustomerRequest is the customer as the API receives it.
type CustomerRequest struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Email    string   `json:"email,omitempty"`
	Phone    string   `json:"phone,omitempty"`
	Timezone string   `json:"timezone"`
	Locale   string   `json:"locale,omitempty"`
	Segment  string   `json:"segment,omitempty"`
	Channels []string `json:"channels,omitempty"`
	// Address is the postal address for letter steps (optional).
	Address *Address `json:"address,omitempty"`
}

// InvoiceRequest is an invoice as POST /v1/invoices receives it: money as decimal
// strings in major units, dates as strings.
type InvoiceRequest struct {
	ID         string            `json:"id"`
	Customer   CustomerRequest   `json:"customer"`
	Currency   string            `json:"currency"`
	AmountDue  string            `json:"amount_due"`
	IssuedAt   string            `json:"issued_at"`
	DueDate    string            `json:"due_date"`
	PaymentURL string            `json:"payment_url,omitempty"`
	Policy     string            `json:"policy,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
}

// IDPattern is what invoice and customer ids may look like: they travel in URLs,
// workflow ids and search attributes.
var IDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$`)

// IDProblem says what is wrong with an id that does not match IDPattern.
const IDProblem = "must be 1-100 letters, digits, '.', '_', ':' or '-'"

const (
	maxNameLen     = 200
	maxMetadata    = 50
	maxMetaKeyLen  = 64
	maxMetaValLen  = 500
	maxSegmentLen  = 64
	maxPaymentURL  = 2000
	maxFutureIssue = 24 * time.Hour
)

// Validate checks every field and returns the invoice in internal form, or every
// problem found. now bounds issued_at (an invoice is not issued in the future).
func (r *InvoiceRequest) Validate(now time.Time) (Invoice, FieldErrors) {
	fe := FieldErrors{}
	inv := Invoice{
		ID:         r.ID,
		Currency:   r.Currency,
		PaymentURL: r.PaymentURL,
		PolicyID:   r.Policy,
		Metadata:   r.Metadata,
	}
	if r.ID == "" {
		fe["id"] = "is required"
	} else if !IDPattern.MatchString(r.ID) {
		fe["id"] = "must be 1-100 letters, digits, '.', '_', ':' or '-', starting with a letter or digit"
	}
	inv.Customer = r.Customer.validate(fe)

	currencyOK := false
	if r.Currency == "" {
		fe["currency"] = "is required"
	} else if !money.ValidCurrency(r.Currency) {
		fe["currency"] = "must be an ISO 4217 code like \"USD\""
	} else {
		currencyOK = true
	}
	if r.AmountDue == "" {
		fe["amount_due"] = "is required"
	} else {
		// Without a valid currency the decimals cannot be checked, but the syntax and
		// the sign can, so every problem is reported at once.
		cur := r.Currency
		if !currencyOK {
			cur = "CLF" // the ISO currency with the most decimals (4)
		}
		v, err := money.Parse(r.AmountDue, cur)
		var decimals *money.DecimalsError
		switch {
		case err != nil && (currencyOK || !errors.As(err, &decimals)):
			fe["amount_due"] = err.Error()
		case err == nil && v <= 0:
			fe["amount_due"] = "must be greater than zero"
		case currencyOK:
			inv.AmountDue = v
		}
	}
	if r.IssuedAt == "" {
		fe["issued_at"] = "is required"
	} else if t, err := time.Parse(time.RFC3339, r.IssuedAt); err != nil {
		fe["issued_at"] = "must be an RFC 3339 timestamp like \"2026-11-01T10:00:00Z\""
	} else if t.After(now.Add(maxFutureIssue)) {
		fe["issued_at"] = "is in the future"
	} else {
		inv.IssuedAt = t.UTC()
	}
	if r.DueDate == "" {
		fe["due_date"] = "is required"
	} else if d, err := ParseDate(r.DueDate); err != nil {
		fe["due_date"] = err.Error()
	} else {
		inv.DueDate = d
		if !inv.IssuedAt.IsZero() {
			// The issue day in the customer's zone (UTC if the zone is itself invalid).
			loc, err := time.LoadLocation(inv.Customer.Timezone)
			if err != nil || inv.Customer.Timezone == "" {
				loc = time.UTC
			}
			issuedLocal := inv.IssuedAt.In(loc)
			issuedDay := time.Date(issuedLocal.Year(), issuedLocal.Month(), issuedLocal.Day(), 0, 0, 0, 0, loc)
			if d.In(loc).Before(issuedDay) {
				fe["due_date"] = "is before issued_at"
			}
		}
	}
	if r.PaymentURL != "" {
		u, err := url.Parse(r.PaymentURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(r.PaymentURL) > maxPaymentURL {
			fe["payment_url"] = "must be an absolute http(s) URL"
		}
	}
	if len(r.Metadata) > maxMetadata {
		fe["metadata"] = "has more than 50 keys"
	}
	for k, v := range r.Metadata {
		if k == "" || len(k) > maxMetaKeyLen || len(v) > maxMetaValLen || !utf8.ValidString(k) || !utf8.ValidString(v) {
			fe["metadata."+k] = "keys must be 1-64 and values at most 500 bytes of UTF-8"
		}
	}
	if len(fe) > 0 {
		return Invoice{}, fe
	}
	return inv, nil
}

func (c *CustomerRequest) validate(fe FieldErrors) Customer {
	out := Customer{ID: c.ID, Name: strings.TrimSpace(c.Name), Locale: c.Locale, Segment: c.Segment, Timezone: c.Timezone}
	if c.ID == "" {
		fe["customer.id"] = "is required"
	} else if !IDPattern.MatchString(c.ID) {
		fe["customer.id"] = "must be 1-100 letters, digits, '.', '_', ':' or '-', starting with a letter or digit"
	}
	if out.Name == "" {
		fe["customer.name"] = "is required"
	} else if len(out.Name) > maxNameLen || !utf8.ValidString(out.Name) {
		fe["customer.name"] = "must be at most 200 bytes of UTF-8"
	}
	if c.Email != "" {
		addr, err := mail.ParseAddress(c.Email)
		if err != nil || addr.Address != c.Email || !strings.Contains(addr.Address[strings.LastIndex(addr.Address, "@")+1:], ".") {
			fe["customer.email"] = "must be a plain address like \"ada@example.com\""
		} else {
			out.Email = addr.Address
		}
	}
	if c.Phone != "" {
		if e164, ok := normalizeE164(c.Phone); !ok {
			fe["customer.phone"] = "must be a valid phone number in E.164 form like \"+14155550100\""
		} else {
			out.Phone = e164
		}
	}
	if c.Email == "" && c.Phone == "" {
		fe["customer.email"] = "an email or a phone is required to contact the customer"
	}
	if c.Timezone == "" {
		fe["customer.timezone"] = "is required (an IANA zone like \"America/New_York\")"
	} else if _, err := time.LoadLocation(c.Timezone); err != nil || c.Timezone == "Local" {
		fe["customer.timezone"] = "must be an IANA zone like \"America/New_York\""
	}
	if len(c.Segment) > maxSegmentLen {
		fe["customer.segment"] = "must be at most 64 bytes"
	}
	if c.Locale != "" && !localeRE.MatchString(c.Locale) {
		fe["customer.locale"] = "must be a language tag like \"en-US\""
	}
	if c.Address != nil {
		addr := c.Address.Validate("customer.address", fe)
		out.Address = &addr
	}
	seen := map[policy.Channel]bool{}
	for i, ch := range c.Channels {
		pc := policy.Channel(ch)
		if !pc.Valid() {
			fe["customer.channels"] = "entry " + strconv.Itoa(i) + " is " + strconv.Quote(ch) + "; channels are " + quotedChannels()
			continue
		}
		if !seen[pc] {
			out.Channels = append(out.Channels, pc)
		}
		seen[pc] = true
	}
	return out
}

// quotedChannels lists the channels for an error message: "email", "sms", "letter".
func quotedChannels() string {
	q := make([]string, len(policy.Channels))
	for i, ch := range policy.Channels {
		q[i] = strconv.Quote(string(ch))
	}
	return strings.Join(q, ", ")
}

var localeRE = regexp.MustCompile(`^[a-zA-Z]{2,3}([-_][a-zA-Z0-9]{2,8}){0,3}$`)

// normalizeE164 accepts only numbers already written in E.164 ("+" and digits) that
// libphonenumber considers valid, and returns them formatted canonically.
func normalizeE164(s string) (string, bool) {
	if !strings.HasPrefix(s, "+") || len(s) > 16 {
		return "", false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	num, err := phonenumbers.Parse(s, "")
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}

// PaymentRequest is a payment as the API receives it.
type PaymentRequest struct {
	PaymentID string `json:"payment_id"`
	Amount    string `json:"amount"`
	Currency  string `json:"currency"`
	PaidAt    string `json:"paid_at"`
}

// Check is the first of a payment request's two checks: whether it is a well-formed
// payment for an invoice issued at issuedAt, now being when it arrived. payment_id must
// be an id; currency and amount must be given; paid_at, when given, must be an RFC 3339
// timestamp within CheckPaidAt's bounds. It returns FieldErrors naming every field that
// fails (the API answers 400), or nil. What the currency and the amount are worth for
// the invoice is Fit's question.
func (r *PaymentRequest) Check(issuedAt, now time.Time) error {
	fe := FieldErrors{}
	if r.PaymentID == "" {
		fe["payment_id"] = "is required"
	} else if !IDPattern.MatchString(r.PaymentID) {
		fe["payment_id"] = IDProblem
	}
	if r.Currency == "" {
		fe["currency"] = "is required"
	}
	if r.Amount == "" {
		fe["amount"] = "is required"
	}
	if r.PaidAt != "" {
		if t, err := time.Parse(time.RFC3339, r.PaidAt); err != nil {
			fe["paid_at"] = "must be an RFC 3339 timestamp"
		} else if why := paidAtProblem(t, issuedAt, now); why != "" {
			fe["paid_at"] = why
		}
	}
	if len(fe) > 0 {
		return fe
	}
	return nil
}

// Fit is the second check, of a request Check accepted: whether it fits the invoice in
// invoiceCurrency, and the Payment it makes. A currency other than the invoice's, or an
// amount that currency cannot hold or that is not positive, is an *InvalidError naming
// the field (the API answers 422), as the workflow's CheckPayment would refuse it. A
// request without paid_at is dated now.
func (r *PaymentRequest) Fit(invoiceCurrency string, now time.Time) (Payment, error) {
	if r.Currency != invoiceCurrency {
		return Payment{}, invalid("currency", "is %s but the invoice is in %s", r.Currency, invoiceCurrency)
	}
	amount, err := money.Parse(r.Amount, invoiceCurrency)
	switch {
	case err != nil:
		return Payment{}, invalid("amount", "%s", err.Error())
	case amount <= 0:
		return Payment{}, invalid("amount", "must be greater than zero")
	}
	p := Payment{PaymentID: r.PaymentID, Amount: amount, PaidAt: now.UTC()}
	if r.PaidAt != "" {
		t, err := time.Parse(time.RFC3339, r.PaidAt)
		if err != nil {
			return Payment{}, invalid("paid_at", "must be an RFC 3339 timestamp")
		}
		p.PaidAt = t.UTC()
	}
	return p, nil
}
