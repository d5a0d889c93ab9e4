package policy

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// nodeError reports a bad value at n as a *yaml.TypeError, so the decoder records it
// and goes on: one pass reports every bad value, not just the first. The message
// carries the line and column, which decodeError turns back into a field path.
func nodeError(n *yaml.Node, problem string) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d column %d: %s", n.Line, n.Column, problem)}}
}

var (
	typeErrorRE = regexp.MustCompile(`^line (\d+)(?: column (\d+))?: (.*)$`)
	syntaxRE    = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	unknownRE   = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	cannotRE    = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (\\S+)$")
)

// decodeError turns a YAML decoding error into a *ValidationError naming the file,
// line, field and problem. root is the document as a node tree (nil when the YAML
// itself did not parse).
func decodeError(source string, root *yaml.Node, err error) error {
	ve := &ValidationError{Source: source}
	var te *yaml.TypeError
	switch {
	case errors.Is(err, io.EOF):
		ve.Fields = append(ve.Fields, FieldError{Field: "(file)", Problem: "is empty; a policy needs at least id, version and steps"})
	case root != nil && len(root.Content) > 0 && root.Content[0].Kind != yaml.MappingNode:
		ve.Fields = append(ve.Fields, FieldError{Field: "(document)", Line: root.Content[0].Line,
			Problem: "must be a mapping of fields (id, version, steps, ...), not " + describeNode(kindTag(root.Content[0].Kind), root.Content[0].Value)})
	case errors.As(err, &te):
		for _, msg := range te.Errors {
			m := typeErrorRE.FindStringSubmatch(msg)
			if m == nil {
				ve.Fields = append(ve.Fields, FieldError{Field: "(file)", Problem: msg})
				continue
			}
			line, _ := strconv.Atoi(m[1])
			col, _ := strconv.Atoi(m[2])
			field, problem := fieldAt(root, line, col), m[3]
			if u := unknownRE.FindStringSubmatch(problem); u != nil {
				problem = "unknown field (misspelt? every field is listed in policies/README.md)"
				if field == "" || !strings.HasSuffix(field, u[1]) {
					field = joinField(field, u[1])
				}
			} else if c := cannotRE.FindStringSubmatch(problem); c != nil {
				problem = fmt.Sprintf("%s is not %s", describeNode(c[1], c[2]), describeType(c[3]))
			}
			if field == "" {
				field = "(document)"
			}
			ve.Fields = append(ve.Fields, FieldError{Field: field, Problem: problem, Line: line})
		}
	default:
		msg := err.Error()
		line := 0
		if m := syntaxRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		ve.Fields = append(ve.Fields, FieldError{Field: "(yaml)", Problem: strings.TrimPrefix(msg, "yaml: "), Line: line})
	}
	sort.SliceStable(ve.Fields, func(i, j int) bool { return ve.Fields[i].Line < ve.Fields[j].Line })
	return ve
}

func kindTag(k yaml.Kind) string {
	switch k {
	case yaml.SequenceNode:
		return "seq"
	case yaml.MappingNode:
		return "map"
	}
	return "str"
}

func joinField(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func describeNode(tag, value string) string {
	switch tag {
	case "seq":
		return "a list"
	case "map":
		return "a mapping"
	}
	if value == "" {
		return "an empty value"
	}
	return strconv.Quote(value)
}

func describeType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"):
		return "a whole number"
	case goType == "bool":
		return "true or false"
	case goType == "string", strings.HasPrefix(goType, "policy.") && !strings.Contains(goType, "Policy"):
		return "a single value"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	default:
		return "a mapping of fields"
	}
}

// fieldAt returns the field path ("steps[1].offset") of the deepest key or list item
// whose key or value sits at line (and column, when col > 0); "" when none does.
func fieldAt(root *yaml.Node, line, col int) string {
	if root == nil {
		return ""
	}
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	best, bestDepth := "", -1
	var walk func(n *yaml.Node, path string, depth int)
	at := func(x *yaml.Node) bool { return x.Line == line && (col == 0 || x.Column == col) }
	walk = func(n *yaml.Node, path string, depth int) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := joinField(path, k.Value)
				if (at(k) || at(v)) && depth > bestDepth {
					best, bestDepth = p, depth
				}
				walk(v, p, depth+1)
			}
		case yaml.SequenceNode:
			for i, item := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if at(item) && depth > bestDepth {
					best, bestDepth = p, depth
				}
				walk(item, p, depth+1)
			}
		}
	}
	walk(n, "", 0)
	return best
}

// withSemanticErrors adds, to the decoding problems of a document whose values
// partly decoded, the rule violations of what did decode, except those about a field
// that already failed to decode (or a parent or child of it): one run of the
// validator then reports every problem of the file.
func withSemanticErrors(err error, root *yaml.Node, p *Policy) error {
	ve, ok := err.(*ValidationError)
	if !ok || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return err
	}
	var more *ValidationError
	if !errors.As(p.Validate(), &more) {
		return err
	}
	related := func(a, b string) bool {
		return a == b || strings.HasPrefix(a, b+".") || strings.HasPrefix(a, b+"[") ||
			strings.HasPrefix(b, a+".") || strings.HasPrefix(b, a+"[")
	}
	for _, f := range more.Fields {
		dup := false
		for _, d := range ve.Fields {
			if related(f.Field, d.Field) || d.Field == "(file)" || d.Field == "(document)" {
				dup = true
				break
			}
		}
		if !dup {
			f.Line = lineOf(root, f.Field)
			ve.Fields = append(ve.Fields, f)
		}
	}
	sort.SliceStable(ve.Fields, func(i, j int) bool { return ve.Fields[i].Line < ve.Fields[j].Line })
	return ve
}
