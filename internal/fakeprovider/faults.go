package fakeprovider

import (
	"context"
	"fmt"
	"slices"
)

// FaultKind is what an injected fault does to a matching request.
type FaultKind string

// Fault kinds.
const (
	// FaultRateLimit answers 429 with Retry-After (and SendGrid's X-RateLimit-*).
	FaultRateLimit FaultKind = "rate_limit"
	// FaultServerError answers 500.
	FaultServerError FaultKind = "server_error"
	// FaultUnavailable answers 503.
	FaultUnavailable FaultKind = "unavailable"
	// FaultInvalidRecipient rejects the recipient as the provider does for a bad
	// address or number (SendGrid 400, Twilio 400 code 21211).
	FaultInvalidRecipient FaultKind = "invalid_recipient"
	// FaultHold records the message in the outbox (the provider got it), then holds
	// the response until Release, Close or the client goes away.
	FaultHold FaultKind = "hold"
	// FaultStall holds the request before the provider records anything: if the
	// client goes away meanwhile, nothing was sent; after Release the request is
	// served normally. It is the crash before the provider call.
	FaultStall FaultKind = "stall"
)

// Op is the kind of provider call a fault applies to.
type Op string

// Ops.
const (
	// OpSend is POST /v3/mail/send and POST .../Messages.json (the default).
	OpSend Op = "send"
	// OpLookup is GET /v3/messages and GET .../Messages.json.
	OpLookup Op = "lookup"
)

// Fault is a programmed failure for the next Count matching requests.
type Fault struct {
	// ID is assigned by Inject.
	ID   int       `json:"id"`
	Kind FaultKind `json:"kind"`
	// Provider restricts the fault to one provider; empty matches both.
	Provider Provider `json:"provider,omitempty"`
	// Op restricts the fault to sends or lookups; empty means OpSend.
	Op Op `json:"op,omitempty"`
	// To restricts the fault to requests to this recipient; empty matches any. A
	// SendGrid lookup never names a recipient, so it only matches an empty To.
	To string `json:"to,omitempty"`
	// Count is how many matching requests are left to fail; 0 means 1.
	Count int `json:"count,omitempty"`
	// RetryAfter is the Retry-After of FaultRateLimit in seconds; 0 means 1.
	RetryAfter int `json:"retry_after,omitempty"`
}

// heldRequest is a request whose message is in the outbox but whose response waits.
type heldRequest struct {
	msg     Message
	release chan struct{}
}

// Inject programs a fault and returns it with its ID and defaults filled in.
func (s *Server) Inject(f Fault) (Fault, error) {
	switch f.Kind {
	case FaultRateLimit, FaultServerError, FaultUnavailable, FaultInvalidRecipient, FaultHold, FaultStall:
	default:
		return Fault{}, fmt.Errorf("fakeprovider: unknown fault kind %q (want rate_limit, server_error, unavailable, invalid_recipient, hold or stall)", f.Kind)
	}
	switch f.Provider {
	case "", SendGrid, Twilio, Print:
	case Stripe:
		if f.Kind == FaultInvalidRecipient {
			return Fault{}, fmt.Errorf("fakeprovider: an %s fault does not apply to stripe", f.Kind)
		}
	default:
		return Fault{}, fmt.Errorf("fakeprovider: unknown provider %q (want sendgrid, twilio, stripe, print or empty)", f.Provider)
	}
	switch f.Op {
	case "":
		f.Op = OpSend
	case OpSend, OpLookup:
	default:
		return Fault{}, fmt.Errorf("fakeprovider: unknown op %q (want send or lookup)", f.Op)
	}
	if f.Op == OpLookup && (f.Kind == FaultInvalidRecipient || f.Kind == FaultStall) {
		return Fault{}, fmt.Errorf("fakeprovider: an %s fault applies to sends only", f.Kind)
	}
	if f.Count < 0 || f.RetryAfter < 0 {
		return Fault{}, fmt.Errorf("fakeprovider: count and retry_after must not be negative")
	}
	if f.Count == 0 {
		f.Count = 1
	}
	if f.Kind == FaultRateLimit && f.RetryAfter == 0 {
		f.RetryAfter = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultSeq++
	f.ID = s.faultSeq
	s.faults = append(s.faults, &f)
	s.log.Info("Fake provider fault injected", "id", f.ID, "kind", f.Kind, "provider", f.Provider, "op", f.Op, "to", f.To, "count", f.Count)
	return f, nil
}

// Hold makes the next send to `to` (any recipient when empty) through provider
// (both when empty) be recorded and then held; see FaultHold.
func (s *Server) Hold(provider Provider, to string) error {
	_, err := s.Inject(Fault{Kind: FaultHold, Provider: provider, To: to})
	return err
}

// Faults returns the pending faults in the order they are matched.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		out = append(out, *f)
	}
	return out
}

// ClearFaults drops every pending fault; held requests stay held.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault consumes one use of the oldest fault matching the request and returns a
// copy of it, or nil when none matches.
func (s *Server) takeFault(p Provider, op Op, recipients []string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Provider != "" && f.Provider != p || f.Op != op {
			continue
		}
		if f.To != "" && !slices.ContainsFunc(recipients, func(r string) bool { return normRecipient(r) == normRecipient(f.To) }) {
			continue
		}
		f.Count--
		if f.Count <= 0 {
			s.faults = slices.Delete(s.faults, i, i+1)
		}
		taken := *f
		s.log.Info("Fake provider fault applied", "id", f.ID, "kind", f.Kind, "provider", p, "op", op)
		return &taken
	}
	return nil
}

// hold parks the current request until Release or Close (true) or until ctx, the
// request's context, is done because the client went away (false). msg is what
// WaitHeld and Held report.
func (s *Server) hold(ctx context.Context, msg Message) bool {
	h := &heldRequest{msg: msg, release: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return true
	}
	s.held = append(s.held, h)
	close(s.heldChanged)
	s.heldChanged = make(chan struct{})
	s.mu.Unlock()
	s.log.Info("Fake provider is holding a response", "provider", msg.Provider, "id", msg.ID, "to", msg.To)

	select {
	case <-h.release:
		return true
	case <-ctx.Done():
		s.mu.Lock()
		s.held = slices.DeleteFunc(s.held, func(x *heldRequest) bool { return x == h })
		s.mu.Unlock()
		s.log.Info("Client went away while its response was held", "provider", msg.Provider, "id", msg.ID)
		return false
	}
}

// WaitHeld blocks until a request is being held and returns its message (the
// oldest one when several are held). It returns ctx's error if ctx ends first.
func (s *Server) WaitHeld(ctx context.Context) (Message, error) {
	for {
		s.mu.Lock()
		if len(s.held) > 0 {
			m := s.held[0].msg.clone()
			s.mu.Unlock()
			return m, nil
		}
		changed := s.heldChanged
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return Message{}, fmt.Errorf("fakeprovider: waiting for a held request: %w", ctx.Err())
		case <-changed:
		}
	}
}

// Held returns the messages whose responses are being held, oldest first.
func (s *Server) Held() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.held))
	for _, h := range s.held {
		out = append(out, h.msg.clone())
	}
	return out
}

// Release lets every held response go (as the provider's normal success) and
// returns how many there were.
func (s *Server) Release() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.held {
		close(h.release)
	}
	n := len(s.held)
	s.held = nil
	return n
}
