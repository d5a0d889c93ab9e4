// Package policy defines dunning policies: data, not code. A policy says when an
// invoice's reminders go out (steps at offsets around the due date or the issue time),
// on which channels, and when and to whom an unpaid invoice is escalated.
//
// Policies are loaded from YAML (or JSON, which is YAML) and validated with errors that
// name the field and the problem. The collection workflow carries a snapshot of its
// policy in its input, so editing a file never changes a running invoice.
package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Channel is a way to reach a customer.
type Channel string

// Channels Dunwell can send on.
const (
	Email Channel = "email"
	SMS   Channel = "sms"
	// Letter is a printed letter to the customer's postal address, handed to a
	// print-and-mail provider or to the letter outbox (package letter).
	Letter Channel = "letter"
	// Call is a phone call a collector makes: the step opens a task for a person and
	// the invoice waits for its outcome (see Step.Timeout and calls.go).
	Call Channel = "call"
)

// Channels lists every channel a policy step may name, in the order error messages
// list them.
var Channels = []Channel{Email, SMS, Letter, Call}

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool { return slices.Contains(Channels, c) }

// Electronic reports whether c is sent as a message through SendGrid or Twilio
// (email, sms), as opposed to a letter.
func (c Channel) Electronic() bool { return c == Email || c == SMS }

