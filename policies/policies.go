// Package policies ships Dunwell's built-in dunning policy files, embedded so the
// worker and starter work without a policy directory.
package policies

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/templates"
)

//go:embed *.yaml rates/*.yaml
var shipped embed.FS

// DefaultID is the policy used when neither the invoice nor the configuration names one.
const DefaultID = "standard"

// Shipped loads the embedded policies.
func Shipped() (*policy.Set, error) {
	return load(shipped, ".", DefaultID)
}

// Load reads every *.yaml / *.yml / *.json file of dir (or the shipped ones when dir
// is empty) and returns them as a set with defaultID as the default.
func Load(dir, defaultID string) (*policy.Set, error) {
	if defaultID == "" {
		defaultID = DefaultID
	}
	if dir == "" {
		return load(shipped, ".", defaultID)
	}
	return load(os.DirFS(dir), ".", defaultID)
}

func load(fsys fs.FS, dir, defaultID string) (*policy.Set, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("reading policies: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	rates, err := loadRates(fsys, filepath.Join(dir, policy.RatesDir))
	if err != nil {
		return nil, err
	}
	var ps []*policy.Policy
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".yaml" && ext != ".yml" && ext != ".json") || e.Name() == policy.SegmentsFile ||
			e.Name() == policy.StatementsFile {
			continue
		}
		data, err := fs.ReadFile(fsys, filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading policy %s: %w", e.Name(), err)
		}
		p, err := ParseFile(e.Name(), data, rates)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	set, err := policy.NewSet(defaultID, ps...)
	if err != nil {
		return nil, err
	}
	data, err := fs.ReadFile(fsys, filepath.Join(dir, policy.SegmentsFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return set, nil
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", policy.SegmentsFile, err)
	}
	if err := set.LoadSegments(policy.SegmentsFile, data); err != nil {
		return nil, err
	}
	return set, nil
}

// ParseFile parses and validates one policy file, including that every step names a
// template Dunwell has and that a reference rate names one of rates (see LoadRates),
// whose half-year rates it then carries. Errors name the file, line, field and
// problem.
func ParseFile(name string, data []byte, rates map[string]*policy.RateTable) (*policy.Policy, error) {
	p, err := policy.Parse(name, data)
	if err != nil {
		return nil, err
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root) // it parsed above
	ve := &policy.ValidationError{Source: name}
	var rerr *policy.ValidationError
	if errors.As(p.ResolveRates(rates), &rerr) {
		for _, f := range rerr.Fields {
			f.Line = policy.LineOf(&root, f.Field)
			ve.Fields = append(ve.Fields, f)
		}
	}
	for i, st := range p.Steps {
		if !templates.Known(st.Template) {
			f := fmt.Sprintf("steps[%d].template", i)
			ve.Fields = append(ve.Fields, policy.FieldError{Field: f, Line: policy.LineOf(&root, f),
				Problem: fmt.Sprintf("unknown template %q (known: %s)", st.Template, strings.Join(templates.Names(), ", "))})
		}
	}
	if len(ve.Fields) > 0 {
		return nil, ve
	}
	return p, nil
}

// LoadRates reads the rates files (*.yaml) of dir/rates, or the shipped ones when dir
// is empty, by name ("ecb_mro"). A directory without rates/ has none. Errors name the
// file, line, field and problem.
func LoadRates(dir string) (map[string]*policy.RateTable, error) {
	if dir == "" {
		return loadRates(shipped, policy.RatesDir)
	}
	tables, err := loadRates(os.DirFS(dir), policy.RatesDir)
	var ve *policy.ValidationError
	if errors.As(err, &ve) {
		ve.Source = filepath.Join(dir, ve.Source)
	}
	return tables, err
}

func loadRates(fsys fs.FS, dir string) (map[string]*policy.RateTable, error) {
	tables := map[string]*policy.RateTable{}
	entries, err := fs.ReadDir(fsys, dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return tables, nil
	case err != nil:
		return nil, fmt.Errorf("reading rates: %w", err)
	}
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := fs.ReadFile(fsys, path)
		if err != nil {
			return nil, fmt.Errorf("reading rates %s: %w", path, err)
		}
		t, err := policy.ParseRates(path, strings.TrimSuffix(e.Name(), filepath.Ext(e.Name())), data)
		if err != nil {
			return nil, err
		}
		if prev, dup := tables[t.Name]; dup {
			return nil, fmt.Errorf("%s: rate %q is also defined by %s", path, t.Name, prev.File)
		}
		tables[t.Name] = t
	}
	return tables, nil
}

// StatementSchedules reads statements.yaml of dir (or the shipped one when dir is
// empty): when customers are sent their statements. A directory without the file has
// no schedules. Errors name the file, line, field and problem.
func StatementSchedules(dir string) ([]policy.StatementSchedule, error) {
	fsys, source := fs.FS(shipped), policy.StatementsFile
	if dir != "" {
		fsys, source = os.DirFS(dir), filepath.Join(dir, policy.StatementsFile)
	}
	data, err := fs.ReadFile(fsys, policy.StatementsFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", source, err)
	}
	return policy.ParseStatementSchedules(source, data)
}
