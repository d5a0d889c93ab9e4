package replies

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/text/encoding/htmlindex"

	"github.com/dunwell/dunwell/webhooks"
)

// Limits of what Parse reads and keeps.
const (
	// MaxFieldBytes bounds one text field of the post (the text, the HTML, the
	// headers, a raw MIME message without its attachments); beyond it the field is
	// refused.
	MaxFieldBytes = 2 << 20
	// MaxTextChars bounds the text kept of a reply, in characters.
	MaxTextChars = 20_000
	// MaxSubjectChars bounds the subject kept, in characters.
	MaxSubjectChars = 2000
	// MaxMessageIDBytes bounds a Message-ID (RFC 5322's line length).
	MaxMessageIDBytes = 998
)

// Mail is a received email as Inbound Parse posted it, decoded to UTF-8.
type Mail struct {
	// MessageID is the Message-ID header without its angle brackets; when the mail
	// has none, "sha256:" and the hash of its sender, subject and text, so a
	// redelivery is still the same mail.
	MessageID string
	// From is the sender's address (lower case).
	From string
	// To are the recipient addresses: the SMTP envelope's, then the To and Cc
	// headers', lower case, without repeats.
	To      []string
	Subject string
	// Text is the plain text of the mail (from its HTML when it has no text part),
	// at most MaxTextChars characters.
	Text string
}

// fields are the Inbound Parse form fields Parse reads; SendGrid sends others
// (dkim, SPF, sender_ip, spam_score, spam_report, attachment-info, content-ids) and
// attachments as files, which are skipped.
var fields = map[string]bool{
	"headers": true, "from": true, "to": true, "cc": true, "subject": true, "text": true, "html": true,
	"envelope": true, "charsets": true, "email": true,
}

// Parse reads an Inbound Parse post: multipart/form-data with the parsed fields
// (headers, from, to, cc, subject, text, html, envelope, charsets), or with the raw
// MIME message in "email" when the Parse setting "post the raw, full MIME message" is
// on. Attachments are read past, never kept. Problems are a webhooks.FieldError
// naming each field; a body that is not multipart/form-data names "Content-Type".
func Parse(contentType string, body io.Reader) (Mail, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return Mail{}, webhooks.FieldError{"Content-Type": "must be multipart/form-data with a boundary, as Inbound Parse posts"}
	}
	form := map[string]string{}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Mail{}, readError("body", err)
		}
		name := p.FormName()
		if p.FileName() != "" || !fields[name] {
			if _, err := io.Copy(io.Discard, p); err != nil {
				return Mail{}, readError(name, err)
			}
			continue
		}
		b, err := io.ReadAll(io.LimitReader(p, MaxFieldBytes+1))
		if err != nil {
			return Mail{}, readError(name, err)
		}
		if len(b) > MaxFieldBytes {
			return Mail{}, webhooks.FieldError{name: fmt.Sprintf("is larger than %d bytes", MaxFieldBytes)}
		}
		if _, dup := form[name]; dup {
			return Mail{}, webhooks.FieldError{name: "is given twice"}
		}
		form[name] = string(b)
	}
	return fromForm(form)
}

// readError is a failure to read a part: the body's size limit (an
// *http.MaxBytesError, passed on as it is), or a malformed body.
func readError(name string, err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return err
	}
	if name == "" {
		name = "body"
	}
	return webhooks.FieldError{name: "is not a well-formed multipart body: " + err.Error()}
}

