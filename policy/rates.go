package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Reference rates as data: one file per rate (policies/rates/ecb_mro.yaml), the
// operator's to maintain, never fetched at run time. A file lists every change of
// the rate with the day it took effect, and the last day it vouches for:
//
//	through: 2025-10-30
//	rates:
//	  - {date: 2024-12-18, rate: 3.15%}
//	  - {date: 2025-02-05, rate: 2.90%}
//
// A policy whose interest names the rate carries, in its snapshot, the rate of each
// half-year the file covers (Policy.ResolveRates).

// RatesDir is the directory, beside the policies, that holds the rates files.
const RatesDir = "rates"

// RateChange is one change of a reference rate: Rate applies from Date on.
type RateChange struct {
	Date time.Time // midnight UTC of the day it took effect
	Rate RefRate
}

// RateTable is one parsed rates file.
type RateTable struct {
	// Name is the file's name without extension ("ecb_mro"): what interest.reference
	// says.
	Name string
	// File is where it was read from, for errors and notes.
	File string
	// Through is the last day the file vouches for: every change up to it is listed.
	Through time.Time
	// Changes, in date order.
	Changes []RateChange
}

// day is a YYYY-MM-DD date in a rates file.
type day struct{ t time.Time }

func (d *day) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return nodeError(n, "must be a date like \"2025-07-01\"")
	}
	t, err := time.Parse(time.DateOnly, n.Value)
	if err != nil {
		return nodeError(n, fmt.Sprintf("%q is not a date like \"2025-07-01\"", n.Value))
	}
	d.t = t
	return nil
}

type rateEntry struct {
	Date *day     `yaml:"date"`
	Rate *RefRate `yaml:"rate"`
}

type ratesDoc struct {
	Through *day        `yaml:"through"`
	Rates   []rateEntry `yaml:"rates"`
}

// ParseRates decodes and checks a rates file named name (its base name without
// extension is the rate's name). Errors are a *ValidationError naming the file,
// line, field and problem: a date out of order, a rate with more than 4 decimals or
// negative, a missing through.
func ParseRates(source, name string, data []byte) (*RateTable, error) {
	t, err := parseRates(source, name, data)
	var ve *ValidationError
	if errors.As(err, &ve) {
		ve.What = "rates file"
	}
	return t, err
}

func parseRates(source, name string, data []byte) (*RateTable, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, decodeError(source, nil, err)
	}
	if len(root.Content) == 0 {
		return nil, &ValidationError{Source: source, Fields: []FieldError{{Field: "(file)",
			Problem: "is empty; a rates file needs through and rates: [{date, rate}, ...]"}}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc ratesDoc
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, decodeError(source, &root, err)
	}
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Problem: fmt.Sprintf(format, args...), Line: lineOf(&root, field)})
	}
	if !idRE.MatchString(name) {
		add("(file)", "the file name %q must be 1-63 lower-case letters, digits, '-' or '_' (it is what interest.reference says)", name)
	}
	t := &RateTable{Name: name, File: source}
	if len(doc.Rates) == 0 {
		add("rates", "must list at least one {date, rate}")
	}
	for i, r := range doc.Rates {
		f := fmt.Sprintf("rates[%d]", i)
		if r.Date == nil {
			add(f+".date", "is required (the day the rate took effect, like \"2025-06-11\")")
		}
		if r.Rate == nil {
			add(f+".rate", "is required (like \"2.15%%\")")
		}
		if r.Date == nil || r.Rate == nil {
			continue
		}
		if n := len(t.Changes); n > 0 && !r.Date.t.After(t.Changes[n-1].Date) {
			add(f+".date", "%s must come after the previous entry's %s (dates in order, each once)",
				r.Date.t.Format(time.DateOnly), t.Changes[n-1].Date.Format(time.DateOnly))
			continue
		}
		t.Changes = append(t.Changes, RateChange{Date: r.Date.t, Rate: *r.Rate})
	}
	switch {
	case doc.Through == nil:
		add("through", "is required: the last day the file vouches for (every change up to it is listed)")
	case len(t.Changes) > 0 && doc.Through.t.Before(t.Changes[len(t.Changes)-1].Date):
		add("through", "%s is before the last change (%s)", doc.Through.t.Format(time.DateOnly),
			t.Changes[len(t.Changes)-1].Date.Format(time.DateOnly))
	default:
		t.Through = doc.Through.t
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Source: source, Fields: errs}
	}
	return t, nil
}

// InForce returns the rate in force at the end of day d (the last change dated on or
// before it); false before the first change or after Through.
func (t *RateTable) InForce(d time.Time) (RefRate, bool) {
	if len(t.Changes) == 0 || d.Before(t.Changes[0].Date) || d.After(t.Through) {
		return 0, false
	}
	r := t.Changes[0].Rate
	for _, c := range t.Changes[1:] {
		if c.Date.After(d) {
			break
		}
		r = c.Rate
	}
	return r, true
}

// Halves returns the rate of every half-year the table covers, for a fixing: the
// rate in force on the half-year's first day (FixEachHalfYear), or at the close of
// the day before (FixWhenLate: 31 December, 30 June).
func (t *RateTable) Halves(f Fixing) []HalfYearRate {
	if len(t.Changes) == 0 {
		return nil
	}
	first := t.Changes[0].Date
	var out []HalfYearRate
	for h := HalfYearOf(first.Year(), first.Month()); ; h = h.Next() {
		d := h.Start(time.UTC)
		if f == FixWhenLate {
			d = d.AddDate(0, 0, -1)
		}
		if d.After(t.Through) {
			break
		}
		if r, ok := t.InForce(d); ok {
			out = append(out, HalfYearRate{Half: h, Rate: r})
		}
	}
	return out
}

// ResolveRates fills the interest's reference rates from tables (by name). A policy
// without reference interest is left alone; a reference with no table is a
// *ValidationError on interest.reference.
func (p *Policy) ResolveRates(tables map[string]*RateTable) error {
	in := p.Interest
	if !in.IsReference() {
		return nil
	}
	t, ok := tables[in.Reference]
	if !ok {
		known := slices.Sorted(maps.Keys(tables))
		have := "none"
		if len(known) > 0 {
			have = strings.Join(known, ", ")
		}
		return &ValidationError{Fields: []FieldError{{Field: "interest.reference",
			Problem: fmt.Sprintf("no rates file %s/%s.yaml (rates files: %s)", RatesDir, in.Reference, have)}}}
	}
	in.Rates = &ReferenceRates{File: t.File, Through: t.Through.Format(time.DateOnly), Halves: t.Halves(in.EffectiveFixing())}
	return nil
}