// channelList is the channels for error messages: "email, sms, letter".
func channelList() string {
	names := make([]string, len(Channels))
	for i, c := range Channels {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}

// Anchor is the instant a step's offset counts from.
type Anchor string

// Anchors. Due is the usual one; Issued exists for policies (like demo) whose whole
// cycle is measured from the moment the invoice was issued.
const (
	AnchorDue    Anchor = "due"
	AnchorIssued Anchor = "issued"
)

// EscalationTarget is who an escalated invoice is handed to.
type EscalationTarget string

// Escalation targets.
const (
	ToAgency EscalationTarget = "agency"
	ToLegal  EscalationTarget = "legal"
)

// Policy is one version of a dunning policy.
type Policy struct {
	// ID names the policy ("standard"); invoices select it by this name.
	ID string `yaml:"id" json:"id"`
	// Version increases whenever the file changes meaning; running invoices keep the
	// version they started with.
	Version int `yaml:"version" json:"version"`
	// Description is for people.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Anchor is what step offsets count from: "due" (default) or "issued".
	Anchor Anchor `yaml:"anchor,omitempty" json:"anchor,omitempty"`
	// SendAt is the local time of day ("10:00", customer's timezone) at which steps with
	// whole-day offsets are sent. Default 10:00.
	SendAt string `yaml:"send_at,omitempty" json:"send_at,omitempty"`
	// Steps are the reminders, in the order they happen.
	Steps []Step `yaml:"steps" json:"steps"`
	// Escalation says when and to whom an unpaid invoice is handed off.
	Escalation *Escalation `yaml:"escalation,omitempty" json:"escalation,omitempty"`
	// Contact limits when reminders may go out; nil means the defaults (08:00-21:00
	// local, every day, no holidays).
	Contact *Contact `yaml:"contact,omitempty" json:"contact,omitempty"`
	// RefundWindow is how long after an invoice is paid a refund or chargeback may
	// still re-open it ("+60d"); the workflow stays open that long. Zero (the default)
	// closes the workflow as soon as the invoice is paid.
	RefundWindow Offset `yaml:"refund_window,omitempty" json:"refund_window,omitzero"`
	// GracePeriod delays late fees (and, by default, interest) after the charge start
	// ("5d"); zero: they count from the first overdue instant. See charges.go.
	GracePeriod Offset `yaml:"grace_period,omitempty" json:"grace_period,omitzero"`
	// LateFee is charged once, or repeatedly, after the grace period; nil: none.
	LateFee *LateFee `yaml:"late_fee,omitempty" json:"late_fee,omitempty"`
	// Interest accrues on the unpaid principal; nil: none.
	Interest *Interest `yaml:"interest,omitempty" json:"interest,omitempty"`
	// Compensation is a fixed sum for recovery costs, tiered by the debt, per
	// currency, charged once when late fees would start; nil: none.
	Compensation Compensation `yaml:"compensation,omitempty" json:"compensation,omitempty"`
	// Discount is an early-payment discount; nil: none.
	Discount *Discount `yaml:"early_payment_discount,omitempty" json:"early_payment_discount,omitempty"`
	// Consolidate: whether the customer's reminders of one window go out as one
	// message (see Consolidate); a policy file without it consolidates.
	Consolidate *Consolidate `yaml:"consolidate,omitempty" json:"consolidate,omitempty"`
	// SelfServicePromise and SelfServicePlan are what a customer may settle on the
	// portal without an operator (selfservice.go); nil: the defaults there.
	SelfServicePromise *SelfServicePromise `yaml:"self_service_promise,omitempty" json:"self_service_promise,omitempty"`
	SelfServicePlan    *SelfServicePlan    `yaml:"self_service_plan,omitempty" json:"self_service_plan,omitempty"`
	// Calls limits the calls collectors make (calls.go); nil: the defaults, on.
	Calls *Calls `yaml:"calls,omitempty" json:"calls,omitempty"`
}

// Step is one reminder.
type Step struct {
	// Name identifies the step inside the policy ("due-soon"); it is part of the
	// notice's idempotency key, so it must be unique and stable.
	Name string `yaml:"name" json:"name"`
	// Offset from the anchor: "-3d", "0d", "+7d", or with a unit below a day
	// ("+20s", "+5m", "+2h") for fast cycles.
	Offset Offset `yaml:"offset" json:"offset"`
	// Channels in order of preference; the first one the customer can be reached on is
	// used, and a permanent failure falls back to the next.
	Channels []Channel `yaml:"channels" json:"channels"`
	// Template names the message text.
	Template string `yaml:"template" json:"template"`
	// Approval: a person must approve this reminder before it goes out. The invoice
	// waits in awaiting_approval for up to ApprovalTimeout ("2d" when unset), then
	// ApprovalDefault applies: "reject" (the default: the reminder is not sent and
	// dunning goes on) or "approve".
	Approval        bool   `yaml:"approval,omitempty" json:"approval,omitempty"`
	ApprovalTimeout Offset `yaml:"approval_timeout,omitempty" json:"approval_timeout,omitzero"`
	ApprovalDefault string `yaml:"approval_default,omitempty" json:"approval_default,omitempty"`
	// Timeout is how long a call step (channel call, first in Channels) waits for the
	// call's outcome ("2d", "+10m"); required on a call step, refused on others.
	Timeout Offset `yaml:"timeout,omitempty" json:"timeout,omitzero"`
	// OnTimeout is what happens when no outcome came in time: OnTimeoutNext (the
	// default: dunning goes on with the next step) or OnTimeoutEscalate (the policy's
	// escalation at once).
	OnTimeout string `yaml:"on_timeout,omitempty" json:"on_timeout,omitempty"`
}

// What a call step does when its call's outcome does not come in time.
const (
	OnTimeoutNext     = "next"
	OnTimeoutEscalate = "escalate"
)

// IsCall reports whether the step is a call step: its first channel is call.
func (s Step) IsCall() bool { return len(s.Channels) > 0 && s.Channels[0] == Call }

// TimeoutAction is the step's on_timeout with its default.
func (s Step) TimeoutAction() string {
	if s.OnTimeout == "" {
		return OnTimeoutNext
	}
	return s.OnTimeout
}

// DefaultStepApprovalTimeout is how long a reminder step with approval: true waits
// for a decision when the policy does not say.
const DefaultStepApprovalTimeout = 48 * time.Hour

// ApprovalRules returns how long the step waits for a person's decision and the
// decision taken when nobody decides in time.
func (s Step) ApprovalRules() (timeout time.Duration, decision string) {
	decision = DecisionReject
	if s.ApprovalDefault != "" {
		decision = s.ApprovalDefault
	}
	return s.EffectiveApprovalTimeout().Duration(), decision
}

// EffectiveApprovalTimeout is the step's approval timeout as a policy writes it:
// ApprovalTimeout, or DefaultStepApprovalTimeout in days when unset.
func (s Step) EffectiveApprovalTimeout() Offset {
	if s.ApprovalTimeout.IsZero() {
		return Offset{Days: int(DefaultStepApprovalTimeout / (24 * time.Hour)), InDays: true}
	}
	return s.ApprovalTimeout
}

// validateCall checks a call step's timeout and on_timeout, and that other steps
// carry neither.
func (s Step) validateCall(f string, escalates bool, add func(field, format string, args ...any)) {
	if !s.IsCall() {
		if !s.Timeout.IsZero() {
			add(f+".timeout", "applies only to a step whose first channel is call")
		}
		if s.OnTimeout != "" {
			add(f+".on_timeout", "applies only to a step whose first channel is call")
		}
		return
	}
	switch {
	case s.Timeout.IsZero():
		add(f+".timeout", "is required on a call step: how long the invoice waits for the call's outcome, like \"2d\"")
	case s.Timeout.isNegative():
		add(f+".timeout", "must be a positive duration like \"2d\"")
	case s.Timeout.Duration() < minCallTimeout || s.Timeout.Duration() > maxCallTimeout:
		add(f+".timeout", "must be from %s to 90 days", minCallTimeout)
	}
	switch s.OnTimeout {
	case "", OnTimeoutNext:
	case OnTimeoutEscalate:
		if !escalates {
			add(f+".on_timeout", "escalate needs the policy's escalation section")
		}
	default:
		add(f+".on_timeout", "must be %q or %q", OnTimeoutNext, OnTimeoutEscalate)
	}
}

// Bounds of a call step's timeout.
const (
	minCallTimeout = time.Minute
	maxCallTimeout = 90 * 24 * time.Hour
)

// Escalation hands an unpaid invoice to a collection agency or to legal.
type Escalation struct {
	// After is the offset from the anchor ("+30d").
	After Offset `yaml:"after" json:"after"`
	// To is "agency" or "legal".
	To EscalationTarget `yaml:"to" json:"to"`
	// Approval, when set and required, makes the workflow wait for an operator's
	// approve or reject before handing off.
	Approval *Approval `yaml:"approval,omitempty" json:"approval,omitempty"`
}

// Decisions an operator (or the timeout) makes on an escalation awaiting approval.
const (
	DecisionApprove = "approve"
	DecisionReject  = "reject"
)

// Approval makes an escalation wait for a person's decision.
type Approval struct {
	Required bool `yaml:"required" json:"required"`
	// Timeout is how long the workflow waits for the decision ("3d", "+2m").
	Timeout Offset `yaml:"timeout" json:"timeout"`
	// Default is the decision taken when nobody decides in time: "approve" or "reject".
	Default string `yaml:"default" json:"default"`
}

// Duration is the offset as a length of time, a day counting 24 hours (ignoring
// the send time); Validate orders offsets by it.
func (o Offset) Duration() time.Duration {
	if o.InDays {
		return time.Duration(o.Days) * 24 * time.Hour
	}
	return o.Exact
}

// minExactEvery is the shortest repeat written in s, m or h (demo cycles).
const minExactEvery = 10 * time.Second

func (o Offset) isNegative() bool { return o.Days < 0 || o.Exact < 0 }

// IsZero reports whether the offset is zero ("0d", "0s" or unset); encoding/json's
// omitzero uses it.
func (o Offset) IsZero() bool { return o.Days == 0 && o.Exact == 0 }

// Offset is a signed distance from a policy's anchor: whole days (sent at the
// policy's local send time) or an exact duration.
type Offset struct {
	// Days is set for offsets written in days ("+7d").
	Days int
	// Exact is set for offsets written in s, m or h ("+20s").
	Exact time.Duration
	// InDays tells which of the two is meant ("0d" is a day offset of zero).
	InDays bool
}

var offsetRE = regexp.MustCompile(`^([+-]?)(\d{1,5})([smhd])$`)

// ParseOffset reads "-3d", "0d", "+7d", "+20s", "+5m", "+2h".
func ParseOffset(s string) (Offset, error) {
	m := offsetRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Offset{}, fmt.Errorf("%q is not an offset like \"-3d\", \"+7d\" or \"+30s\"", s)
	}
	n, _ := strconv.Atoi(m[2]) // the pattern admits at most 5 digits
	if m[1] == "-" {
		n = -n
	}
	switch m[3] {
	case "d":
		if n > 3660 || n < -3660 {
			return Offset{}, fmt.Errorf("%q is more than ten years", s)
		}
		return Offset{Days: n, InDays: true}, nil
	case "h":
		return Offset{Exact: time.Duration(n) * time.Hour}, nil
	case "m":
		return Offset{Exact: time.Duration(n) * time.Minute}, nil
	default:
		return Offset{Exact: time.Duration(n) * time.Second}, nil
	}
}

