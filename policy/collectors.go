package policy

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Collectors maps a customer segment ("key-accounts"), or a payment-behaviour band
// ("band:at_risk", as in the segments mapping), to the collector whose portfolio its
// customers join: the name of an API key with the operator scope. It is the
// "collectors" mapping of segments.yaml (docs/collectors.md, Portfolios).
type Collectors map[string]string

// collectorNameRE is an API key's name (ledger: key names).
var collectorNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]{0,63}$`)

// ParseCollectors decodes and checks the "collectors" mapping of a segments file;
// errors name the file, line and segment. Whether each collector is an active API
// key with the operator scope is for the ledger to say when a customer is assigned
// (keys come and go while the file stays).
func ParseCollectors(source string, data []byte) (Collectors, error) {
	doc, root, err := decodeSegmentsDoc(source, data)
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return Collectors{}, nil
	}
	var errs []FieldError
	for _, seg := range slices.Sorted(maps.Keys(doc.Collectors)) {
		f := "collectors." + seg
		name := doc.Collectors[seg]
		switch {
		case strings.TrimSpace(seg) == "" || len(seg) > 64:
			errs = append(errs, FieldError{Field: f, Problem: "a segment name is 1-64 bytes, as customer.segment in an invoice"})
		case seg == BandPrefix:
			errs = append(errs, FieldError{Field: f, Problem: "a band key names its band, like band:at_risk"})
		case !collectorNameRE.MatchString(name):
			errs = append(errs, FieldError{Field: f, Problem: fmt.Sprintf("%q is not a collector's API key name (a letter, then up to 63 letters, digits, '.', '_' or '-')", name)})
		}
	}
	if len(errs) > 0 {
		for i := range errs {
			errs[i].Line = lineOf(root, errs[i].Field)
		}
		return nil, &ValidationError{Source: source, Fields: errs}
	}
	if doc.Collectors == nil {
		doc.Collectors = Collectors{}
	}
	return doc.Collectors, nil
}

// SetCollectors installs the collectors' rules (see ParseCollectors).
func (s *Set) SetCollectors(c Collectors) { s.collectors = maps.Clone(c) }

// Collectors returns a copy of the collectors' rules.
func (s *Set) Collectors() Collectors { return maps.Clone(s.collectors) }

// CollectorFor returns the collector a customer of segment joins and the rule that
// says so ("segment:smb"), else the collector of its band (band is called only
// then, and only if a band rule exists; nil or an error skips it). ok is false when
// no rule applies.
func (s *Set) CollectorFor(segment string, band func() (string, error)) (collector, rule string, ok bool) {
	if c, found := s.collectors[segment]; found && segment != "" && !strings.HasPrefix(segment, BandPrefix) {
		return c, "segment:" + segment, true
	}
	if band == nil {
		return "", "", false
	}
	usesBands := false
	for k := range s.collectors {
		usesBands = usesBands || strings.HasPrefix(k, BandPrefix)
	}
	if !usesBands {
		return "", "", false
	}
	if b, err := band(); err == nil && b != "" {
		if c, found := s.collectors[BandPrefix+b]; found {
			return c, "band:" + b, true
		}
	}
	return "", "", false
}
