package reports

import "strconv"

// Measure is one KPI as the reports page and the CLI show it: its name in the API's
// JSON (docs/kpis.md), a label, and how to read its value from a KPI.
type Measure struct {
	Name, Label string
	get         func(KPI) any // int64, Money or *float64
	// percent: a fraction shown as a percentage; else a *float64 is days or an index.
	percent bool
}

// Measures are the KPIs in the order every table shows them. A test checks that each
// name is a JSON field of KPI and that Value matches the JSON.
var Measures = []Measure{
	{"invoices_issued", "Invoices issued", func(k KPI) any { return k.InvoicesIssued }, false},
	{"amount_issued", "Amount issued", func(k KPI) any { return k.AmountIssued }, false},
	{"billed", "Billed (net of voids)", func(k KPI) any { return k.Billed }, false},
	{"collected_on_issued", "Collected on issued", func(k KPI) any { return k.CollectedOnIssued }, false},
	{"collection_rate", "Collection rate", func(k KPI) any { return k.CollectionRate }, true},
	{"written_off_on_issued", "Written off on issued", func(k KPI) any { return k.WrittenOffOnIssued }, false},
	{"write_off_rate", "Write-off rate", func(k KPI) any { return k.WriteOffRate }, true},
	{"invoices_escalated", "Invoices escalated", func(k KPI) any { return k.InvoicesEscalated }, false},
	{"escalation_rate", "Escalation rate", func(k KPI) any { return k.EscalationRate }, true},
	{"invoices_paid", "Invoices paid in period", func(k KPI) any { return k.InvoicesPaid }, false},
	{"average_days_to_pay", "Average days to pay", func(k KPI) any { return k.AverageDaysToPay }, false},
	{"average_days_delinquent", "Average days delinquent", func(k KPI) any { return k.AverageDaysDelinquent }, false},
	{"collected", "Collected in period", func(k KPI) any { return k.Collected }, false},
	{"written_off", "Written off in period", func(k KPI) any { return k.WrittenOff }, false},
	{"opening_receivables", "Opening receivables", func(k KPI) any { return k.OpeningReceivables }, false},
	{"closing_receivables", "Closing receivables", func(k KPI) any { return k.ClosingReceivables }, false},
	{"closing_current", "Closing current", func(k KPI) any { return k.ClosingCurrent }, false},
	{"dso", "DSO (days)", func(k KPI) any { return k.DSO }, false},
	{"cei", "CEI (%)", func(k KPI) any { return k.CEI }, false},
}

// Value renders the measure of k as the API's JSON carries it ("1250.00", 0.875, "–"
// for null).
func (m Measure) Value(k KPI) string {
	switch v := m.get(k).(type) {
	case int64:
		return strconv.FormatInt(v, 10)
	case Money:
		return v.String()
	case *float64:
		return FloatText(v)
	}
	return ""
}

// Human renders the measure of k for people in f's language: grouped digits, money
// with its currency, rates as percentages.
func (m Measure) Human(f Format, k KPI) string {
	switch v := m.get(k).(type) {
	case int64:
		return f.Count(v)
	case Money:
		return f.Money(v)
	case *float64:
		if m.percent {
			return f.Percent(v)
		}
		return f.Number(v, 2)
	}
	return ""
}

// FloatText formats a rate or an average as encoding/json does, or "–" for null.
func FloatText(v *float64) string {
	if v == nil {
		return "–"
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}
