// Package policies ships Dunwell's built-in dunning policy files, embedded so the
// worker and starter work without a policy directory.
package policies

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/templates"
)

//go:embed *.yaml
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
	var ps []*policy.Policy
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		data, err := fs.ReadFile(fsys, filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading policy %s: %w", e.Name(), err)
		}
		p, err := policy.Parse(e.Name(), data)
		if err != nil {
			return nil, err
		}
		for i, st := range p.Steps {
			if !templates.Known(st.Template) {
				return nil, fmt.Errorf("%s: invalid policy: steps[%d].template: unknown template %q (known: %s)",
					e.Name(), i, st.Template, strings.Join(templates.Names(), ", "))
			}
		}
		ps = append(ps, p)
	}
	return policy.NewSet(defaultID, ps...)
}
