package templates

import (
	"strings"
	"testing"
	"time"
)

func TestEveryTemplateRendersBothChannels(t *testing.T) {
	d := Data{CustomerName: "Ada <script>", InvoiceID: "INV-1", Currency: "USD", Balance: 125000050, DueDate: "2026-12-01", DaysOverdue: 7, PaymentURL: "https://pay.example.com/INV-1"}
	for _, name := range Names() {
		e, err := RenderEmail(name, d)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, part := range []string{e.Subject, e.Text, e.HTML} {
			if part == "" {
				t.Fatalf("%s: empty part in %+v", name, e)
			}
		}
		if !strings.Contains(e.Text, "1,250,000.50 USD") || !strings.Contains(e.Text, "https://pay.example.com/INV-1") || !strings.Contains(e.Text, "STOP") {
			t.Errorf("%s text lacks amount, link or opt-out: %q", name, e.Text)
		}
		if strings.Contains(e.HTML, "<script>") {
			t.Errorf("%s html does not escape the name: %q", name, e.HTML)
		}
		sms, err := RenderSMS(name, d)
		if err != nil || !strings.Contains(sms, "Reply STOP") || !strings.Contains(sms, "INV-1") {
			t.Errorf("%s sms = %q, %v", name, sms, err)
		}
	}
	if _, err := RenderEmail("nope", d); err == nil {
		t.Error("unknown template rendered")
	}
}

func TestAmountAndDaysOverdue(t *testing.T) {
	if got := (Data{Currency: "JPY", Balance: 1234567}).Amount(); got != "1,234,567 JPY" {
		t.Errorf("JPY amount = %q", got)
	}
	if got := (Data{Currency: "USD", Balance: 5}).Amount(); got != "0.05 USD" {
		t.Errorf("small amount = %q", got)
	}
	cases := []struct {
		now  time.Time
		want int
	}{
		{time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), 0},
		{time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC), 0},
		{time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC), 1},
		{time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC), 7},
	}
	for _, c := range cases {
		if got := DaysOverdue("2026-12-01", c.now); got != c.want {
			t.Errorf("DaysOverdue(%v) = %d, want %d", c.now, got, c.want)
		}
	}
}
