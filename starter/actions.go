package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/dunwell/dunwell/api"
)

// Operator actions: `starter <action> INVOICE_ID [flags]`, each one POST to the
// invoice's action route with the same JSON body the HTTP API documents.

// installmentsFlag collects repeated -installment DATE=AMOUNT flags.
type installmentsFlag []api.InstallmentRequest

func (f *installmentsFlag) String() string { return fmt.Sprint(*f) }

func (f *installmentsFlag) Set(v string) error {
	date, amount, ok := strings.Cut(v, "=")
	if !ok || date == "" || amount == "" {
		return fmt.Errorf("want DATE=AMOUNT like 2026-12-31=250.00, got %q", v)
	}
	*f = append(*f, api.InstallmentRequest{DueDate: date, Amount: amount})
	return nil
}

// actionUsage is the usage line of each action command.
var actionUsage = map[string]string{
	"dispute":         "starter dispute INVOICE_ID -reason TEXT [-id DISPUTE_ID] [-resolve-by DATE]",
	"resolve-dispute": "starter resolve-dispute INVOICE_ID -outcome resolved|upheld [-adjust AMOUNT | -cancel] [-reason TEXT] [-id DISPUTE_ID]",
	"promise":         "starter promise INVOICE_ID -date DATE|RFC3339 -amount AMOUNT [-reason TEXT]",
	"plan":            "starter plan INVOICE_ID -installment DATE=AMOUNT [-installment ...] [-grace DAYS] [-reason TEXT]",
	"pause":           "starter pause INVOICE_ID -reason TEXT [-until DATE|RFC3339]",
	"resume":          "starter resume INVOICE_ID [-reason TEXT]",
	"approve":         "starter approve INVOICE_ID [-reason TEXT]",
	"reject":          "starter reject INVOICE_ID [-reason TEXT]",
	"cancel":          "starter cancel INVOICE_ID -reason TEXT",
	"write-off":       "starter write-off INVOICE_ID -reason TEXT",
	"refund":          "starter refund INVOICE_ID -refund-id R -amount AMOUNT -currency CUR [-kind refund|chargeback] [-payment-id P] [-reason TEXT]",
	"adjust":          "starter adjust INVOICE_ID -adjustment-id A -kind adjustment|credit_note -amount AMOUNT -currency CUR -reason TEXT",
	"change-policy":   "starter change-policy INVOICE_ID -policy ID -reason TEXT",
	"due-date":        "starter due-date INVOICE_ID -date YYYY-MM-DD -reason TEXT",
}

// actionPath maps each command to its route under /v1/invoices/{id}/.
var actionPath = map[string]string{
	"dispute": "dispute", "resolve-dispute": "dispute/resolve", "promise": "promise", "plan": "plan",
	"pause": "pause", "resume": "resume", "approve": "approval/approve", "reject": "approval/reject",
	"cancel": "cancel", "write-off": "write-off", "refund": "refunds", "adjust": "adjustments",
	"change-policy": "policy", "due-date": "due-date",
}

// operatorAction runs one action command.
func operatorAction(ctx context.Context, name string, args []string, out io.Writer) error {
	use := usageError{"usage: " + actionUsage[name]}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return use
	}
	invoice, args := args[0], args[1:]
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	reason := fs.String("reason", "", "why (kept in the ledger and the audit trail)")
	var body any
	var reasonDst *string // where the request carries -reason (every one has it)
	var required []string // flags that must be set
	switch name {
	case "dispute":
		req := &api.DisputeRequest{}
		reasonDst = &req.Reason
		fs.StringVar(&req.DisputeID, "id", "", "dispute id (default: named after the current time)")
		fs.StringVar(&req.ResolveBy, "resolve-by", "", "date by which it should be resolved")
		body, required = req, []string{"reason"}
	case "resolve-dispute":
		req := &api.ResolveDisputeRequest{}
		reasonDst = &req.Reason
		fs.StringVar(&req.DisputeID, "id", "", "the open dispute's id (default: the open one)")
		fs.StringVar(&req.Outcome, "outcome", "", "resolved (the debt stands) or upheld")
		fs.StringVar(&req.AdjustAmount, "adjust", "", "upheld: lower the amount due by this much")
		fs.BoolVar(&req.Cancel, "cancel", false, "upheld: void the invoice")
		body, required = req, []string{"outcome"}
	case "promise":
		req := &api.PromiseRequest{}
		reasonDst = &req.Reason
		fs.StringVar(&req.Date, "date", "", "pay-by date (YYYY-MM-DD) or RFC 3339 time")
		fs.StringVar(&req.Amount, "amount", "", "promised amount in major units")
		body, required = req, []string{"date", "amount"}
	case "plan":
		req := &api.PlanRequest{}
		reasonDst = &req.Reason
		fs.Var((*installmentsFlag)(&req.Installments), "installment", "DATE=AMOUNT, repeated in date order")
		fs.IntVar(&req.GraceDays, "grace", 0, "days after an installment's date before a shortfall breaks the plan")
		body, required = req, []string{"installment"}
	case "pause":
		req := &api.PauseRequest{}
		reasonDst = &req.Reason
		fs.StringVar(&req.Until, "until", "", "resume by itself on this date (YYYY-MM-DD) or at this RFC 3339 time")
		body, required = req, []string{"reason"}
	case "resume", "approve", "reject", "cancel", "write-off":
		req := &api.ReasonRequest{}
		body, reasonDst = req, &req.Reason
		if name == "cancel" || name == "write-off" {
			required = []string{"reason"}
		}
	case "refund":
		req := &api.RefundRequest{}
		reasonDst = &req.Reason
		fs.StringVar(&req.RefundID, "refund-id", "", "the provider's refund or chargeback id")
		fs.StringVar(&req.Kind, "kind", "refund", "refund or chargeback")
		fs.StringVar(&req.PaymentID, "payment-id", "", "the payment refunded")
		fs.StringVar(&req.Amount, "amount", "", "amount in major units")
		fs.StringVar(&req.Currency, "currency", "", "ISO 4217 currency")
		body, required = req, []string{"refund-id", "amount", "currency"}
	case "adjust":
		req := &api.AdjustmentRequest{}
		reasonDst = &req.Reason
		fs.StringVar(&req.AdjustmentID, "adjustment-id", "", "your id for the adjustment")
		fs.StringVar(&req.Kind, "kind", "", "adjustment (amount may be negative) or credit_note")
		fs.StringVar(&req.Amount, "amount", "", "amount in major units")
		fs.StringVar(&req.Currency, "currency", "", "ISO 4217 currency")
		body, required = req, []string{"adjustment-id", "kind", "amount", "currency", "reason"}
	case "due-date":
		req := &api.DueDateRequest{}
		reasonDst = &req.Reason
		fs.StringVar(&req.DueDate, "date", "", "the new due date")
		body, required = req, []string{"date", "reason"}
	case "change-policy":
		req := &api.ChangePolicyRequest{}
		reasonDst = &req.Reason
		fs.StringVar(&req.Policy, "policy", "", "the policy id to move to (its current version)")
		body, required = req, []string{"policy", "reason"}
	default:
		return use
	}
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error() + "\n" + use.msg}
	}
	if fs.NArg() > 0 {
		return use
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, f := range required {
		if !set[f] {
			return usageError{fmt.Sprintf("-%s is required\n%s", f, use.msg)}
		}
	}
	*reasonDst = *reason
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encoding the request: %w", err)
	}
	return callAPI(ctx, http.MethodPost, "/v1/invoices/"+url.PathEscape(invoice)+"/"+actionPath[name], data, out)
}