// String renders the offset the way it is written in a policy file.
func (o Offset) String() string {
	if o.InDays {
		if o.Days < 0 {
			return fmt.Sprintf("%dd", o.Days)
		}
		return fmt.Sprintf("+%dd", o.Days)
	}
	sign := "+"
	d := o.Exact
	if d < 0 {
		sign, d = "-", -d
	}
	switch {
	case d%time.Hour == 0 && d != 0:
		return fmt.Sprintf("%s%dh", sign, d/time.Hour)
	case d%time.Minute == 0 && d != 0:
		return fmt.Sprintf("%s%dm", sign, d/time.Minute)
	default:
		return fmt.Sprintf("%s%ds", sign, d/time.Second)
	}
}

// MarshalText implements encoding.TextMarshaler (JSON and YAML).
func (o Offset) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (o *Offset) UnmarshalText(b []byte) error {
	v, err := ParseOffset(string(b))
	if err != nil {
		return err
	}
	*o = v
	return nil
}

// UnmarshalYAML accepts the offset as a YAML scalar.
func (o *Offset) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return nodeError(n, "must be a duration like \"+7d\"")
	}
	v, err := ParseOffset(n.Value)
	if err != nil {
		return nodeError(n, err.Error())
	}
	*o = v
	return nil
}

// MarshalYAML writes the offset as its string form.
func (o Offset) MarshalYAML() (any, error) { return o.String(), nil }

