package api

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/statement"
	"github.com/dunwell/dunwell/templates"
)

// Media types a statement is served as.
const (
	mediaJSON = "application/json"
	mediaPDF  = "application/pdf"
)

// statementParams are the query parameters of GET /v1/customers/{id}/statement.
var statementParams = []string{"as_of", "since"}

// statementEpoch is the earliest date a statement's parameters may name.
var statementEpoch = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// localeRE is what a language tag taken from Accept-Language may look like.
var localeRE = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

// getStatement answers GET /v1/customers/{id}/statement: the customer's statement as
// JSON, or as a PDF when the client prefers application/pdf (406 when it accepts
// neither). ?as_of= (default today, UTC) dates it; ?since= starts its activity
// (default: the day after the last statement sent). The terms in words, and a PDF's
// amounts and dates, follow the first language of Accept-Language.
func (s *Server) getStatement(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !collection.IDPattern.MatchString(id) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown customer %q", id), nil)
		return
	}
	media, ok := negotiate(r.Header.Values("Accept"), mediaJSON, mediaPDF)
	if !ok {
		writeError(w, http.StatusNotAcceptable, "a statement is served as "+mediaJSON+" or "+mediaPDF,
			map[string]string{"Accept": "must accept " + mediaJSON + " or " + mediaPDF})
		return
	}
	opts, bad := parseStatementQuery(r.URL.Query(), statement.Day(s.now()))
	if len(bad) > 0 {
		writeError(w, http.StatusBadRequest, "invalid parameters: "+describe(bad), bad)
		return
	}
	locale := acceptLanguage(r)
	opts.Terms = s.termsIn(locale)
	ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
	defer cancel()
	st, err := statement.Build(ctx, s.Ledger, id, opts)
	switch {
	case errors.Is(err, statement.ErrUnknownCustomer):
		writeError(w, http.StatusNotFound, "unknown customer "+id, nil)
		return
	case err != nil:
		s.fail(w, r, "building the statement", err)
		return
	}
	w.Header().Set("Vary", "Accept, Accept-Language")
	if media == mediaJSON {
		writeJSON(w, http.StatusOK, st)
		return
	}
	// The PDF names the customer, in their locale unless the request asks for another.
	who, _, err := s.Ledger.CustomerProfile(ctx, id)
	if err != nil {
		s.fail(w, r, "reading the customer's name", err)
		return
	}
	if locale == "" {
		locale = who.Locale
	}
	b, err := statement.PDF(st, statement.PDFOptions{From: s.Business, Locale: locale, CustomerName: who.Name})
	if err != nil {
		s.fail(w, r, "rendering the statement", err)
		return
	}
	w.Header().Set("Content-Type", mediaPDF)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="statement-%s-%s.pdf"`, id, st.AsOf))
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b) // the client went away; nothing to do
}

// termsIn states each policy's terms in words for locale; a policy the server does
// not know (retired since) states none.
func (s *Server) termsIn(locale string) func(policyID, currency string) string {
	return func(policyID, currency string) string {
		if s.Policies == nil {
			return ""
		}
		p, err := s.Policies.Select(policyID)
		if err != nil {
			return ""
		}
		text, err := templates.TermsOf(p).Text(currency, locale)
		if err != nil {
			s.Logger.Warn("Statement: the terms could not be stated", "policy", policyID, "error", err)
			return ""
		}
		return text
	}
}

// parseStatementQuery validates the statement's parameters; the map names every bad
// one. Dates are YYYY-MM-DD, as_of no later than today, since no later than as_of.
func parseStatementQuery(q map[string][]string, today time.Time) (statement.Options, map[string]string) {
	bad := map[string]string{}
	for name := range q {
		if !slices.Contains(statementParams, name) {
			bad[name] = "is not a parameter of this route (known: " + strings.Join(statementParams, ", ") + ")"
		}
	}
	date := func(name string) time.Time {
		v, ok := q[name]
		if !ok {
			return time.Time{}
		}
		if len(v) > 1 {
			bad[name] = "must be given at most once"
			return time.Time{}
		}
		d, err := time.Parse(time.DateOnly, strings.TrimSpace(v[0]))
		switch {
		case err != nil:
			bad[name] = "must be a date like 2026-01-31"
			return time.Time{}
		case d.Before(statementEpoch):
			// 0001-01-01 is the zero time, which means "not given": as_of would
			// silently be today and since the last statement.
			bad[name] = "must not be before " + statementEpoch.Format(time.DateOnly)
			return time.Time{}
		}
		return d
	}
	o := statement.Options{AsOf: date("as_of"), Since: date("since")}
	switch {
	case o.AsOf.IsZero():
		o.AsOf = today
	case o.AsOf.After(today):
		bad["as_of"] = "must not be after today (" + today.Format(time.DateOnly) + ")"
	}
	if !o.Since.IsZero() && o.Since.After(o.AsOf) {
		bad["since"] = "must not be after as_of (" + o.AsOf.Format(time.DateOnly) + ")"
	}
	return o, bad
}

// negotiate picks, of the offered media types (the first is the default), the one
// the Accept header values prefer: each offer takes the q of the most specific range
// that matches it (RFC 9110), the highest q wins, ties go to the order offered. No
// (or empty) header accepts the default; ok is false when nothing offered is acceptable (406).
// Malformed ranges are skipped.
func negotiate(accept []string, offers ...string) (string, bool) {
	if strings.TrimSpace(strings.Join(accept, "")) == "" {
		return offers[0], true
	}
	type mediaRange struct {
		mt string
		q  float64
	}
	var ranges []mediaRange
	for _, header := range accept {
		for _, part := range strings.Split(header, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			q := 1.0
			if v, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(v, 64); err != nil || q < 0 || q > 1 {
					continue
				}
			}
			ranges = append(ranges, mediaRange{mt, q})
		}
	}
	best, bestQ := "", 0.0
	for _, offer := range offers {
		q, spec := 0.0, -1
		for _, r := range ranges {
			if s := specificity(r.mt, offer); s > spec {
				q, spec = r.q, s
			}
		}
		if q > bestQ {
			best, bestQ = offer, q
		}
	}
	return best, best != ""
}

// specificity says how closely media range mt matches the type offer: 2 exactly, 1
// by its type's wildcard, 0 by */*, -1 not at all.
func specificity(mt, offer string) int {
	switch {
	case mt == offer:
		return 2
	case mt == "*/*":
		return 0
	case strings.HasSuffix(mt, "/*") && strings.HasPrefix(offer, strings.TrimSuffix(mt, "*")):
		return 1
	}
	return -1
}

// acceptLanguage returns the client's preferred language tag ("de-DE"), or "".
func acceptLanguage(r *http.Request) string {
	best, bestQ := "", 0.0
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			var err error
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				continue
			}
		}
		if localeRE.MatchString(tag) && q > bestQ {
			best, bestQ = tag, q
		}
	}
	return best
}
