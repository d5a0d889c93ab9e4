package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/dunwell/dunwell/collection"
)

// ProviderPrint names the print-and-mail provider in Error.Provider.
const ProviderPrint = "print"

// Letter is one printed letter to mail.
type Letter struct {
	// Key is the letter's business key (<invoice>/<step>/letter): the request's
	// Idempotency-Key and the metadata dunwell_key that FindLetter looks up.
	Key       string
	InvoiceID string
	// To is where it goes, addressed to ToName when the address names nobody.
	To     collection.Address
	ToName string
	// PDF is the letter, the address placed for a window envelope.
	PDF         []byte
	Description string
}

// LetterSender hands letters to a print-and-mail provider.
type LetterSender interface {
	// SendLetter hands l to the provider. Errors are *Error (or ctx's error).
	SendLetter(ctx context.Context, l Letter) (Receipt, error)
	// FindLetter asks the provider whether a letter with this key was accepted
	// (reconciliation after a crash or a timeout).
	FindLetter(ctx context.Context, key string) (Receipt, bool, error)
}

// PrintConfig configures the print-and-mail client. Its HTTP API is the shape of
// Lob's letters API: POST {BaseURL}/v1/letters as multipart/form-data with the
// recipient (to[name], to[address_line1], ...), the return address (from: an
// address id at the provider), the PDF (file), color, double_sided,
// address_placement and metadata[...], an Idempotency-Key header, HTTP basic auth
// with the API key as the user name; GET {BaseURL}/v1/letters?metadata[k]=v lists
// letters by metadata. cmd/fakeproviders serves the same API locally.
type PrintConfig struct {
	// BaseURL is the provider's API (DUNWELL_PRINT_URL).
	BaseURL string
	// APIKey authenticates (DUNWELL_PRINT_KEY).
	APIKey string
	// From is the return address's id at the provider (DUNWELL_PRINT_FROM, adr_...).
	From string
	// Color prints in colour (DUNWELL_PRINT_COLOR); default black and white.
	Color   bool
	Timeout time.Duration
	// Transport, when set, carries the requests (tests).
	Transport http.RoundTripper
}

// PrintClient is the LetterSender of a print-and-mail provider.
type PrintClient struct {
	cfg  PrintConfig
	base *url.URL
	http *http.Client
}

var _ LetterSender = (*PrintClient)(nil)

