package policy

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// Consolidate says whether the reminders of one customer that fall due in the same
// contact window (same channel, same local day of the customer) go out as one message
// from the customer's account workflow instead of one message per invoice.
//
// In a policy file it is `consolidate: off`, `consolidate: on`, or a mapping
// `consolidate: {gather: 5s}`; a file that leaves it out consolidates with the default
// gather (Parse fills it in). A Policy built in Go with a nil Consolidate sends one
// notice per invoice, as do invoices started before the field existed.
type Consolidate struct {
	// Off sends each invoice's reminders on their own (one notice per invoice, step
	// and channel).
	Off bool `json:"off,omitempty"`
	// Gather is how long the account waits after the first reminder of a window
	// before it sends, so reminders falling due together share the message. Zero:
	// DefaultGather.
	Gather Offset `json:"gather,omitzero"`
}

// DefaultGather is the account's wait for further reminders of the same window.
const DefaultGather = time.Minute

// maxGather bounds the gather delay: a reminder should not wait longer than this for
// company.
const maxGather = time.Hour

// Consolidates reports whether reminders under this policy go out through the
// customer's account (one message per customer, channel and window).
func (p *Policy) Consolidates() bool { return p.Consolidate != nil && !p.Consolidate.Off }

// GatherDelay is the account's wait for further reminders of the same window.
func (p *Policy) GatherDelay() time.Duration {
	if p.Consolidate == nil || p.Consolidate.Gather.IsZero() {
		return DefaultGather
	}
	return p.Consolidate.Gather.Duration()
}

// UnmarshalYAML accepts on/off (true/false) or a mapping with gather.
func (c *Consolidate) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Value {
		case "on", "true", "yes":
			*c = Consolidate{}
		case "off", "false", "no":
			*c = Consolidate{Off: true}
		default:
			return nodeError(n, fmt.Sprintf("%q is not on, off or a mapping with gather", n.Value))
		}
		return nil
	case yaml.MappingNode:
		*c = Consolidate{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			switch k.Value {
			case "gather":
				if err := c.Gather.UnmarshalYAML(v); err != nil {
					return err
				}
			default:
				return nodeError(k, fmt.Sprintf("unknown field %q (consolidate takes gather)", k.Value))
			}
		}
		return nil
	}
	return nodeError(n, "must be on, off or a mapping with gather")
}

// MarshalYAML writes off, or the mapping.
func (c Consolidate) MarshalYAML() (any, error) {
	if c.Off {
		return "off", nil
	}
	if c.Gather.IsZero() {
		return "on", nil
	}
	return map[string]string{"gather": c.Gather.String()}, nil
}

// validate appends the consolidate section's problems.
func (c *Consolidate) validate(add func(field, format string, args ...any)) {
	if c == nil {
		return
	}
	if d := c.Gather.Duration(); d < 0 || d > maxGather {
		add("consolidate.gather", "must be between 0 (the default, %s) and %s", DefaultGather, maxGather)
	}
}
