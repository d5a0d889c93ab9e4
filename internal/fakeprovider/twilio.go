package fakeprovider

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

var (
	e164RE       = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	accountSIDRE = regexp.MustCompile(`^AC[0-9A-Za-z]{32}$`)
	serviceSIDRE = regexp.MustCompile(`^MG[0-9A-Za-z]{32}$`)
	shortCodeRE  = regexp.MustCompile(`^[0-9]{3,8}$`)
	alphaIDRE    = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
)

// twilioError is Twilio's error body.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func writeTwilioError(w http.ResponseWriter, status, code int, format string, args ...any) {
	writeJSON(w, status, twilioError{
		Code: code, Message: fmt.Sprintf(format, args...), Status: status,
		MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
	})
}

// twilioMessage is Twilio's Message resource; pointers are fields Twilio sends as
// null.
type twilioMessage struct {
	AccountSID          string            `json:"account_sid"`
	APIVersion          string            `json:"api_version"`
	Body                string            `json:"body"`
	DateCreated         string            `json:"date_created"`
	DateSent            *string           `json:"date_sent"`
	DateUpdated         string            `json:"date_updated"`
	Direction           string            `json:"direction"`
	ErrorCode           *int              `json:"error_code"`
	ErrorMessage        *string           `json:"error_message"`
	From                *string           `json:"from"`
	MessagingServiceSID *string           `json:"messaging_service_sid"`
	NumMedia            string            `json:"num_media"`
	NumSegments         string            `json:"num_segments"`
	Price               *string           `json:"price"`
	PriceUnit           string            `json:"price_unit"`
	SID                 string            `json:"sid"`
	Status              string            `json:"status"`
	SubresourceURIs     map[string]string `json:"subresource_uris"`
	To                  string            `json:"to"`
	URI                 string            `json:"uri"`
}

// twilioTime formats like Twilio: RFC 2822 in GMT.
func twilioTime(t time.Time) string { return t.UTC().Format(time.RFC1123Z) }

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// twilioResource renders m; justCreated renders it as the create call answers, before
// the fake "delivers" it.
func twilioResource(m Message, justCreated bool) twilioMessage {
	base := "/2010-04-01/Accounts/" + m.AccountSID + "/Messages/" + m.ID
	r := twilioMessage{
		AccountSID: m.AccountSID, APIVersion: "2010-04-01", Body: m.Text,
		DateCreated: twilioTime(m.Received), DateUpdated: twilioTime(m.Received),
		Direction: "outbound-api", From: nullable(m.From), MessagingServiceSID: nullable(m.MessagingServiceSID),
		NumMedia: "0", NumSegments: strconv.Itoa(segments(m.Text)), PriceUnit: "USD",
		SID: m.ID, Status: m.Status, To: m.To, URI: base + ".json",
		SubresourceURIs: map[string]string{"media": base + "/Media.json", "feedback": base + "/Feedback.json"},
	}
	switch {
	case justCreated && m.MessagingServiceSID != "":
		r.Status = "accepted"
	case justCreated:
		r.Status = "queued"
	default:
		r.DateSent = nullable(twilioTime(m.Received))
		if m.Status == StatusUndelivered {
			code, msg := 30003, "Unreachable destination handset"
			r.ErrorCode, r.ErrorMessage = &code, &msg
		}
	}
	return r
}

// twilioAuth checks basic auth and the account in the path, answering like Twilio
// when they are wrong.
func (s *Server) twilioAuth(w http.ResponseWriter, r *http.Request) (account string, ok bool) {
	user, pass, hasAuth := r.BasicAuth()
	if !hasAuth || user == "" || pass == "" || (s.twToken != "" && pass != s.twToken) ||
		(strings.HasPrefix(user, "AC") && user != r.PathValue("account")) {
		writeTwilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return "", false
	}
	account = r.PathValue("account")
	if !accountSIDRE.MatchString(account) {
		writeTwilioError(w, http.StatusNotFound, 20404, "The requested resource %s was not found", r.URL.Path)
		return "", false
	}
	return account, true
}

// twilioFault answers an injected error fault; it reports whether it answered.
func twilioFault(w http.ResponseWriter, f *Fault, to string) bool {
	switch f.Kind {
	case FaultRateLimit:
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		writeTwilioError(w, http.StatusTooManyRequests, 20429, "Too Many Requests")
	case FaultServerError:
		writeTwilioError(w, http.StatusInternalServerError, 20500, "An internal server error has occurred")
	case FaultUnavailable:
		writeTwilioError(w, http.StatusServiceUnavailable, 20503, "Service is unavailable. Please try again")
	case FaultInvalidRecipient:
		writeTwilioError(w, http.StatusBadRequest, 21211, "Invalid 'To' Phone Number: %s", to)
	default:
		return false
	}
	return true
}

