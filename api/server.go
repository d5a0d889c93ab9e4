// Package api is Dunwell's HTTP API v1 (served by `starter serve`): invoices issued by
// the billing system, payments, the collection state, health and readiness. JSON in
// and out; money as decimal strings in major units with an ISO 4217 currency.
//
// Errors are {"error": "...", "fields": {"customer.email": "..."}}: every bad field is
// named, and a rejected request changes nothing.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/policy"
)

// maxBody bounds a request body; an invoice is a few kilobytes.
const maxBody = 1 << 20

// requestTimeout bounds the work of one request (a Temporal start, query or update).
const requestTimeout = 15 * time.Second

// Server serves the API.
type Server struct {
	Temporal client.Client
	Ledger   *ledger.Store
	Policies *policy.Set
	Logger   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/invoices", s.issueInvoice)
	mux.HandleFunc("GET /v1/invoices/{id}", s.getInvoice)
	mux.HandleFunc("POST /v1/invoices/{id}/payments", s.payInvoice)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.ready)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path, nil)
	})
	return s.recoverer(mux)
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// recoverer turns a handler panic into a 500 instead of a dropped connection; handlers
// are written not to panic, this is the last line.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				s.Logger.Error("Handler panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
				writeError(w, http.StatusInternalServerError, "internal error", nil)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"temporal": "ok", "postgres": "ok"}
	code := http.StatusOK
	if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], code = err.Error(), http.StatusServiceUnavailable
	}
	if err := s.Ledger.Ping(ctx); err != nil {
		checks["postgres"], code = err.Error(), http.StatusServiceUnavailable
	}
	writeJSON(w, code, checks)
}

// ErrorBody is every error answer.
type ErrorBody struct {
	Error  string            `json:"error"`
	Fields map[string]string `json:"fields,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to do
}

func writeError(w http.ResponseWriter, code int, msg string, fields map[string]string) {
	writeJSON(w, code, ErrorBody{Error: msg, Fields: fields})
}

// decode reads one JSON object into v strictly: unknown fields, trailing data, wrong
// types and oversize bodies are all errors that say where the problem is.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json", nil)
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("unexpected data after the JSON object")
	}
	if err == nil {
		return true
	}
	var (
		typeErr  *json.UnmarshalTypeError
		syntax   *json.SyntaxError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		writeError(w, http.StatusBadRequest, "invalid request", map[string]string{field: "must be a JSON " + jsonType(typeErr.Type.Kind().String())})
	case errors.As(err, &syntax):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("malformed JSON at byte %d: %v", syntax.Offset, err), nil)
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "request body is larger than 1 MiB", nil)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		writeError(w, http.StatusBadRequest, "invalid request", map[string]string{name: "is not a known field"})
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "request body is empty; expected a JSON object", nil)
	default:
		writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error(), nil)
	}
	return false
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	case "bool":
		return "boolean"
	default:
		return "number"
	}
}

// invoiceIDFromPath returns the {id} path value if it can be an invoice id.
func invoiceIDFromPath(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if !collection.IDPattern.MatchString(id) {
		writeError(w, http.StatusNotFound, "unknown invoice "+fmt.Sprintf("%q", id), nil)
		return "", false
	}
	return id, true
}
