package collection

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/policy"
)

func TestInCustomerOrder(t *testing.T) {
	const e, s, l = policy.Email, policy.SMS, policy.Letter
	smsFirst, emailFirst := []policy.Channel{s, e}, []policy.Channel{e, s}
	for _, tc := range []struct {
		name        string
		step, order []policy.Channel
		want        []policy.Channel
	}{
		{"no preference keeps the step's order", []policy.Channel{e, s}, nil, []policy.Channel{e, s}},
		{"SMS first at an email-then-SMS step", []policy.Channel{e, s}, smsFirst, []policy.Channel{s, e}},
		{"email first at an SMS-then-email step", []policy.Channel{s, e}, emailFirst, []policy.Channel{e, s}},
		{"the order the step has already", []policy.Channel{e, s}, emailFirst, []policy.Channel{e, s}},
		{"one channel: nothing to choose", []policy.Channel{e}, smsFirst, []policy.Channel{e}},
		{"a step without the preferred channel", []policy.Channel{e, l}, smsFirst, []policy.Channel{e, l}},
		{"a letter keeps its place in front", []policy.Channel{l, e, s}, smsFirst, []policy.Channel{l, s, e}},
		{"a letter keeps its place between", []policy.Channel{e, l, s}, smsFirst, []policy.Channel{s, l, e}},
		{"a letter keeps its place behind", []policy.Channel{e, s, l}, smsFirst, []policy.Channel{s, e, l}},
		{"only the first channel ranked", []policy.Channel{e, s}, []policy.Channel{s}, []policy.Channel{e, s}},
		{"a partial order ranks what it names", []policy.Channel{e, s, l}, []policy.Channel{s, l}, []policy.Channel{e, s, l}},
		{"empty step", nil, smsFirst, []policy.Channel{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			step := append([]policy.Channel(nil), tc.step...)
			got := InCustomerOrder(tc.step, tc.order)
			if len(tc.want) == 0 {
				require.Empty(t, got)
			} else {
				require.Equal(t, tc.want, got)
			}
			require.Equal(t, step, tc.step, "the step's own list is not changed")
			require.ElementsMatch(t, tc.step, got, "the same channels, only their order changes")
		})
	}
}
