package fakeprovider

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Print is the faked print-and-mail provider. It speaks the shape of Lob's letters
// API that notify.PrintClient calls:
//
//	POST /v1/letters            multipart/form-data: to[name], to[address_line1],
//	                            to[address_line2], to[address_city], to[address_state],
//	                            to[address_zip], to[address_country], from, file (PDF),
//	                            color, double_sided, address_placement, description,
//	                            metadata[...]; Idempotency-Key header; basic auth
//	GET  /v1/letters            ?metadata[k]=v&limit=N, newest first
//	GET  /v1/letters/{id}       one letter
//	GET  /_fake/letters/{id}.pdf  the letter's PDF (the letter's url, linked from the outbox)
const Print Provider = "print"

var (
	countryRE  = regexp.MustCompile(`^[A-Z]{2}$`)
	usZipRE    = regexp.MustCompile(`^\d{5}(-\d{4})?$`)
	fromAddrRE = regexp.MustCompile(`^adr_[0-9A-Za-z]{1,40}$`)
)

// printAddress is the to object of a letter.
type printAddress struct {
	Name           string `json:"name"`
	AddressLine1   string `json:"address_line1"`
	AddressLine2   string `json:"address_line2,omitempty"`
	AddressCity    string `json:"address_city"`
	AddressState   string `json:"address_state,omitempty"`
	AddressZip     string `json:"address_zip,omitempty"`
	AddressCountry string `json:"address_country"`
}

// printLetter is the letter object.
type printLetter struct {
	ID                   string            `json:"id"`
	Object               string            `json:"object"`
	Description          string            `json:"description,omitempty"`
	Metadata             map[string]string `json:"metadata"`
	To                   printAddress      `json:"to"`
	From                 string            `json:"from"`
	URL                  string            `json:"url"`
	Color                bool              `json:"color"`
	DoubleSided          bool              `json:"double_sided"`
	AddressPlacement     string            `json:"address_placement"`
	MailType             string            `json:"mail_type"`
	ExpectedDeliveryDate string            `json:"expected_delivery_date"`
	DateCreated          string            `json:"date_created"`
	DateModified         string            `json:"date_modified"`
	SendDate             string            `json:"send_date"`
}

// printErrorBody is the provider's error: {"error": {"message", "status_code", "code"}}.
func writePrintError(w http.ResponseWriter, status int, code, format string, args ...any) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"message": fmt.Sprintf(format, args...), "status_code": status, "code": code,
	}})
}

func (s *Server) printRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /v1/letters", s.printCreate)
	m.HandleFunc("GET /v1/letters", s.printList)
	m.HandleFunc("GET /v1/letters/{id}", s.printGet)
	m.HandleFunc("GET /_fake/letters/{file}", s.printPDF)
}

// printAuth checks basic auth: the API key as the user name.
func (s *Server) printAuth(w http.ResponseWriter, r *http.Request) bool {
	user, _, ok := r.BasicAuth()
	if !ok || user == "" || (s.printKey != "" && user != s.printKey) {
		writePrintError(w, http.StatusUnauthorized, "unauthorized", "Your API key is not valid. Please sign up on the dashboard to get a valid key.")
		return false
	}
	return true
}

// printFault answers an injected error fault; it reports whether it answered.
func printFault(w http.ResponseWriter, f *Fault) bool {
	switch f.Kind {
	case FaultRateLimit:
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		writePrintError(w, http.StatusTooManyRequests, "rate_limit_exceeded", "Rate limit exceeded. Please try again later.")
	case FaultServerError:
		writePrintError(w, http.StatusInternalServerError, "internal_server_error", "An internal server error occurred.")
	case FaultUnavailable:
		writePrintError(w, http.StatusServiceUnavailable, "service_unavailable", "Service unavailable. Please try again.")
	case FaultInvalidRecipient:
		writePrintError(w, http.StatusUnprocessableEntity, "address_undeliverable", "to address is undeliverable")
	default:
		return false
	}
	return true
}