// fromForm builds the mail from the form's fields.
func fromForm(form map[string]string) (Mail, error) {
	charsets := map[string]string{}
	if c := form["charsets"]; c != "" {
		if err := json.Unmarshal([]byte(c), &charsets); err != nil {
			return Mail{}, webhooks.FieldError{"charsets": "must be a JSON object of field names and charsets"}
		}
	}
	bad := webhooks.FieldError{}
	field := func(name string) string {
		v, err := decodeCharset(form[name], charsets[name])
		if err != nil {
			bad[name] = err.Error()
		}
		return v
	}
	var m Mail
	var header mail.Header
	if raw, ok := form["email"]; ok {
		msg, err := mail.ReadMessage(strings.NewReader(raw))
		if err != nil {
			return Mail{}, webhooks.FieldError{"email": "is not a MIME message: " + err.Error()}
		}
		header = msg.Header
		text, html, err := mimeText(textproto.MIMEHeader(msg.Header), msg.Body, 0)
		if err != nil {
			bad["email"] = err.Error()
		}
		m.Text = orHTML(text, html)
	} else {
		if h := form["headers"]; h != "" {
			msg, err := mail.ReadMessage(strings.NewReader(strings.TrimRight(h, "\r\n") + "\r\n\r\n"))
			if err != nil {
				bad["headers"] = "are not mail headers: " + err.Error()
			} else {
				header = msg.Header
			}
		}
		m.Text = orHTML(field("text"), field("html"))
	}
	from := field("from")
	if from == "" && header != nil {
		from = header.Get("From")
	}
	if a, err := mail.ParseAddress(decodeWords(from)); err != nil {
		bad["from"] = "must be an email address"
	} else {
		m.From = strings.ToLower(a.Address)
	}
	m.Subject = field("subject")
	if m.Subject == "" && header != nil {
		m.Subject = header.Get("Subject")
	}
	m.Subject = clip(strings.TrimSpace(decodeWords(m.Subject)), MaxSubjectChars)
	m.Text = clip(m.Text, MaxTextChars)
	// The ledger stores text without NUL and in valid UTF-8 only: such a reply was a
	// 500, which SendGrid retries for days.
	textField := "text"
	if _, ok := form["email"]; ok {
		textField = "email"
	}
	for name, v := range map[string]string{textField: m.Text, "subject": m.Subject} {
		switch {
		case !utf8.ValidString(v):
			bad[name] = "is not valid text in its charset"
		case strings.ContainsRune(v, 0):
			bad[name] = "holds a NUL character"
		}
	}
	if env := form["envelope"]; env != "" {
		var e struct {
			To []string `json:"to"`
		}
		if err := json.Unmarshal([]byte(env), &e); err != nil {
			bad["envelope"] = `must be the SMTP envelope as JSON: {"to": [...], "from": "..."}`
		}
		m.To = addAddresses(m.To, e.To...)
	}
	for _, name := range []string{"to", "cc"} {
		v := field(name)
		if v == "" && header != nil {
			v = header.Get(name)
		}
		if v = decodeWords(v); strings.TrimSpace(v) != "" {
			list, err := mail.ParseAddressList(v)
			if err != nil {
				continue // a malformed header of other recipients: the envelope says where it went
			}
			for _, a := range list {
				m.To = addAddresses(m.To, a.Address)
			}
		}
	}
	if header != nil {
		m.MessageID = strings.TrimSpace(strings.Trim(strings.TrimSpace(header.Get("Message-Id")), "<>"))
	}
	switch {
	case len(m.MessageID) > MaxMessageIDBytes:
		bad["headers"] = fmt.Sprintf("Message-ID is longer than %d bytes", MaxMessageIDBytes)
	case m.MessageID != "" && (!utf8.ValidString(m.MessageID) || strings.ContainsFunc(m.MessageID, func(r rune) bool { return r < ' ' || r == 0x7f })):
		bad["headers"] = "Message-ID holds control characters"
	case m.MessageID == "":
		sum := sha256.Sum256([]byte(m.From + "\x00" + m.Subject + "\x00" + m.Text))
		m.MessageID = "sha256:" + hex.EncodeToString(sum[:])
	}
	if len(bad) > 0 {
		return Mail{}, bad
	}
	return m, nil
}

