package collection

import "github.com/dunwell/dunwell/policy"

// InCustomerOrder puts a step's channels in the customer's order of preference
// (order, most wanted first): the slots that channels of order take in the step are
// filled again in the customer's order, and every other channel (a letter, one the
// customer did not rank) keeps the place the policy gave it. With no order, or fewer
// than two ranked channels in the step, it returns the step's order. channels is not
// modified.
//
// A step of [email, sms] for a customer who wants SMS first is [sms, email]; a step of
// [letter, email, sms] is [letter, sms, email]: the customer decides between the
// messages, not whether the policy's letter comes first.
func InCustomerOrder(channels, order []policy.Channel) []policy.Channel {
	rank := func(ch policy.Channel) int {
		for i, o := range order {
			if o == ch {
				return i
			}
		}
		return -1
	}
	var ranked []policy.Channel
	for _, ch := range channels {
		if rank(ch) >= 0 {
			ranked = append(ranked, ch)
		}
	}
	out := append([]policy.Channel(nil), channels...)
	if len(ranked) < 2 {
		return out
	}
	// Stable by rank: a channel listed twice in the step keeps both of its slots.
	sorted := make([]policy.Channel, 0, len(ranked))
	for r := range order {
		for _, ch := range ranked {
			if rank(ch) == r {
				sorted = append(sorted, ch)
			}
		}
	}
	j := 0
	for i, ch := range out {
		if rank(ch) >= 0 {
			out[i] = sorted[j]
			j++
		}
	}
	return out
}