// FieldError names one invalid field of a policy.
type FieldError struct {
	Field   string
	Problem string
	// Line is the field's line in the policy file, when it was parsed from one.
	Line int
}

// ValidationError lists every problem found in a policy.
type ValidationError struct {
	Source string // file name, when loaded from one
	Fields []FieldError
	// What the file is, for the message: "policy" (when empty) or "rates file".
	What string
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source + ": ")
	}
	what := e.What
	if what == "" {
		what = "policy"
	}
	b.WriteString("invalid " + what + ": ")
	for i, f := range e.Fields {
		if i > 0 {
			b.WriteString("; ")
		}
		if f.Line > 0 {
			fmt.Fprintf(&b, "line %d: ", f.Line)
		}
		b.WriteString(f.Field + ": " + f.Problem)
	}
	return b.String()
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
var clockRE = regexp.MustCompile(`^([01]\d|2[0-3]):([0-5]\d)$`)

// Validate checks the policy and returns a *ValidationError naming every bad field.
func (p *Policy) Validate() error {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	if !idRE.MatchString(p.ID) {
		add("id", "must be 1-63 lower-case letters, digits, '-' or '_'")
	}
	if p.Version < 1 {
		add("version", "must be a positive integer")
	}
	switch p.Anchor {
	case "", AnchorDue, AnchorIssued:
	default:
		add("anchor", "must be %q or %q", AnchorDue, AnchorIssued)
	}
	if p.SendAt != "" && !clockRE.MatchString(p.SendAt) {
		add("send_at", "must be a 24-hour local time like \"10:00\"")
	}
	if len(p.Steps) == 0 {
		add("steps", "must list at least one step")
	}
	names := map[string]bool{}
	for i, s := range p.Steps {
		f := fmt.Sprintf("steps[%d]", i)
		if !idRE.MatchString(s.Name) {
			add(f+".name", "must be 1-63 lower-case letters, digits, '-' or '_'")
		} else if names[s.Name] {
			add(f+".name", "%q is used by an earlier step", s.Name)
		}
		names[s.Name] = true
		if len(s.Channels) == 0 {
			add(f+".channels", "must list at least one of %s", channelList())
		}
		seen := map[Channel]bool{}
		for j, c := range s.Channels {
			switch {
			case !c.Valid():
				add(fmt.Sprintf("%s.channels[%d]", f, j), "%q is not a channel (%s)", c, channelList())
			case seen[c]:
				add(fmt.Sprintf("%s.channels[%d]", f, j), "%q is listed twice", c)
			case c == Call && j > 0:
				add(fmt.Sprintf("%s.channels[%d]", f, j), "call must be the step's first channel (the others are its fallbacks)")
			}
			seen[c] = true
		}
		if strings.TrimSpace(s.Template) == "" && (len(s.Channels) != 1 || !s.IsCall()) {
			add(f+".template", "is required (a step with only the channel call may leave it out)")
		}
		s.validateCall(f, p.Escalation != nil, add)
		if s.ApprovalTimeout.isNegative() {
			add(f+".approval_timeout", "must be a positive duration like \"2d\"")
		} else if !s.Approval && !s.ApprovalTimeout.IsZero() {
			add(f+".approval_timeout", "applies only to a step with approval: true")
		}
		switch {
		case s.ApprovalDefault != "" && s.ApprovalDefault != DecisionApprove && s.ApprovalDefault != DecisionReject:
			add(f+".approval_default", "must be %q or %q", DecisionApprove, DecisionReject)
		case !s.Approval && s.ApprovalDefault != "":
			add(f+".approval_default", "applies only to a step with approval: true")
		}
		if i > 0 && s.Offset.Duration() <= p.Steps[i-1].Offset.Duration() {
			add(f+".offset", "%s must come after the previous step's %s", s.Offset, p.Steps[i-1].Offset)
		}
	}
	if p.Escalation != nil {
		switch p.Escalation.To {
		case ToAgency, ToLegal:
		default:
			add("escalation.to", "must be %q or %q", ToAgency, ToLegal)
		}
		if n := len(p.Steps); n > 0 && p.Escalation.After.Duration() <= p.Steps[n-1].Offset.Duration() {
			add("escalation.after", "%s must come after the last step's %s", p.Escalation.After, p.Steps[n-1].Offset)
		}
		if a := p.Escalation.Approval; a != nil {
			if a.Timeout.isNegative() || (a.Required && a.Timeout.IsZero()) {
				add("escalation.approval.timeout", "must be a positive duration like \"3d\"")
			}
			if a.Default != DecisionApprove && a.Default != DecisionReject && (a.Required || a.Default != "") {
				add("escalation.approval.default", "must be %q or %q", DecisionApprove, DecisionReject)
			}
		}
	}
	if p.RefundWindow.isNegative() {
		add("refund_window", "must not be negative")
	}
	p.validateCharges(add)
	p.Contact.validate(add)
	p.Consolidate.validate(add)
	p.validateSelfService(add)
	p.Calls.validate(add)
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return nil
}

