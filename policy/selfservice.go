package policy

import "time"

// What a customer may settle on the portal without an operator. A promise to pay is
// recorded at once when its date is within SelfServicePromise.MaxLength; a payment
// plan is agreed at once when it keeps to every limit of SelfServicePlan, and
// otherwise waits for an operator, who approves or rejects it. A policy without
// self_service_plan accepts no plan at once: every plan request waits.
//
//	self_service_promise:
//	  max_length: 30d         # the promised date at most 30 days ahead
//	self_service_plan:
//	  max_installments: 3
//	  max_length: 90d         # the last installment at most 90 days ahead
//	  min_first_payment: 25%  # of the balance

// DefaultPromiseLength is how far ahead a customer may promise to pay when the policy
// says nothing.
const DefaultPromiseLength = 30 * 24 * time.Hour

// SelfServicePromise limits the promises a customer makes on the portal.
type SelfServicePromise struct {
	// MaxLength is how far ahead the promised date may be ("30d").
	MaxLength Offset `yaml:"max_length" json:"max_length"`
}

// SelfServicePlan limits the payment plans agreed on the portal without an operator.
type SelfServicePlan struct {
	// MaxInstallments is the most installments a plan may have (1-24).
	MaxInstallments int `yaml:"max_installments" json:"max_installments"`
	// MaxLength is how far ahead the last installment may fall due ("90d").
	MaxLength Offset `yaml:"max_length" json:"max_length"`
	// MinFirstPayment is the least share of the balance the first installment pays.
	MinFirstPayment Rate `yaml:"min_first_payment,omitempty" json:"min_first_payment,omitempty"`
}

// PromiseLength is how far ahead a customer may promise to pay on the portal.
func (p *Policy) PromiseLength() time.Duration {
	if p.SelfServicePromise == nil {
		return DefaultPromiseLength
	}
	return p.SelfServicePromise.MaxLength.Duration()
}

// maxSelfServiceDays bounds the self-service lengths: beyond a year a person decides.
const maxSelfServiceDays = 366

func (p *Policy) validateSelfService(add func(field, format string, args ...any)) {
	length := func(field string, o Offset) {
		if !o.InDays || o.Days < 1 || o.Days > maxSelfServiceDays {
			add(field, "must be whole days from 1d to %dd, like \"30d\"", maxSelfServiceDays)
		}
	}
	if s := p.SelfServicePromise; s != nil {
		length("self_service_promise.max_length", s.MaxLength)
	}
	if s := p.SelfServicePlan; s != nil {
		if s.MaxInstallments < 1 || s.MaxInstallments > 24 {
			add("self_service_plan.max_installments", "must be 1 to 24")
		}
		length("self_service_plan.max_length", s.MaxLength)
		if s.MinFirstPayment >= MaxRate {
			add("self_service_plan.min_first_payment", "must be below 100%% (a plan pays in more than one go)")
		}
	}
}