func (s *Server) twilioCreate(w http.ResponseWriter, r *http.Request) {
	account, ok := s.twilioAuth(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		writeTwilioError(w, http.StatusBadRequest, 20001, "Invalid request body: %v", err)
		return
	}
	to, from := strings.TrimSpace(r.PostForm.Get("To")), strings.TrimSpace(r.PostForm.Get("From"))
	service, body := r.PostForm.Get("MessagingServiceSid"), r.PostForm.Get("Body")
	if code, msg := s.validateSMS(to, from, service, body, r.PostForm); code != 0 {
		writeTwilioError(w, http.StatusBadRequest, code, "%s", msg)
		return
	}
	if s.twilioOptedOut(to) {
		writeTwilioError(w, http.StatusBadRequest, 21610, "Attempt to send to unsubscribed recipient")
		return
	}
	f := s.takeFault(Twilio, OpSend, []string{to})
	if f != nil && twilioFault(w, f, to) {
		return
	}
	if f != nil && f.Kind == FaultStall && !s.hold(r.Context(), Message{Provider: Twilio, To: to}) {
		return // the client went away before the provider took the message
	}
	s.mu.Lock()
	m := s.recordLocked(Message{
		Provider: Twilio, ID: "SM" + randomHex(16), AccountSID: account, To: to, From: from,
		Text: body, StatusCallback: r.PostForm.Get("StatusCallback"), MessagingServiceSID: service,
		Received: time.Now().UTC(),
	})
	s.mu.Unlock()
	token := s.twToken
	if token == "" {
		_, token, _ = r.BasicAuth() // Twilio signs with the account's auth token
	}
	s.reportSMS(m, token)
	if f != nil && f.Kind == FaultHold && !s.hold(r.Context(), m) {
		return
	}
	writeJSON(w, http.StatusCreated, twilioResource(m, true))
}

// validateSMS applies the create-Message checks Twilio answers with a 400 and
// returns the error code and message, or 0 when the message is acceptable.
func (s *Server) validateSMS(to, from, service, body string, form url.Values) (int, string) {
	switch {
	case to == "":
		return 21604, "A 'To' phone number is required."
	case from == "" && service == "":
		return 21603, "A 'From' phone number is required."
	case service != "" && !serviceSIDRE.MatchString(service):
		return 21701, fmt.Sprintf("The Messaging Service Sid %s is invalid.", service)
	case from != "" && !e164RE.MatchString(from) && !shortCodeRE.MatchString(from) && !alphaIDRE.MatchString(from):
		return 21212, fmt.Sprintf("The 'From' number %s is not a valid phone number, shortcode, or alphanumeric sender ID.", from)
	case body == "" && form.Get("MediaUrl") == "" && form.Get("ContentSid") == "":
		return 21602, "Message body is required."
	case utf8.RuneCountInString(body) > 1600:
		return 21617, "The concatenated message body exceeds the 1600 character limit."
	case !e164RE.MatchString(to) || s.isInvalid(to):
		return 21211, fmt.Sprintf("Invalid 'To' Phone Number: %s", to)
	case to == from:
		return 21266, fmt.Sprintf("'To' and 'From' number cannot be the same: %s", to)
	}
	return 0, ""
}

func (s *Server) twilioFetch(w http.ResponseWriter, r *http.Request) {
	account, ok := s.twilioAuth(w, r)
	if !ok {
		return
	}
	sid, isJSON := strings.CutSuffix(r.PathValue("file"), ".json")
	s.mu.Lock()
	found := s.selectLocked(func(m Message) bool { return m.Provider == Twilio && m.AccountSID == account && m.ID == sid })
	s.mu.Unlock()
	if !isJSON || len(found) == 0 {
		writeTwilioError(w, http.StatusNotFound, 20404, "The requested resource %s was not found", r.URL.Path)
		return
	}
	writeJSON(w, http.StatusOK, twilioResource(found[0], false))
}

// twilioListResponse is Twilio's list envelope.
type twilioListResponse struct {
	Messages        []twilioMessage `json:"messages"`
	End             int             `json:"end"`
	FirstPageURI    string          `json:"first_page_uri"`
	NextPageURI     *string         `json:"next_page_uri"`
	Page            int             `json:"page"`
	PageSize        int             `json:"page_size"`
	PreviousPageURI *string         `json:"previous_page_uri"`
	Start           int             `json:"start"`
	URI             string          `json:"uri"`
}