func (s *Server) printCreate(w http.ResponseWriter, r *http.Request) {
	if !s.printAuth(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseMultipartForm(maxBody); err != nil {
		writePrintError(w, http.StatusBadRequest, "bad_request", "the body must be multipart/form-data: %v", err)
		return
	}
	form := r.MultipartForm.Value
	get := func(k string) string {
		if v := form[k]; len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
		return ""
	}
	to := printAddress{
		Name: get("to[name]"), AddressLine1: get("to[address_line1]"), AddressLine2: get("to[address_line2]"),
		AddressCity: get("to[address_city]"), AddressState: get("to[address_state]"), AddressZip: get("to[address_zip]"),
		AddressCountry: get("to[address_country]"),
	}
	metadata := map[string]string{}
	for k, v := range form {
		if name, ok := strings.CutPrefix(k, "metadata["); ok && strings.HasSuffix(name, "]") && len(v) > 0 {
			metadata[strings.TrimSuffix(name, "]")] = v[0]
		}
	}
	pdf, err := readFile(r)
	if err != nil {
		writePrintError(w, http.StatusUnprocessableEntity, "invalid_file", "file %v", err)
		return
	}
	if problem := validateLetter(to, get("from"), get("color"), metadata); problem != "" {
		writePrintError(w, http.StatusUnprocessableEntity, "validation_error", "%s", problem)
		return
	}
	oneLine := printedAddress(to)
	if s.isInvalid(to.Name) || s.isInvalid(oneLine) {
		writePrintError(w, http.StatusUnprocessableEntity, "address_undeliverable", "to address is undeliverable")
		return
	}
	idem := r.Header.Get("Idempotency-Key")
	if idem != "" {
		if m, ok := s.printByIdempotencyKey(idem); ok {
			writeJSON(w, http.StatusOK, printResource(m, r))
			return
		}
	}
	f := s.takeFault(Print, OpSend, []string{to.Name, oneLine})
	if f != nil && printFault(w, f) {
		return
	}
	if f != nil && f.Kind == FaultStall && !s.hold(r.Context(), Message{Provider: Print, To: oneLine}) {
		return // the client went away before the provider took the letter
	}
	s.mu.Lock()
	m, ok := s.printByIdempotencyKeyLocked(idem)
	if !ok {
		m = s.recordLocked(Message{
			Provider: Print, ID: "ltr_" + randomHex(10), To: oneLine, ToName: to.Name, From: get("from"),
			Subject: get("description"), Text: strings.Join(addressLines(to), "\n"), CustomArgs: metadata,
			Attachments:    []Attachment{{Filename: "letter.pdf", Type: "application/pdf", Size: len(pdf), Content: base64.StdEncoding.EncodeToString(pdf)}},
			IdempotencyKey: idem, Received: time.Now().UTC(),
			Letter: &LetterDetails{Color: get("color") == "true", DoubleSided: get("double_sided") != "false",
				AddressPlacement: cmpOr(get("address_placement"), "top_first_page"), To: to},
		})
	}
	s.mu.Unlock()
	if f != nil && f.Kind == FaultHold && !s.hold(r.Context(), m) {
		return
	}
	writeJSON(w, http.StatusOK, printResource(m, r))
}

// LetterDetails are what a letter carries besides a message's fields.
type LetterDetails struct {
	Color            bool         `json:"color"`
	DoubleSided      bool         `json:"double_sided"`
	AddressPlacement string       `json:"address_placement"`
	To               printAddress `json:"to"`
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// readFile returns the uploaded PDF.
func readFile(r *http.Request) ([]byte, error) {
	fh := r.MultipartForm.File["file"]
	if len(fh) == 0 {
		return nil, errors.New("is required (a PDF upload)")
	}
	f, err := fh[0].Open()
	if err != nil {
		return nil, fmt.Errorf("cannot be read: %w", err)
	}
	defer f.Close()
	b := make([]byte, fh[0].Size)
	if _, err := f.Read(b); err != nil && fh[0].Size > 0 {
		return nil, fmt.Errorf("cannot be read: %w", err)
	}
	if !strings.HasPrefix(string(b), "%PDF-") {
		return nil, errors.New("must be a PDF")
	}
	return b, nil
}

// validateLetter applies the checks the provider answers with a 422.
func validateLetter(to printAddress, from, color string, metadata map[string]string) string {
	switch {
	case to.Name == "":
		return "to.name is required"
	case utf8.RuneCountInString(to.Name) > 40:
		return "to.name must be at most 40 characters"
	case to.AddressLine1 == "":
		return "to.address_line1 is required"
	case utf8.RuneCountInString(to.AddressLine1) > 64 || utf8.RuneCountInString(to.AddressLine2) > 64:
		return "to.address_line1 and to.address_line2 must be at most 64 characters"
	case to.AddressCity == "":
		return "to.address_city is required"
	case !countryRE.MatchString(to.AddressCountry):
		return "to.address_country must be a 2-letter country code"
	case to.AddressCountry == "US" && (to.AddressState == "" || !usZipRE.MatchString(to.AddressZip)):
		return "to.address_state and to.address_zip are required for a US address"
	case !fromAddrRE.MatchString(from):
		return "from must be an address id (adr_...)"
	case color != "true" && color != "false":
		return "color is required (true or false)"
	case len(metadata) > 20:
		return "metadata must have at most 20 keys"
	}
	return ""
}

func addressLines(to printAddress) []string {
	out := []string{to.Name, to.AddressLine1}
	if to.AddressLine2 != "" {
		out = append(out, to.AddressLine2)
	}
	city := strings.TrimSpace(to.AddressZip + " " + to.AddressCity)
	if to.AddressState != "" {
		city = strings.TrimSpace(to.AddressCity + " " + to.AddressState + " " + to.AddressZip)
	}
	return append(out, city, to.AddressCountry)
}

func printedAddress(to printAddress) string { return strings.Join(addressLines(to), ", ") }

func (s *Server) printByIdempotencyKey(key string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.printByIdempotencyKeyLocked(key)
}

func (s *Server) printByIdempotencyKeyLocked(key string) (Message, bool) {
	if key == "" {
		return Message{}, false
	}
	for _, m := range s.outbox {
		if m.Provider == Print && m.IdempotencyKey == key {
			return m.clone(), true
		}
	}
	return Message{}, false
}

func printResource(m Message, r *http.Request) printLetter {
	created := m.Received.UTC().Format(time.RFC3339)
	l := printLetter{
		ID: m.ID, Object: "letter", Description: m.Subject, Metadata: m.CustomArgs, From: m.From,
		URL: "http://" + r.Host + "/_fake/letters/" + m.ID + ".pdf", MailType: "usps_first_class",
		ExpectedDeliveryDate: m.Received.AddDate(0, 0, 5).Format(time.DateOnly),
		DateCreated:          created, DateModified: created, SendDate: created,
	}
	if l.Metadata == nil {
		l.Metadata = map[string]string{}
	}
	if d := m.Letter; d != nil {
		l.To, l.Color, l.DoubleSided, l.AddressPlacement = d.To, d.Color, d.DoubleSided, d.AddressPlacement
	}
	return l
}

func (s *Server) printList(w http.ResponseWriter, r *http.Request) {
	if !s.printAuth(w, r) {
		return
	}
	q := r.URL.Query()
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writePrintError(w, http.StatusUnprocessableEntity, "validation_error", "limit must be between 1 and 100")
			return
		}
		limit = n
	}
	want := map[string]string{}
	for k, v := range q {
		if name, ok := strings.CutPrefix(k, "metadata["); ok && strings.HasSuffix(name, "]") {
			want[strings.TrimSuffix(name, "]")] = v[0]
		}
	}
	if f := s.takeFault(Print, OpLookup, []string{""}); f != nil {
		if printFault(w, f) {
			return
		}
		if f.Kind == FaultHold && !s.hold(r.Context(), Message{Provider: Print}) {
			return
		}
	}
	s.mu.Lock()
	found := s.selectLocked(func(m Message) bool {
		if m.Provider != Print {
			return false
		}
		for k, v := range want {
			if m.CustomArgs[k] != v {
				return false
			}
		}
		return true
	})
	s.mu.Unlock()
	slices.Reverse(found)
	data := []printLetter{}
	for _, m := range found[:min(limit, len(found))] {
		data = append(data, printResource(m, r))
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "count": len(data)})
}

func (s *Server) printLetterByID(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := s.selectLocked(func(m Message) bool { return m.Provider == Print && m.ID == id })
	if len(found) == 0 {
		return Message{}, false
	}
	return found[0], true
}

func (s *Server) printGet(w http.ResponseWriter, r *http.Request) {
	if !s.printAuth(w, r) {
		return
	}
	m, ok := s.printLetterByID(r.PathValue("id"))
	if !ok {
		writePrintError(w, http.StatusNotFound, "not_found", "letter not found")
		return
	}
	writeJSON(w, http.StatusOK, printResource(m, r))
}

// printPDF serves a letter's PDF, without credentials like the provider's signed
// links: the outbox page links to it.
func (s *Server) printPDF(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".pdf")
	m, found := s.printLetterByID(id)
	if !ok || !found || len(m.Attachments) == 0 {
		http.NotFound(w, r)
		return
	}
	b, err := m.Attachments[0].Bytes()
	if err != nil {
		http.Error(w, "decoding the letter", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `inline; filename="`+m.ID+`.pdf"`)
	_, _ = w.Write(b)
}
