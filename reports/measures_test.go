package reports

import (
	"encoding/json"
	"fmt"
	"testing"
)

// Every measure names a JSON field of KPI and renders the value that field carries.
func TestMeasuresMatchTheKPIJSON(t *testing.T) {
	rate, days := 0.875, 12.5
	k := KPI{
		Currency: "USD", InvoicesIssued: 7, AmountIssued: Money{Minor: 125000, Currency: "USD"},
		Billed: Money{Minor: 120000, Currency: "USD"}, CollectedOnIssued: Money{Minor: 100000, Currency: "USD"},
		WrittenOffOnIssued: Money{Minor: 500, Currency: "USD"}, CollectionRate: &rate, InvoicesEscalated: 1,
		InvoicesPaid: 5, AverageDaysToPay: &days, Collected: Money{Minor: 99, Currency: "USD"},
		WrittenOff: Money{Minor: 1, Currency: "USD"}, OpeningReceivables: Money{Minor: 2, Currency: "USD"},
		ClosingReceivables: Money{Minor: 3, Currency: "USD"}, ClosingCurrent: Money{Minor: 4, Currency: "USD"}, DSO: &days,
	}
	data, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range Measures {
		if seen[m.Name] {
			t.Errorf("%s is listed twice", m.Name)
		}
		seen[m.Name] = true
		v, ok := fields[m.Name]
		if !ok {
			t.Errorf("%s is not a JSON field of KPI", m.Name)
			continue
		}
		want := "–"
		if v != nil {
			want = fmt.Sprint(v)
		}
		if got := m.Value(k); got != want {
			t.Errorf("%s renders %q, the JSON has %q", m.Name, got, want)
		}
	}
}