// EffectiveAnchor returns the anchor with its default applied.
func (p *Policy) EffectiveAnchor() Anchor {
	if p.Anchor == "" {
		return AnchorDue
	}
	return p.Anchor
}

// SendClock returns the local send time (hour, minute), default 10:00.
func (p *Policy) SendClock() (hour, minute int) {
	m := clockRE.FindStringSubmatch(p.SendAt)
	if m == nil {
		return 10, 0
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	return h, mi
}

// Parse decodes and validates one policy document. Unknown fields are errors, so a
// misspelt key is reported instead of silently ignored.
func Parse(source string, data []byte) (*Policy, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, decodeError(source, nil, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, withSemanticErrors(decodeError(source, &root, err), &root, &p)
	}
	if err := wholeNumbers(source, &root); err != nil {
		return nil, err
	}
	var extra yaml.Node
	if dec.Decode(&extra) != io.EOF {
		return nil, &ValidationError{Source: source, Fields: []FieldError{{Field: "(file)", Problem: "must hold one YAML document; found a second one (---)", Line: extra.Line}}}
	}
	if p.Consolidate == nil {
		p.Consolidate = &Consolidate{} // the default: one message per customer and window
	}
	if err := p.Validate(); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			ve.Source = source
			for i := range ve.Fields {
				ve.Fields[i].Line = lineOf(&root, ve.Fields[i].Field)
			}
			sort.SliceStable(ve.Fields, func(i, j int) bool { return ve.Fields[i].Line < ve.Fields[j].Line })
		}
		return nil, err
	}
	return &p, nil
}

