package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/dunwell/dunwell/internal/metrics"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/replies"
	"github.com/dunwell/dunwell/webhooks"
)

// Replies reach a person (docs/collectors.md, Replies): SendGrid's Inbound Parse
// posts every email sent to the reply-to address; the reply is stored once per
// Message-ID, matched to its customer and the invoices it names, shown in the
// customer's timeline, and opens a task for the customer's collector (the team's when
// no customer matched). What the reply rules find it claims (paid, disputed) is on the
// task for the collector to confirm; nothing is applied on its own.

// InboundParse configures POST /v1/webhooks/sendgrid/inbound/{token}. Inbound Parse
// does not sign its posts: the secret token in the URL SendGrid is given (and, when
// User is set, basic auth in that URL) authenticates them.
type InboundParse struct {
	// Token is the secret path segment; empty: the webhook answers 503.
	Token string
	// User and Password, when User is set, are required as basic auth too.
	User, Password string
	// MaxBytes bounds a post (413 beyond); 0 means 30 MiB.
	MaxBytes int64
	// ReplyTo is the reply-to address reminders carry (DUNWELL_REPLY_TO): a reply to
	// its plus-addressed form names the message answered (replies.Address).
	ReplyTo string
}

// inboundRoute is the webhook's route, registered with its own body limit.
const inboundRoute = "POST /v1/webhooks/sendgrid/inbound/{token}"

// ReplyResult answers an accepted Inbound Parse post.
type ReplyResult struct {
	// Status: "recorded", or "duplicate" when the Message-ID was received before.
	Status  string `json:"status"`
	ReplyID int64  `json:"reply_id"`
	// CustomerID is the matched customer; empty when none matched.
	CustomerID string   `json:"customer_id,omitempty"`
	MatchedBy  string   `json:"matched_by"`
	InvoiceIDs []string `json:"invoice_ids"`
	Says       []string `json:"says"`
	// TaskID is the reply's task (kind reply) on the worklist.
	TaskID int64 `json:"task_id"`
}

func (s *Server) inboundHandler() http.Handler {
	limit := s.Inbound.MaxBytes
	if limit <= 0 {
		limit = 30 << 20
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		s.inboundReply(w, r)
	})
}

// inboundReply serves the Inbound Parse webhook: 200 once the reply is stored and its
// task opened, so SendGrid stops retrying; 401 for a wrong token or basic auth,
// 400 naming the field of a malformed post, 413 beyond the size limit, 503 when
// it is not configured. A 5xx makes SendGrid post it again, which is safe: the reply
// is kept once per Message-ID and its task once per reply.
func (s *Server) inboundReply(w http.ResponseWriter, r *http.Request) {
	in := s.Inbound
	if in.Token == "" {
		s.webhookNotConfigured(w, r, "SENDGRID_INBOUND_TOKEN")
		return
	}
	token := r.PathValue("token")
	ok := subtle.ConstantTimeCompare([]byte(token), []byte(in.Token)) == 1
	if in.User != "" {
		user, pass, given := r.BasicAuth()
		ok = ok && given && subtle.ConstantTimeCompare([]byte(user), []byte(in.User)) == 1 &&
			subtle.ConstantTimeCompare([]byte(pass), []byte(in.Password)) == 1
	}
	if !ok {
		s.Logger.Warn("Inbound Parse post refused: wrong token or basic auth", "remote", r.RemoteAddr)
		metrics.WebhookEvent("sendgrid_inbound", "bad_signature")
		w.Header().Set("WWW-Authenticate", `Basic realm="dunwell inbound"`)
		writeError(w, http.StatusUnauthorized, "wrong webhook token or credentials; nothing was stored", nil)
		return
	}
	mail, err := replies.Parse(r.Header.Get("Content-Type"), r.Body)
	var fe webhooks.FieldError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the post is larger than %d bytes", tooLarge.Limit), nil)
		return
	case errors.As(err, &fe):
		metrics.WebhookEvent("sendgrid_inbound", "invalid")
		writeError(w, http.StatusBadRequest, "invalid Inbound Parse post: "+describe(fe), fe)
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "the post could not be read: "+err.Error(), nil)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	reply, err := s.matchReply(ctx, mail)
	if err != nil {
		s.fail(w, r, "matching the reply", err)
		return
	}
	stored, created, err := s.Ledger.RecordReply(ctx, reply)
	if err != nil {
		s.fail(w, r, "recording the reply", err)
		return
	}
	res := ReplyResult{Status: "recorded", ReplyID: stored.ID, CustomerID: stored.CustomerID, MatchedBy: stored.MatchedBy,
		InvoiceIDs: stored.InvoiceIDs, Says: stored.Says}
	if !created {
		res.Status = "duplicate"
	}
	if res.TaskID, err = s.openReplyTask(ctx, stored); err != nil {
		// The reply is stored; SendGrid posts again on a 5xx, and finds it and opens
		// the task then.
		s.fail(w, r, "opening the reply's task", err)
		return
	}
	s.Logger.Info("Reply received", "reply_id", stored.ID, "customer_id", stored.CustomerID, "matched_by", stored.MatchedBy,
		"invoices", stored.InvoiceIDs, "says", stored.Says, "duplicate", !created)
	outcome := "applied"
	if !created {
		outcome = "duplicate"
	}
	metrics.WebhookEvent("sendgrid_inbound", outcome)
	writeJSON(w, http.StatusOK, res)
}

