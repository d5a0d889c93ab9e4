package fakeprovider

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// answer is a control route that ignores the request and answers 200 with the JSON
// of what v returns.
func answer(v func() any) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, v()) }
}

// noContent is a control route that runs act and answers 204.
func noContent(act func()) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		act()
		w.WriteHeader(http.StatusNoContent)
	}
}

// The control API lets other processes (and `make run` users with curl) drive the
// fake the way tests do from Go:
//
//	GET    /_fake/outbox[?to=R&provider=P]  {"messages":[Message...]}
//	DELETE /_fake/outbox                    clear the outbox
//	GET    /_fake/faults                    {"faults":[Fault...]}
//	POST   /_fake/faults                    inject a Fault (JSON body); answers it with its id
//	DELETE /_fake/faults                    drop pending faults
//	GET    /_fake/held                      {"held":[Message...]}
//	GET    /_fake/held/wait[?timeout=10s]   wait until a request is held; 504 on timeout
//	POST   /_fake/release                   {"released":N}
//	GET    /_fake/recipients                {"invalid":[...],"bounce":[...]}
//	PUT    /_fake/recipients                replace both lists (same JSON)
//	POST   /_fake/reset                     clear outbox, faults and lists; release held
//	POST   /_fake/twilio/inbound            {"from":"+1...","body":"STOP"[,"to":"+1..."]}: post
//	                                        a signed inbound SMS to the inbound URL
//	POST   /_fake/sendgrid/events           {"email":"a@b.c","event":"bounce"}: post a signed
//	                                        event about the last mail to that address
//	GET    /_fake/sendgrid/public-key       {"public_key":"<base64 DER>"} verifying the events
func (s *Server) controlRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /_fake/twilio/inbound", s.ctlInbound)
	m.HandleFunc("POST /_fake/sendgrid/events", s.ctlSendGridEvent)
	m.HandleFunc("GET /_fake/sendgrid/public-key", answer(func() any { return map[string]string{"public_key": s.SendGridEventPublicKey()} }))
	m.HandleFunc("GET /_fake/outbox", s.ctlOutbox)
	m.HandleFunc("DELETE /_fake/outbox", noContent(s.ClearOutbox))
	m.HandleFunc("GET /_fake/faults", answer(func() any { return map[string]any{"faults": s.Faults()} }))
	m.HandleFunc("POST /_fake/faults", s.ctlInject)
	m.HandleFunc("DELETE /_fake/faults", noContent(s.ClearFaults))
	m.HandleFunc("GET /_fake/held", answer(func() any { return map[string]any{"held": s.Held()} }))
	m.HandleFunc("GET /_fake/held/wait", s.ctlWaitHeld)
	m.HandleFunc("POST /_fake/release", answer(func() any { return map[string]int{"released": s.Release()} }))
	m.HandleFunc("GET /_fake/recipients", s.ctlRecipients)
	m.HandleFunc("PUT /_fake/recipients", s.ctlSetRecipients)
	m.HandleFunc("POST /_fake/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
}

// Reset clears the outbox, the faults and the recipient lists, and releases held
// requests.
func (s *Server) Reset() {
	s.ClearFaults()
	s.Release()
	s.ClearOutbox()
	s.SetInvalid()
	s.SetBounce()
	s.mu.Lock()
	s.optedOut = map[string]bool{}
	s.mu.Unlock()
	s.resetStripe()
}

func (s *Server) ctlInbound(w http.ResponseWriter, r *http.Request) {
	var in struct{ From, To, Body string }
	if !readControlJSON(w, r, &in, "inbound SMS must be JSON like {\"from\":\"+14155550100\",\"body\":\"STOP\"}: ") {
		return
	}
	status, err := s.InboundSMS(in.From, in.To, in.Body)
	if err != nil {
		ctlError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"webhook_status": status})
}

func (s *Server) ctlSendGridEvent(w http.ResponseWriter, r *http.Request) {
	var in struct{ Email, Event string }
	if !readControlJSON(w, r, &in, "event must be JSON like {\"email\":\"ada@example.com\",\"event\":\"bounce\"}: ") {
		return
	}
	status, err := s.SendGridEvent(in.Email, in.Event)
	if err != nil {
		ctlError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"webhook_status": status})
}

func ctlError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (s *Server) ctlOutbox(w http.ResponseWriter, r *http.Request) {
	to, provider := r.URL.Query().Get("to"), Provider(r.URL.Query().Get("provider"))
	msgs := []Message{}
	for _, m := range s.OutboxFor(to) {
		if provider == "" || m.Provider == provider {
			msgs = append(msgs, m)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs})
}

// readControlJSON decodes a control request's JSON body into v; otherwise it answers
// 400 with example, which shows the shape wanted, and reports false.
func readControlJSON(w http.ResponseWriter, r *http.Request, v any, example string) bool {
	body, err := readBody(w, r)
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		ctlError(w, http.StatusBadRequest, example+err.Error())
		return false
	}
	return true
}

func (s *Server) ctlInject(w http.ResponseWriter, r *http.Request) {
	var f Fault
	if !readControlJSON(w, r, &f, "fault must be JSON like {\"kind\":\"rate_limit\",\"provider\":\"twilio\",\"to\":\"+15551234567\",\"count\":2}: ") {
		return
	}
	f, err := s.Inject(f)
	if err != nil {
		ctlError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, f)
}

func (s *Server) ctlWaitHeld(w http.ResponseWriter, r *http.Request) {
	timeout := 10 * time.Second
	if v := r.URL.Query().Get("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 10*time.Minute {
			ctlError(w, http.StatusBadRequest, "timeout must be a duration like 10s, at most 10m")
			return
		}
		timeout = d
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	m, err := s.WaitHeld(ctx)
	if err != nil {
		ctlError(w, http.StatusGatewayTimeout, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, m)
}

type recipientLists struct {
	Invalid []string `json:"invalid"`
	Bounce  []string `json:"bounce"`
}

func (s *Server) ctlRecipients(w http.ResponseWriter, _ *http.Request) {
	invalid, bounce := s.Recipients()
	writeJSON(w, http.StatusOK, recipientLists{Invalid: append([]string{}, invalid...), Bounce: append([]string{}, bounce...)})
}

func (s *Server) ctlSetRecipients(w http.ResponseWriter, r *http.Request) {
	var l recipientLists
	if !readControlJSON(w, r, &l, "recipients must be JSON like {\"invalid\":[\"+15005550001\"],\"bounce\":[\"x@example.com\"]}: ") {
		return
	}
	s.SetInvalid(l.Invalid...)
	s.SetBounce(l.Bounce...)
	s.ctlRecipients(w, r)
}