// wholeNumbers refuses a fractional value ("1.5") in any integer field, which the
// YAML decoder would otherwise truncate without a word. It walks the document
// alongside the Policy type, so a new integer field is covered without a list.
func wholeNumbers(source string, root *yaml.Node) error {
	var fields []FieldError
	var walk func(n *yaml.Node, t reflect.Type, path string)
	walk = func(n *yaml.Node, t reflect.Type, path string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if reflect.PointerTo(t).Implements(yamlUnmarshaler) {
			return // decodes its own scalar (Offset, Rate)
		}
		switch {
		case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if f, ok := fieldByYAMLName(t, n.Content[i].Value); ok {
					walk(n.Content[i+1], f.Type, joinPath(path, n.Content[i].Value))
				}
			}
		case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
			for i, c := range n.Content {
				walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
			}
		case n.Kind == yaml.ScalarNode && t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64 && n.Tag != "!!int":
			problem := "must be a whole number"
			if path == "version" {
				problem = "must be a positive integer" // as Validate says it
			}
			fields = append(fields, FieldError{Field: path, Problem: problem, Line: n.Line})
		}
	}
	if len(root.Content) > 0 {
		walk(root.Content[0], reflect.TypeFor[Policy](), "")
	}
	if len(fields) > 0 {
		return &ValidationError{Source: source, Fields: fields}
	}
	return nil
}

var yamlUnmarshaler = reflect.TypeFor[yaml.Unmarshaler]()

// fieldByYAMLName finds the struct field a YAML key decodes into.
func fieldByYAMLName(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// LineOf finds the line of a field path in a parsed YAML document, for errors found
// after parsing (see lineOf).
func LineOf(doc *yaml.Node, path string) int { return lineOf(doc, path) }

// lineOf finds the line of a field path ("steps[1].channels[0]") in a YAML document,
// or of its nearest existing parent; 0 when the document has no such place.
func lineOf(doc *yaml.Node, path string) int {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, part := range strings.Split(path, ".") {
		name, index, hasIndex := strings.Cut(part, "[")
		key, next := mappingEntry(n, name)
		if next == nil {
			return line
		}
		n, line = next, key.Line
		if hasIndex {
			i, err := strconv.Atoi(strings.TrimSuffix(index, "]"))
			if err != nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
		}
	}
	return line
}

// mappingEntry returns the key and value nodes of key in mapping n (nil, nil when
// absent).
func mappingEntry(n *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

// Set is the policies a deployment knows, by id.
type Set struct {
	byID map[string]*Policy
	// Default is the policy used when an invoice names none and its customer's
	// segment has no policy.
	Default string
	// segments maps customer segments to policy ids (see SetSegments).
	segments Segments
	// collectors maps customer segments to their default collectors (see
	// ParseCollectors).
	collectors Collectors
}

// NewSet builds a set; defaultID must be one of the policies.
func NewSet(defaultID string, ps ...*Policy) (*Set, error) {
	s := &Set{byID: map[string]*Policy{}, Default: defaultID}
	for _, p := range ps {
		if _, dup := s.byID[p.ID]; dup {
			return nil, fmt.Errorf("policy %q is defined twice", p.ID)
		}
		s.byID[p.ID] = p
	}
	if _, ok := s.byID[defaultID]; !ok {
		return nil, fmt.Errorf("default policy %q is not defined", defaultID)
	}
	return s, nil
}

// Get returns the policy with that id.
func (s *Set) Get(id string) (*Policy, bool) {
	p, ok := s.byID[id]
	return p, ok
}

// Select returns the policy named explicit, or the default when explicit is empty.
// Invoices are matched with SelectFor, which also consults the customer's segment.
func (s *Set) Select(explicit string) (*Policy, error) {
	if explicit == "" {
		explicit = s.Default
	}
	p, ok := s.byID[explicit]
	if !ok {
		return nil, fmt.Errorf("unknown policy %q (known: %s)", explicit, strings.Join(s.IDs(), ", "))
	}
	return p, nil
}

// IDs lists the known policy ids, sorted.
func (s *Set) IDs() []string {
	ids := make([]string, 0, len(s.byID))
	for id := range s.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