// dateFilter parses a DateSent filter value: a day (YYYY-MM-DD) or an RFC 3339 time.
// A day compares by calendar day in GMT, as Twilio documents.
func dateFilter(v string) (at time.Time, day bool, err error) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, true, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	return t, false, err
}

func (s *Server) twilioList(w http.ResponseWriter, r *http.Request) {
	account, ok := s.twilioAuth(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	keep := []func(Message) bool{func(m Message) bool { return m.Provider == Twilio && m.AccountSID == account }}
	if to := q.Get("To"); to != "" {
		keep = append(keep, func(m Message) bool { return m.To == strings.TrimSpace(to) })
	}
	if from := q.Get("From"); from != "" {
		keep = append(keep, func(m Message) bool { return m.From == strings.TrimSpace(from) })
	}
	for param, cmp := range map[string]func(sent, at time.Time) bool{
		"DateSent":  func(sent, at time.Time) bool { return sent.Equal(at) },
		"DateSent<": func(sent, at time.Time) bool { return !sent.After(at) },
		"DateSent>": func(sent, at time.Time) bool { return !sent.Before(at) },
	} {
		v := q.Get(param)
		if v == "" {
			continue
		}
		at, day, err := dateFilter(v)
		if err != nil {
			writeTwilioError(w, http.StatusBadRequest, 20001, "Invalid %s: %s", param, v)
			return
		}
		keep = append(keep, func(m Message) bool {
			sent := m.Received.UTC().Truncate(time.Second)
			if day {
				sent = sent.Truncate(24 * time.Hour)
			}
			return cmp(sent, at)
		})
	}
	pageSize, page := 50, 0
	for param, dst := range map[string]*int{"PageSize": &pageSize, "Page": &page} {
		if v := q.Get(param); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || (param == "PageSize" && (n < 1 || n > 1000)) || n > 1<<20 {
				writeTwilioError(w, http.StatusBadRequest, 20001, "Invalid %s: %s", param, v)
				return
			}
			*dst = n
		}
	}
	if f := s.takeFault(Twilio, OpLookup, []string{q.Get("To")}); f != nil {
		if twilioFault(w, f, q.Get("To")) {
			return
		}
		if f.Kind == FaultHold && !s.hold(r.Context(), Message{Provider: Twilio, To: q.Get("To")}) {
			return
		}
	}

	s.mu.Lock()
	found := s.selectLocked(func(m Message) bool {
		return !slices.ContainsFunc(keep, func(k func(Message) bool) bool { return !k(m) })
	})
	s.mu.Unlock()
	slices.Reverse(found) // Twilio lists newest first

	start := min(page*pageSize, len(found))
	end := min(start+pageSize, len(found))
	resp := twilioListResponse{
		Messages: []twilioMessage{}, Page: page, PageSize: pageSize, Start: start, End: max(end-1, start),
		URI: pageURI(r.URL.Path, q, pageSize, page), FirstPageURI: pageURI(r.URL.Path, q, pageSize, 0),
	}
	for _, m := range found[start:end] {
		resp.Messages = append(resp.Messages, twilioResource(m, false))
	}
	if end < len(found) {
		next := pageURI(r.URL.Path, q, pageSize, page+1)
		resp.NextPageURI = &next
	}
	if page > 0 {
		prev := pageURI(r.URL.Path, q, pageSize, page-1)
		resp.PreviousPageURI = &prev
	}
	writeJSON(w, http.StatusOK, resp)
}

// pageURI is a list page's URI, relative to the API host like Twilio's.
func pageURI(path string, q url.Values, pageSize, page int) string {
	v := url.Values{}
	for k, vs := range q {
		if k != "Page" && k != "PageSize" && k != "PageToken" {
			v[k] = vs
		}
	}
	v.Set("PageSize", strconv.Itoa(pageSize))
	v.Set("Page", strconv.Itoa(page))
	return path + "?" + v.Encode()
}

// gsm7 is the GSM 03.38 basic character set; ext costs two septets each.
const (
	gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	ext  = "^{}\\[~]|€\f"
)

// segments counts SMS segments as Twilio bills them: GSM-7 160/153 septets, or
// UCS-2 70/67 characters when any character is outside GSM-7.
func segments(body string) int {
	septets, gsm := 0, true
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsm7, r):
			septets++
		case strings.ContainsRune(ext, r):
			septets += 2
		default:
			gsm = false
		}
	}
	single, multi := 160, 153
	n := septets
	if !gsm {
		single, multi, n = 70, 67, utf8.RuneCountInString(body)
	}
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}