// matchReply finds the reply's customer: the reply-to tag of a message sent to them
// (in the envelope's or headers' recipients), else the sender's address when the
// ledger contacted exactly one customer there. Then the customer's invoices it names
// (subject and whole text, the quoted original included: it names what the customer
// answers) and what the customer's own words claim.
func (s *Server) matchReply(ctx context.Context, m replies.Mail) (ledger.Reply, error) {
	r := ledger.Reply{MessageID: m.MessageID, MatchedBy: ledger.ReplyUnmatched, From: m.From, Subject: m.Subject,
		Body: replies.Fresh(m.Text), ReceivedAt: s.now().UTC()}
	if s.Inbound.ReplyTo != "" {
		for _, to := range m.To {
			tag, ok := replies.TagOf(s.Inbound.ReplyTo, to)
			if !ok {
				continue
			}
			customer, err := s.Ledger.CustomerOfReplyTag(ctx, tag)
			if errors.Is(err, ledger.ErrNotFound) {
				continue
			}
			if err != nil {
				return r, err
			}
			r.CustomerID, r.MatchedBy = customer, ledger.ReplyMatchedByTag
			break
		}
	}
	if r.CustomerID == "" {
		customers, err := s.Ledger.CustomersAt(ctx, ledger.ChannelEmail, m.From)
		if err != nil {
			return r, err
		}
		if len(customers) == 1 {
			r.CustomerID, r.MatchedBy = customers[0], ledger.ReplyMatchedBySender
		}
	}
	if r.CustomerID != "" {
		known, err := s.Ledger.InvoiceIDsOfCustomer(ctx, r.CustomerID)
		if err != nil {
			return r, err
		}
		r.InvoiceIDs = replies.InvoiceRefs(m.Subject, m.Text, known)
	}
	for _, f := range replies.Says(m.Subject, r.Body) {
		if !slices.Contains(r.Says, f.Claim) {
			r.Says = append(r.Says, f.Claim)
		}
	}
	return r, nil
}

// replyTitle is the worklist's line for a reply's task.
func replyTitle(r ledger.Reply) string {
	title := "Reply by email"
	if r.CustomerID == "" {
		title = "Reply from an unknown sender"
	}
	if n := len(r.InvoiceIDs); n > 3 {
		title += fmt.Sprintf(" about %s and %d more", strings.Join(r.InvoiceIDs[:3], ", "), n-3)
	} else if n > 0 {
		title += " about " + strings.Join(r.InvoiceIDs, ", ")
	}
	if len(r.Says) > 0 {
		title += ": says " + strings.Join(r.Says, " and ") + " (confirm)"
	}
	if runes := []rune(title); len(runes) > ledger.MaxTaskTitle {
		title = string(runes[:ledger.MaxTaskTitle-1]) + "…"
	}
	return title
}

// openReplyTask opens the reply's task once (its key is the reply's id) and answers
// its id. The ledger gives it to the customer's collector, or to nobody (the team)
// when the customer has none or no customer matched.
func (s *Server) openReplyTask(ctx context.Context, r ledger.Reply) (int64, error) {
	details := map[string]any{"reply_id": r.ID, "matched_by": r.MatchedBy, "says": r.Says, "subject": r.Subject}
	t, _, err := s.Ledger.CreateTask(ctx, ledger.NewTask{Key: fmt.Sprintf("reply:%d", r.ID), Kind: ledger.TaskReply,
		CustomerID: r.CustomerID, InvoiceIDs: r.InvoiceIDs, Title: replyTitle(r), Details: details})
	return t.ID, err
}
