package templates

import (
	"strings"
	"testing"
	"time"
)

func sample(locale string) Data {
	return Data{CustomerName: "Ada <script>", InvoiceID: "INV-1", Currency: "USD", Balance: 125000050, DueDate: "2026-12-01",
		DaysOverdue: 7, PaymentURL: "https://pay.example.com/INV-1", Locale: locale}
}

func TestEveryTemplateRendersEveryLanguageAndChannel(t *testing.T) {
	optOutEmail := map[string]string{"en": "unsubscribe", "de": "Abmeldelink", "ja": "配信停止"}
	optOutSMS := map[string]string{"en": "Reply STOP", "de": "STOP zum Abmelden", "ja": "STOPと返信"}
	locales := map[string]string{"en": "en-US", "de": "de-DE", "ja": "ja-JP"}
	if got := strings.Join(Languages(), ","); got != "de,en,ja" {
		t.Fatalf("languages = %s", got)
	}
	for lang, locale := range locales {
		for _, name := range Names() {
			d := sample(locale)
			e, err := RenderEmail(name, d)
			if err != nil {
				t.Fatalf("%s %s: %v", locale, name, err)
			}
			for _, part := range []string{e.Subject, e.Text, e.HTML} {
				if part == "" || strings.Contains(part, "<no value>") {
					t.Fatalf("%s %s: bad part in %+v", locale, name, e)
				}
			}
			for _, want := range []string{d.Amount(), "https://pay.example.com/INV-1", optOutEmail[lang], "INV-1"} {
				if !strings.Contains(e.Text, want) || !strings.Contains(e.HTML, htmlEscape(want)) {
					t.Errorf("%s %s: email lacks %q:\n%s\n%s", locale, name, want, e.Text, e.HTML)
				}
			}
			if strings.Contains(e.HTML, "<script>") || !strings.Contains(e.HTML, "Ada &lt;script&gt;") {
				t.Errorf("%s %s: html does not escape the name: %q", locale, name, e.HTML)
			}
			sms, err := RenderSMS(name, d)
			if err != nil || !strings.Contains(sms, optOutSMS[lang]) || !strings.Contains(sms, "INV-1") ||
				!strings.Contains(sms, "https://pay.example.com/INV-1") || strings.Contains(sms, "\n") {
				t.Errorf("%s %s sms = %q, %v", locale, name, sms, err)
			}
			if lang != "ja" {
				if info := MeasureSMS(sms); info.MultiSegment() || info.Encoding != EncodingGSM7 {
					t.Errorf("%s %s sms is %+v, want one GSM-7 segment: %q", locale, name, info, sms)
				}
			}
		}
	}
	if _, err := RenderEmail("nope", sample("")); err == nil {
		t.Error("unknown template rendered")
	}
	if _, err := RenderSMS("nope", sample("")); err == nil {
		t.Error("unknown template rendered")
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func TestLocalizedTexts(t *testing.T) {
	cases := []struct {
		locale, currency string
		balance          int64
		wantAmount       string
		wantSubject      string
		wantSMS          string
	}{
		{"en-US", "USD", 125000, "$1,250.00", "Invoice INV-1 is overdue",
			"Invoice INV-1 for $1,250.00 is 7 days overdue. Pay: https://pay.example.com/INV-1 Reply STOP to opt out."},
		{"de-DE", "EUR", 125000, "1.250,00\u00a0€", "Rechnung INV-1 ist überfällig",
			"Rechnung INV-1 über 1.250,00 € ist seit 7 Tagen überfällig. Zahlen: https://pay.example.com/INV-1 STOP zum Abmelden."},
		{"ja-JP", "JPY", 125000, "￥125,000", "請求書 INV-1 のお支払い期日を過ぎています",
			"請求書INV-1（￥125,000）は期日から7日経過しています。お支払い: https://pay.example.com/INV-1 停止はSTOPと返信"},
		{"", "USD", 125000, "1,250.00 USD", "Invoice INV-1 is overdue", ""},
		{"fr-FR", "USD", 125000, "1\u202f250,00 USD", "Invoice INV-1 is overdue", ""}, // no French texts: English, French numbers
	}
	for _, c := range cases {
		d := sample(c.locale)
		d.Currency, d.Balance = c.currency, c.balance
		if got := d.Amount(); got != c.wantAmount {
			t.Errorf("%s amount = %q, want %q", c.locale, got, c.wantAmount)
		}
		e, err := RenderEmail("overdue", d)
		if err != nil || e.Subject != c.wantSubject {
			t.Errorf("%s subject = %q, %v", c.locale, e.Subject, err)
		}
		if c.wantSMS != "" {
			if sms, _ := RenderSMS("overdue", d); sms != c.wantSMS {
				t.Errorf("%s sms =\n%q, want\n%q", c.locale, sms, c.wantSMS)
			}
		}
	}
	if got := FormatDate("2026-12-01", "de-DE"); got != "1. Dezember 2026" {
		t.Errorf("de date = %q", got)
	}
	if got := FormatDate("2026-12-01", "en-GB"); got != "1 December 2026" {
		t.Errorf("en-GB date = %q", got)
	}
	if got := FormatDate("2026-12-01", "ja-JP"); got != "2026年12月1日" {
		t.Errorf("ja date = %q", got)
	}
	if got := FormatDate("2026-12-01", "en-US"); got != "December 1, 2026" {
		t.Errorf("en-US date = %q", got)
	}
	if got := FormatShortDate("2026-12-01", "de-DE"); got != "01.12.2026" {
		t.Errorf("de short date = %q", got)
	}
	if got := FormatAmount(-5, "USD", "en-US"); got != "-$0.05" {
		t.Errorf("negative = %q", got)
	}
	if got := FormatAmount(1234567, "KWD", "en-US"); got != "1,234.567 KWD" {
		t.Errorf("KWD = %q", got)
	}
	if got := FormatAmount(1234567, "EUR", "en-US"); got != "12,345.67 EUR" {
		t.Errorf("EUR in en-US = %q", got)
	}
}

func TestMeasureSMS(t *testing.T) {
	cases := []struct {
		body string
		want SMSInfo
	}{
		{"", SMSInfo{EncodingGSM7, 0, 0}},
		{strings.Repeat("a", 160), SMSInfo{EncodingGSM7, 160, 1}},
		{strings.Repeat("a", 161), SMSInfo{EncodingGSM7, 161, 2}},
		{strings.Repeat("a", 306), SMSInfo{EncodingGSM7, 306, 2}},
		{strings.Repeat("a", 307), SMSInfo{EncodingGSM7, 307, 3}},
		{strings.Repeat("€", 80), SMSInfo{EncodingGSM7, 160, 1}}, // extension characters take two septets
		{strings.Repeat("€", 81), SMSInfo{EncodingGSM7, 162, 2}},
		{strings.Repeat("日", 70), SMSInfo{EncodingUCS2, 70, 1}},
		{strings.Repeat("日", 71), SMSInfo{EncodingUCS2, 71, 2}},
		{strings.Repeat("a", 134) + "😀", SMSInfo{EncodingUCS2, 136, 3}}, // an emoji is two UTF-16 units
	}
	for _, c := range cases {
		if got := MeasureSMS(c.body); got != c.want {
			t.Errorf("MeasureSMS(%d runes %q...) = %+v, want %+v", len([]rune(c.body)), c.body[:min(len(c.body), 4)], got, c.want)
		}
	}
	if !MeasureSMS(strings.Repeat("a", 161)).MultiSegment() || MeasureSMS("hi").MultiSegment() {
		t.Error("MultiSegment")
	}
}

func TestDaysOverdue(t *testing.T) {
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

func TestSingleInvoiceMessagesHaveTheVoice(t *testing.T) {
	biz := Business{Name: "Acme & Sons", Address: "1 Main St, Springfield", ReplyTo: "ar@acme.example", Phone: "+1 555 0100"}
	cases := map[string]struct {
		label, terms, dispute, signoff, smsFrom string
	}{
		"en-US": {"Terms: ", "A late fee of 1.5% of the unpaid amount is charged 5 days after the due date", "reply to this email or call us on +1 555 0100",
			"Kind regards,\nAcme & Sons\n1 Main St, Springfield", "Acme & Sons: "},
		"de-DE": {"Konditionen: ", "Eine Mahngebühr von 1,5\u00a0% des offenen Betrags wird 5 Tage nach dem Fälligkeitsdatum berechnet",
			"antworten Sie einfach auf diese E-Mail oder rufen Sie uns unter +1 555 0100 an", "Mit freundlichen Grüßen\nAcme & Sons", "Acme & Sons: "},
		"ja-JP": {"条件：", "延滞手数料：未払額の1.5%（以後30日ごと、上限：請求額の10%）が、支払期日の5日後にかかります。",
			"このメールにご返信いただくか、+1 555 0100までお電話ください", "今後ともよろしくお願いいたします。\nAcme & Sons", "【Acme & Sons】"},
	}
	for locale, c := range cases {
		for _, name := range Names() {
			d := sample(locale)
			d.Business, d.Terms = biz, standardTerms()
			e, err := RenderEmail(name, d)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range []string{c.label + c.terms, c.dispute, c.signoff, "ar@acme.example"} {
				if !strings.Contains(e.Text, w) {
					t.Errorf("%s %s: text lacks %q:\n%s", locale, name, w, e.Text)
				}
			}
			for _, w := range []string{"Acme &amp; Sons", "1 Main St, Springfield", "mailto:ar@acme.example", "&#43;1 555 0100", htmlEscape(c.terms)} {
				if !strings.Contains(e.HTML, w) {
					t.Errorf("%s %s: html lacks %q:\n%s", locale, name, w, e.HTML)
				}
			}
			lang, _ := splitLocale(locale)
			if !strings.HasPrefix(e.HTML, "<!DOCTYPE html>\n<html lang=\""+lang+"\">") || !strings.Contains(e.HTML, "<title>"+htmlEscape(e.Subject)+"</title>") {
				t.Errorf("%s %s: html is not a document in its language with the subject as title:\n%s", locale, name, e.HTML)
			}
			sms, err := RenderSMS(name, d)
			if err != nil || !strings.HasPrefix(sms, c.smsFrom) {
				t.Errorf("%s %s: sms does not name the business: %q %v", locale, name, sms, err)
			}
		}
	}
	// Without terms and business (Terms{}, Business{}), nothing is claimed.
	e, err := RenderEmail("overdue", sample("en-US"))
	if err != nil || strings.Contains(e.Text, "Terms:") || strings.Contains(e.Text, "call us") {
		t.Errorf("unknown terms or phone stated: %v\n%s", err, e.Text)
	}
	d := sample("en-US")
	d.Terms = noChargeTerms()
	if e, _ := RenderEmail("overdue", d); !strings.Contains(e.Text, "Terms: No late fee or interest is charged.") {
		t.Errorf("a policy without charges should say so:\n%s", e.Text)
	}
}

// A per-invoice reminder carries the customer's portal link: the email beside the
// payment page, in the customer's words; the SMS instead of it, within two segments
// with a link of realistic length in every language, and with the payment page's
// link when the portal's is too long to fit.
func TestPerInvoiceReminderCarriesThePortalLink(t *testing.T) {
	portalLine := map[string]string{"en": "See all your invoices and pay online", "de": "Alle Ihre Rechnungen ansehen und online bezahlen",
		"ja": "すべての請求書の確認とお支払いはこちら"}
	links := []string{"https://dunwell.example.com/p/3q2-7wXk9Zb1AbCdEfGhIj", "https://billing.example-company.com/p/3q2-7wXk9Zb1AbCdEfGhIj"}
	for lang, locale := range map[string]string{"en": "en-US", "de": "de-DE", "ja": "ja-JP"} {
		for _, name := range Names() {
			for _, link := range links {
				for _, biz := range []string{"", "Müller & Söhne Großhandel GmbH", "株式会社サンプル商事"} {
					d := sample(locale)
					d.PortalURL, d.Business.Name = link, biz
					e, err := RenderEmail(name, d)
					if err != nil {
						t.Fatal(err)
					}
					for _, want := range []string{portalLine[lang] + ": " + link, "https://pay.example.com/INV-1"} {
						if !strings.Contains(e.Text, want) {
							t.Errorf("%s %s: the email text lacks %q:\n%s", locale, name, want, e.Text)
						}
					}
					if !strings.Contains(e.HTML, `<a href="`+link+`">`+htmlEscape(portalLine[lang])+`</a>`) {
						t.Errorf("%s %s: the email html lacks the portal link:\n%s", locale, name, e.HTML)
					}
					sms, err := RenderSMS(name, d)
					if err != nil {
						t.Fatal(err)
					}
					if info := MeasureSMS(sms); info.Segments > 2 || !strings.Contains(sms, link) || strings.Contains(sms, "https://pay.example.com") {
						t.Errorf("%s %s biz=%q: sms %+v %q: want the portal link alone within two segments", locale, name, biz, info, sms)
					}
				}
			}
			d := sample(locale)
			d.PortalURL = "https://dunwell.example.com/p/" + strings.Repeat("x", 300)
			sms, err := RenderSMS(name, d)
			if err != nil {
				t.Fatal(err)
			}
			if info := MeasureSMS(sms); info.Segments > 2 || !strings.Contains(sms, "https://pay.example.com/INV-1") {
				t.Errorf("%s %s: a link too long for an SMS: %+v %q, want the payment page's", locale, name, info, sms)
			}
		}
	}
}
