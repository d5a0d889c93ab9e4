package bench

import (
	"fmt"
	"time"

	"github.com/dunwell/dunwell/policy"
)

// The compressed policies the benchmark issues invoices under. All count from the
// issue instant (anchor "issued") with exact offsets.
const (
	// policyFlow: email at Reminder1, SMS (else email) at Reminder2, agency after an hour.
	policyFlow = "bench-flow"
	// policyEscalate: like policyFlow but escalates to the agency shortly after Reminder2.
	policyEscalate = "bench-escalate"
	// policySpike: one email a second after issue (the spike sets issued_at so that
	// every invoice is due at the same instant), agency after an hour. It
	// consolidates: the reminders of one customer go out as one message (spikeGather).
	policySpike = "bench-spike"
	// policySleep: nothing happens for an hour: open invoices asleep on a timer.
	policySleep = "bench-sleep"
)

// spikeGather is the policy's gather delay: a spike customer's account sends its one
// message no sooner than this after the first reminder arrives. It need not cover how
// far apart the customer's five workflows wake on a loaded server: the account waits
// for the invoices it knows are due and have not arrived (account.Due).
const spikeGather = time.Second

// spikeInvoicesPerCustomer: the spike issues N invoices over N/5 customers.
const spikeInvoicesPerCustomer = 5

// escalateAfter is how long after Reminder2 the escalation scenario escalates.
const escalateAfter = 2 * time.Second

func exact(d time.Duration) policy.Offset { return policy.Offset{Exact: d} }

// benchPolicies builds the policy set the benchmark's API serves.
func benchPolicies(cfg Config) (*policy.Set, error) {
	two := func(id string, esc time.Duration) *policy.Policy {
		return &policy.Policy{
			ID: id, Version: 1, Anchor: policy.AnchorIssued, Description: "benchmark: compressed cycle",
			Steps: []policy.Step{
				{Name: "first-reminder", Offset: exact(cfg.Reminder1), Channels: []policy.Channel{policy.Email}, Template: "overdue"},
				{Name: "second-reminder", Offset: exact(cfg.Reminder2), Channels: []policy.Channel{policy.SMS, policy.Email}, Template: "overdue_firm"},
			},
			Escalation: &policy.Escalation{After: exact(esc), To: policy.ToAgency},
		}
	}
	one := func(id string, step, esc time.Duration) *policy.Policy {
		return &policy.Policy{
			ID: id, Version: 1, Anchor: policy.AnchorIssued, Description: "benchmark: one reminder",
			Steps:      []policy.Step{{Name: "reminder", Offset: exact(step), Channels: []policy.Channel{policy.Email}, Template: "overdue"}},
			Escalation: &policy.Escalation{After: exact(esc), To: policy.ToAgency},
		}
	}
	spike := one(policySpike, time.Second, time.Hour)
	spike.Consolidate = &policy.Consolidate{Gather: exact(spikeGather)}
	ps := []*policy.Policy{
		two(policyFlow, time.Hour),
		two(policyEscalate, cfg.Reminder2+escalateAfter),
		spike,
		one(policySleep, time.Hour, 2*time.Hour),
	}
	for _, p := range ps {
		// Any hour of any day: the default contact hours (08:00-21:00 in the customer's
		// zone, UTC here) deferred every reminder of a run started after 21:00 UTC to
		// the next morning, and the run waited for payments that never came.
		p.Contact = &policy.Contact{Hours: "00:00-24:00"}
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("benchmark policy %s: %w", p.ID, err)
		}
	}
	return policy.NewSet(policyFlow, ps...)
}
