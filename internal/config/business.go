package config

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dunwell/dunwell/templates"
)

// Business identity variables: who every reminder says it comes from.
const (
	EnvBusinessName    = "DUNWELL_BUSINESS_NAME"
	EnvBusinessAddress = "DUNWELL_BUSINESS_ADDRESS"
	EnvReplyTo         = "DUNWELL_REPLY_TO"
	EnvBusinessPhone   = "DUNWELL_BUSINESS_PHONE"
)

// phoneRE is a phone number as people write it: digits, an optional leading +,
// spaces, dots, dashes and parentheses ("+1 (555) 010-0100", "030 1234567").
var phoneRE = regexp.MustCompile(`^\+?[0-9][0-9 ().\-/]*[0-9]$`)

// ParseBusiness reads the business identity every message names:
//
//	DUNWELL_BUSINESS_NAME     the sender's name, in messages and as the email sender name
//	DUNWELL_BUSINESS_ADDRESS  postal address on one line ("1 Main St, Springfield, IL 62701")
//	DUNWELL_REPLY_TO          email address replies go to: a mailbox a person reads
//	DUNWELL_BUSINESS_PHONE    phone number for questions and disputes (optional)
//
// get returns a variable's trimmed value ("" when unset). Every variable is
// optional, but a message without them cannot say who sends it: the worker warns
// (see Business.Missing). A value with control characters, one too long, a reply-to
// that is not a bare email address or a phone number with letters is an error naming
// the variable.
func ParseBusiness(get func(string) string) (templates.Business, []error) {
	b := templates.Business{
		Name: get(EnvBusinessName), Address: get(EnvBusinessAddress), ReplyTo: get(EnvReplyTo), Phone: get(EnvBusinessPhone),
	}
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	for _, f := range []struct {
		name, value string
		max         int
	}{{EnvBusinessName, b.Name, 100}, {EnvBusinessAddress, b.Address, 300}, {EnvReplyTo, b.ReplyTo, 254}, {EnvBusinessPhone, b.Phone, 30}} {
		switch {
		case !utf8.ValidString(f.value):
			bad(f.name, "is not valid UTF-8")
		case strings.ContainsFunc(f.value, unicode.IsControl):
			bad(f.name, "must be one line without control characters")
		case utf8.RuneCountInString(f.value) > f.max:
			bad(f.name, "is %d characters long; at most %d", utf8.RuneCountInString(f.value), f.max)
		}
	}
	if b.ReplyTo != "" {
		if a, err := mail.ParseAddress(b.ReplyTo); err != nil || a.Address != b.ReplyTo {
			bad(EnvReplyTo, "%q must be a bare email address like accounts@example.com", b.ReplyTo)
		}
	}
	if b.Phone != "" && !phoneRE.MatchString(b.Phone) {
		bad(EnvBusinessPhone, "%q must be a phone number like +1 555 010 0100 (digits, +, spaces, dots, dashes, parentheses)", b.Phone)
	}
	return b, errs
}

// MissingBusiness names the business identity variables that are unset, for the
// worker's warning that messages cannot say who sends them.
func MissingBusiness(b templates.Business) []string {
	var out []string
	if b.Name == "" {
		out = append(out, EnvBusinessName)
	}
	if b.Address == "" {
		out = append(out, EnvBusinessAddress)
	}
	if b.ReplyTo == "" {
		out = append(out, EnvReplyTo)
	}
	return out
}
