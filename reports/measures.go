package reports

import "strconv"

// Measure is one KPI as the reports page and the CLI show it: its name in the API's
// JSON (docs/kpis.md), a label, and its value rendered as that JSON renders it.
type Measure struct {
	Name, Label string
	Value       func(KPI) string
}

// Measures are the KPIs in the order every table shows them. A test checks that each
// name is a JSON field of KPI and that Value matches the JSON.
var Measures = []Measure{
	{"invoices_issued", "Invoices issued", func(k KPI) string { return strconv.FormatInt(k.InvoicesIssued, 10) }},
	{"amount_issued", "Amount issued", func(k KPI) string { return k.AmountIssued.String() }},
	{"billed", "Billed (net of voids)", func(k KPI) string { return k.Billed.String() }},
	{"collected_on_issued", "Collected on issued", func(k KPI) string { return k.CollectedOnIssued.String() }},
	{"collection_rate", "Collection rate", func(k KPI) string { return FloatText(k.CollectionRate) }},
	{"written_off_on_issued", "Written off on issued", func(k KPI) string { return k.WrittenOffOnIssued.String() }},
	{"write_off_rate", "Write-off rate", func(k KPI) string { return FloatText(k.WriteOffRate) }},
	{"invoices_escalated", "Invoices escalated", func(k KPI) string { return strconv.FormatInt(k.InvoicesEscalated, 10) }},
	{"escalation_rate", "Escalation rate", func(k KPI) string { return FloatText(k.EscalationRate) }},
	{"invoices_paid", "Invoices paid in period", func(k KPI) string { return strconv.FormatInt(k.InvoicesPaid, 10) }},
	{"average_days_to_pay", "Average days to pay", func(k KPI) string { return FloatText(k.AverageDaysToPay) }},
	{"average_days_delinquent", "Average days delinquent", func(k KPI) string { return FloatText(k.AverageDaysDelinquent) }},
	{"collected", "Collected in period", func(k KPI) string { return k.Collected.String() }},
	{"written_off", "Written off in period", func(k KPI) string { return k.WrittenOff.String() }},
	{"opening_receivables", "Opening receivables", func(k KPI) string { return k.OpeningReceivables.String() }},
	{"closing_receivables", "Closing receivables", func(k KPI) string { return k.ClosingReceivables.String() }},
	{"closing_current", "Closing current", func(k KPI) string { return k.ClosingCurrent.String() }},
	{"dso", "DSO (days)", func(k KPI) string { return FloatText(k.DSO) }},
	{"cei", "CEI (%)", func(k KPI) string { return FloatText(k.CEI) }},
}

// FloatText formats a rate or an average as encoding/json does, or "–" for null.
func FloatText(v *float64) string {
	if v == nil {
		return "–"
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}