// NewPrintClient checks cfg and returns the client.
func NewPrintClient(cfg PrintConfig) (*PrintClient, error) {
	base, errs := transportDefaults(ProviderPrint, "", &cfg.BaseURL, &cfg.Timeout, &cfg.Transport)
	if cfg.APIKey == "" {
		errs = append(errs, errors.New("print: APIKey is required"))
	}
	if cfg.From == "" {
		errs = append(errs, errors.New("print: From (the return address's id at the provider) is required"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &PrintClient{cfg: cfg, base: base, http: &http.Client{Transport: cfg.Transport, Timeout: cfg.Timeout, CheckRedirect: noRedirect}}, nil
}

// MetadataKey is the metadata field that carries the letter's business key.
const MetadataKey = "dunwell_key"

// printLetter is the part of the provider's letter object Dunwell reads.
type printLetter struct {
	ID       string            `json:"id"`
	Metadata map[string]string `json:"metadata"`
	URL      string            `json:"url"`
}

// SendLetter posts the letter. The Idempotency-Key makes a repeated request (a retry
// after a timeout) return the letter created the first time instead of a second one.
func (c *PrintClient) SendLetter(ctx context.Context, l Letter) (Receipt, error) {
	const op = "send letter"
	if l.Key == "" || len(l.PDF) == 0 {
		return Receipt{}, &Error{Provider: ProviderPrint, Op: op, Kind: KindBadRequest, Message: "a letter needs its key and its PDF"}
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	fields := [][2]string{
		{"description", l.Description},
		{"from", c.cfg.From},
		{"color", fmt.Sprint(c.cfg.Color)},
		{"double_sided", "false"},
		{"address_placement", "top_first_page"},
		{"metadata[" + MetadataKey + "]", l.Key},
		{"metadata[invoice_id]", l.InvoiceID},
	}
	name := l.To.Name
	if name == "" {
		name = l.ToName
	}
	to := [][2]string{{"name", name}, {"address_city", l.To.City}, {"address_state", l.To.Region}, {"address_zip", l.To.PostalCode},
		{"address_country", l.To.Country}}
	for i, line := range l.To.Lines {
		to = append(to, [2]string{fmt.Sprintf("address_line%d", i+1), line})
	}
	for _, f := range to {
		if f[1] != "" {
			fields = append(fields, [2]string{"to[" + f[0] + "]", f[1]})
		}
	}
	for _, f := range fields {
		if f[1] == "" {
			continue
		}
		if err := w.WriteField(f[0], f[1]); err != nil {
			return Receipt{}, &Error{Provider: ProviderPrint, Op: op, Kind: KindBadRequest, Message: "building the request", Err: err}
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="letter.pdf"`)
	h.Set("Content-Type", "application/pdf")
	part, err := w.CreatePart(h)
	if err == nil {
		_, err = part.Write(l.PDF)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return Receipt{}, &Error{Provider: ProviderPrint, Op: op, Kind: KindBadRequest, Message: "building the request", Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+"/v1/letters", &body)
	if err != nil {
		return Receipt{}, &Error{Provider: ProviderPrint, Op: op, Kind: KindConfig, Message: "building the request", Err: err}
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Idempotency-Key", l.Key)
	var out printLetter
	if err := c.do(req, op, &out); err != nil {
		return Receipt{}, err
	}
	if out.ID == "" {
		return Receipt{}, &Error{Provider: ProviderPrint, Op: op, Kind: KindTransient, Message: "the provider answered without a letter id"}
	}
	return Receipt{ProviderID: out.ID, Status: "accepted"}, nil
}

// FindLetter lists the provider's letters whose metadata carries key.
func (c *PrintClient) FindLetter(ctx context.Context, key string) (Receipt, bool, error) {
	const op = "find letter"
	q := url.Values{}
	q.Set("metadata["+MetadataKey+"]", key)
	q.Set("limit", "2")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.String()+"/v1/letters?"+q.Encode(), nil)
	if err != nil {
		return Receipt{}, false, &Error{Provider: ProviderPrint, Op: op, Kind: KindConfig, Message: "building the request", Err: err}
	}
	var list struct {
		Data []printLetter `json:"data"`
	}
	if err := c.do(req, op, &list); err != nil {
		return Receipt{}, false, err
	}
	for _, l := range list.Data {
		if l.Metadata[MetadataKey] == key {
			return Receipt{ProviderID: l.ID, Status: "accepted"}, true, nil
		}
	}
	return Receipt{}, false, nil
}

// printError is the provider's error body.
type printError struct {
	Error struct {
		Message    string `json:"message"`
		StatusCode int    `json:"status_code"`
		Code       string `json:"code"`
	} `json:"error"`
}

// do sends req with the API key and decodes a 2xx answer into out; any other
// answer is a classified *Error: 422 about the recipient (to) is KindRecipientInvalid.
func (c *PrintClient) do(req *http.Request, op string, out any) error {
	req.SetBasicAuth(c.cfg.APIKey, "")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return ctxErr
		}
		return &Error{Provider: ProviderPrint, Op: op, Kind: KindTransient, Message: "no answer", Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return &Error{Provider: ProviderPrint, Op: op, Kind: KindTransient, StatusCode: resp.StatusCode, Message: "reading the answer", Err: err}
	}
	if resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(body, out); err != nil {
			return &Error{Provider: ProviderPrint, Op: op, Kind: KindTransient, StatusCode: resp.StatusCode, Message: "the answer is not JSON", Err: err}
		}
		return nil
	}
	var pe printError
	_ = json.Unmarshal(body, &pe) // a body that is not the provider's error leaves the message empty
	msg := pe.Error.Message
	if msg == "" {
		msg = strings.TrimSpace(string(body[:min(len(body), 200)]))
	}
	kind := kindForStatus(resp.StatusCode)
	if resp.StatusCode == http.StatusUnprocessableEntity && (strings.HasPrefix(msg, "to") || strings.Contains(pe.Error.Code, "address")) {
		kind = KindRecipientInvalid
	}
	return &Error{Provider: ProviderPrint, Op: op, Kind: kind, StatusCode: resp.StatusCode, Message: msg,
		RetryAfter: retryAfter(resp.Header, time.Now())}
}
