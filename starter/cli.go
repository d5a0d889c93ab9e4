package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/dunwell/dunwell/collection"
)

// apiClient calls the Dunwell API for the CLI commands.
type apiClient struct {
	base string
	http *http.Client
}

func newAPIClient() (*apiClient, error) {
	base := strings.TrimRight(os.Getenv("DUNWELL_API_URL"), "/")
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError{fmt.Sprintf("DUNWELL_API_URL: must be an http(s) URL, got %q", base)}
	}
	return &apiClient{base: base, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// do sends a request and writes the JSON answer to out. A 4xx/5xx answer is an error
// carrying the API's message and fields.
func (c *apiClient) do(ctx context.Context, method, path string, body []byte, out io.Writer, headers ...string) error {
	contentType := ""
	if body != nil {
		contentType = "application/json"
	}
	return c.send(ctx, method, path, contentType, bytes.NewReader(body), out, headers...)
}

// send is do with any body and Content-Type (a bank statement streamed from its file).
func (c *apiClient) send(ctx context.Context, method, path, contentType string, body io.Reader, out io.Writer, headers ...string) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("building the request: %w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if key := os.Getenv("DUNWELL_API_KEY"); key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("calling %s %s: %w", method, c.base+path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error  string            `json:"error"`
			Fields map[string]string `json:"fields"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg := fmt.Sprintf("%s (HTTP %d)", e.Error, resp.StatusCode)
			for _, f := range collection.FieldErrors(e.Fields).Fields() {
				msg += fmt.Sprintf("\n  %s: %s", f, e.Fields[f])
			}
			return fmt.Errorf("%s", msg)
		}
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(data))
	}
	_, err = out.Write(data)
	return err
}

// callAPI sends one request with a client configured from the environment.
func callAPI(ctx context.Context, method, path string, body []byte, out io.Writer) error {
	c, err := newAPIClient()
	if err != nil {
		return err
	}
	return c.do(ctx, method, path, body, out)
}

// fetchView calls the API. With asJSON it prints the answer as it came and reports it
// printed; otherwise it decodes the answer into v, naming what it read if that fails.
func fetchView(ctx context.Context, method, path string, body []byte, asJSON bool, out io.Writer, what string, v any) (printed bool, err error) {
	var buf bytes.Buffer
	if err := callAPI(ctx, method, path, body, &buf); err != nil {
		return false, err
	}
	if asJSON {
		_, err := out.Write(buf.Bytes())
		return true, err
	}
	if err := json.Unmarshal(buf.Bytes(), v); err != nil {
		return false, fmt.Errorf("reading %s: %w", what, err)
	}
	return false, nil
}

func issue(ctx context.Context, args []string, stdin io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("issue", flag.ContinueOnError)
	file := fs.String("f", "", "invoice JSON file (- for standard input)")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if *file == "" || fs.NArg() > 0 {
		return usageError{"usage: starter issue -f invoice.json"}
	}
	body, err := readInput(*file, stdin)
	if err != nil {
		return err
	}
	return callAPI(ctx, http.MethodPost, "/v1/invoices", body, out)
}

// maxStdin bounds what readInput takes from standard input (the API's default body
// limit).
const maxStdin = 1 << 20

// readInput reads a -f file, or standard input when it is "-" (refused beyond
// maxStdin rather than cut short).
func readInput(file string, stdin io.Reader) ([]byte, error) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, maxStdin+1))
		if err == nil && len(data) > maxStdin {
			return nil, fmt.Errorf("reading -: standard input is larger than %d bytes; give a file with -f instead", maxStdin)
		}
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	return data, nil
}

func pay(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("pay", flag.ContinueOnError)
	invoice := fs.String("invoice", "", "invoice id")
	req := collection.PaymentRequest{}
	fs.StringVar(&req.PaymentID, "payment-id", "", "the payment provider's id (idempotency key)")
	fs.StringVar(&req.Amount, "amount", "", "amount in major units, e.g. 1250.00")
	fs.StringVar(&req.Currency, "currency", "", "ISO 4217 currency of the payment")
	fs.StringVar(&req.PaidAt, "paid-at", "", "RFC 3339 time of payment (default now)")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if *invoice == "" || req.PaymentID == "" || req.Amount == "" || req.Currency == "" || fs.NArg() > 0 {
		return usageError{"usage: starter pay -invoice ID -payment-id P -amount 10.00 -currency USD [-paid-at RFC3339]"}
	}
	body, _ := json.Marshal(req) // plain strings: cannot fail
	return callAPI(ctx, http.MethodPost, "/v1/invoices/"+url.PathEscape(*invoice)+"/payments", body, out)
}

func status(ctx context.Context, args []string, out io.Writer) error {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		return usageError{"usage: starter status INVOICE_ID"}
	}
	return callAPI(ctx, http.MethodGet, "/v1/invoices/"+url.PathEscape(args[0]), nil, out)
}
