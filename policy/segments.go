package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// SegmentsFile is the name of the file, beside the policies, that maps customer
// segments to policies. It is not a policy itself.
const SegmentsFile = "segments.yaml"

// Segments maps a customer segment ("key-accounts") to the id of the policy its
// invoices follow when they name none.
type Segments map[string]string

// segmentsDoc is the file's format: one mapping under "segments", and the
// collectors' rules under "collectors" (see ParseCollectors).
type segmentsDoc struct {
	Segments   Segments   `yaml:"segments"`
	Collectors Collectors `yaml:"collectors"`
}

// decodeSegmentsDoc decodes a segments file strictly, with its node tree for the
// lines of errors; an empty file gives a nil doc and no error.
func decodeSegmentsDoc(source string, data []byte) (*segmentsDoc, *yaml.Node, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, nil, decodeError(source, nil, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc segmentsDoc
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &root, nil
		}
		return nil, nil, decodeError(source, &root, err)
	}
	return &doc, &root, nil
}

// ParseSegments decodes and checks a segments file. Policy ids are checked against
// the policies by Set.SetSegments, which knows them.
func ParseSegments(source string, data []byte) (Segments, error) {
	doc, root, err := decodeSegmentsDoc(source, data)
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return Segments{}, nil
	}
	var errs []FieldError
	for _, seg := range doc.Segments.names() {
		f := "segments." + seg
		switch id := doc.Segments[seg]; {
		case strings.TrimSpace(seg) == "" || len(seg) > 64:
			errs = append(errs, FieldError{Field: f, Problem: "a segment name is 1-64 bytes, as customer.segment in an invoice"})
		case !idRE.MatchString(id):
			errs = append(errs, FieldError{Field: f, Problem: fmt.Sprintf("%q is not a policy id", id)})
		}
	}
	if len(errs) > 0 {
		for i := range errs {
			errs[i].Line = lineOf(root, errs[i].Field)
		}
		return nil, &ValidationError{Source: source, Fields: errs}
	}
	if doc.Segments == nil {
		doc.Segments = Segments{}
	}
	return doc.Segments, nil
}

// names lists the segments, sorted.
func (s Segments) names() []string {
	return slices.Sorted(maps.Keys(s))
}

// SetSegments installs the segment mapping; every policy it names must be in the
// set, else a *ValidationError names each bad segment.
func (s *Set) SetSegments(seg Segments) error {
	var errs []FieldError
	for _, name := range seg.names() {
		if _, ok := s.byID[seg[name]]; !ok {
			errs = append(errs, FieldError{Field: "segments." + name,
				Problem: fmt.Sprintf("unknown policy %q (known: %s)", seg[name], strings.Join(s.IDs(), ", "))})
		}
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	s.segments = seg
	return nil
}

// LoadSegments parses a segments file and installs it (see SetSegments); errors name
// the file, line and segment.
func (s *Set) LoadSegments(source string, data []byte) error {
	seg, err := ParseSegments(source, data)
	if err != nil {
		return err
	}
	coll, err := ParseCollectors(source, data)
	if err != nil {
		return err
	}
	s.collectors = coll
	err = s.SetSegments(seg)
	var ve *ValidationError
	if errors.As(err, &ve) {
		var root yaml.Node
		_ = yaml.Unmarshal(data, &root) // parsed above
		ve.Source = source
		for i := range ve.Fields {
			ve.Fields[i].Line = lineOf(&root, ve.Fields[i].Field)
		}
	}
	return err
}

// Segments returns a copy of the segment mapping.
func (s *Set) Segments() Segments {
	out := Segments{}
	for k, v := range s.segments {
		out[k] = v
	}
	return out
}

// Selection says why a policy was chosen.
type Selection string

// Reasons for a choice of policy.
const (
	SelectedExplicit Selection = "explicit" // the invoice named it
	SelectedSegment  Selection = "segment"  // the customer's segment maps to it
	SelectedDefault  Selection = "default"  // neither: the deployment's default
)

// SelectFor picks the policy for an invoice: the one it names explicitly (an unknown
// name is an error, never silently replaced), else the one its customer's segment
// maps to, else the default.
func (s *Set) SelectFor(explicit, segment string) (*Policy, Selection, error) {
	return s.SelectForCustomer(explicit, segment, nil)
}

// BandPrefix marks a segment mapping key that names a payment-behaviour band
// ("band:at_risk": strict) rather than a segment: a customer whose invoice names no
// policy and whose segment maps to none gets the policy of their band (see the
// customer view in docs/kpis.md).
const BandPrefix = "band:"

// SelectedBand: the customer's payment-behaviour band maps to the policy.
const SelectedBand Selection = "band"

// UsesBands reports whether the mapping has any band key, so callers compute a
// customer's band only when it can matter.
func (s *Set) UsesBands() bool {
	for k := range s.segments {
		if strings.HasPrefix(k, BandPrefix) {
			return true
		}
	}
	return false
}

// SelectForCustomer is SelectFor with the customer's payment-behaviour band as a
// third choice, after the segment and before the default. band is called only then
// (it reads the ledger); nil, or an error from it, skips the band.
func (s *Set) SelectForCustomer(explicit, segment string, band func() (string, error)) (*Policy, Selection, error) {
	if explicit != "" {
		p, err := s.Select(explicit)
		return p, SelectedExplicit, err
	}
	if id, ok := s.segments[segment]; ok && segment != "" && !strings.HasPrefix(segment, BandPrefix) {
		if p, ok := s.byID[id]; ok {
			return p, SelectedSegment, nil
		}
	}
	if band != nil && s.UsesBands() {
		if b, err := band(); err == nil && b != "" {
			if p, ok := s.byID[s.segments[BandPrefix+b]]; ok {
				return p, SelectedBand, nil
			}
		}
	}
	p, err := s.Select("")
	return p, SelectedDefault, err
}