// addAddresses appends the lower-cased addresses not in list yet.
func addAddresses(list []string, addrs ...string) []string {
	for _, a := range addrs {
		a = strings.ToLower(strings.TrimSpace(a))
		if a != "" && !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}

// decodeCharset turns s, in charset (a name SendGrid's charsets field gives), into
// UTF-8. Empty, UTF-8 and ASCII charsets are read as UTF-8; invalid bytes become
// U+FFFD.
func decodeCharset(s, charset string) (string, error) {
	cs := strings.ToLower(strings.TrimSpace(charset))
	if s == "" || cs == "" || cs == "utf-8" || cs == "utf8" || cs == "us-ascii" || cs == "ascii" {
		return strings.ToValidUTF8(s, "\uFFFD"), nil
	}
	enc, err := htmlindex.Get(cs)
	if err != nil {
		return "", fmt.Errorf("has the unknown charset %q", charset)
	}
	out, err := enc.NewDecoder().String(s)
	if err != nil {
		return "", fmt.Errorf("is not valid %s", charset)
	}
	return strings.ToValidUTF8(out, "\uFFFD"), nil
}

// decodeWords decodes RFC 2047 encoded words ("=?UTF-8?B?...?="); what it cannot
// decode stays as it is.
func decodeWords(s string) string {
	dec := mime.WordDecoder{CharsetReader: func(charset string, input io.Reader) (io.Reader, error) {
		enc, err := htmlindex.Get(charset)
		if err != nil {
			return nil, err
		}
		return enc.NewDecoder().Reader(input), nil
	}}
	if out, err := dec.DecodeHeader(s); err == nil {
		return out
	}
	return s
}

// maxMIMEDepth bounds nested multiparts in a raw message.
const maxMIMEDepth = 5

// mimeText finds the first text/plain and text/html parts of a MIME entity, decoded
// (transfer encoding and charset) to UTF-8.
func mimeText(h textproto.MIMEHeader, body io.Reader, depth int) (text, htmlText string, err error) {
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, perr := mime.ParseMediaType(ct)
	if perr != nil {
		mt, params = "text/plain", map[string]string{}
	}
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		if depth >= maxMIMEDepth || params["boundary"] == "" {
			return "", "", nil
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return text, htmlText, nil
			}
			if err != nil {
				return text, htmlText, fmt.Errorf("has a malformed MIME part: %v", err)
			}
			t, ht, err := mimeText(p.Header, p, depth+1)
			if err != nil {
				return text, htmlText, err
			}
			if text == "" {
				text = t
			}
			if htmlText == "" {
				htmlText = ht
			}
		}
	case mt == "text/plain" || mt == "text/html":
		if strings.EqualFold(h.Get("Content-Disposition"), "attachment") || strings.HasPrefix(strings.ToLower(h.Get("Content-Disposition")), "attachment;") {
			return "", "", nil
		}
		var r io.Reader = io.LimitReader(body, MaxFieldBytes)
		switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
		case "quoted-printable":
			r = quotedprintable.NewReader(r)
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, r) // it skips line breaks
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return "", "", fmt.Errorf("has a %s part that cannot be decoded: %v", mt, err)
		}
		s, err := decodeCharset(string(b), params["charset"])
		if err != nil {
			return "", "", fmt.Errorf("has a %s part that %v", mt, err)
		}
		if mt == "text/html" {
			return "", s, nil
		}
		return s, "", nil
	}
	return "", "", nil
}

// orHTML is text, else the text of htmlText.
func orHTML(text, htmlText string) string {
	if strings.TrimSpace(text) != "" || htmlText == "" {
		return text
	}
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(htmlText))
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return strings.TrimSpace(b.String())
		case html.StartTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head":
				skip++
			case "br", "p", "div", "tr", "li", "blockquote":
				b.WriteByte('\n')
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head":
				skip = max(0, skip-1)
			case "p", "div", "blockquote":
				b.WriteByte('\n')
			}
		case html.SelfClosingTagToken:
			if name, _ := z.TagName(); string(name) == "br" {
				b.WriteByte('\n')
			}
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		}
	}
}

// clip keeps at most n characters of s.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
