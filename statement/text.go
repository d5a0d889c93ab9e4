package statement

import (
	"strings"

	"github.com/dunwell/dunwell/internal/pdffont"
)

// Texts are a statement's words in one language: the PDF's labels and the email
// that carries it. Format verbs are noted beside each field.
type Texts struct {
	Lang string
	// PDF.
	Title, Customer, StatementDate, ActivitySince, Phone, Questions string
	Columns                                                         [9]string
	AccountIn                                                       string // currency, balance
	TotalDue                                                        string
	NoOpenItems                                                     string // currency
	PaymentsReceived                                                string // amount
	CreditsTitle                                                    string
	TermsTitle                                                      string
	NothingOpen                                                     string
	PerCurrency                                                     string
	DaysCounted                                                     string // date
	Contact, ContactAt, QuoteInvoice                                string // ContactAt: address
	Page                                                            string // page number, then {nb}
	Buckets                                                         map[string]string
	InterestLine                                                    string // half, from, through, days, rate, reference rate, margin, amount (rates with their %)
	// Email.
	Subject, SubjectFrom  string // date; business
	Hello, HelloName      string // -; name
	Attached              string // business, date
	Balance               string // currency, amount, open invoices
	Reply, Regards, FromU string // -; -; "us" when the business is unnamed
	Portal                string // the line above the customer's portal link
}

var texts = map[string]Texts{
	"en": {
		Lang: "en", Title: "Statement of account", Customer: "Customer", StatementDate: "Statement date", ActivitySince: "Activity since",
		Phone: "Phone: ", Questions: "Questions about this statement: ",
		Columns:   [9]string{"Invoice", "Issued", "Due", "Original", "Fees", "Interest", "Paid / adj.", "Balance", "Days"},
		AccountIn: "Account in %s: balance %s", TotalDue: "Total due", NoOpenItems: "No open items in %s.",
		PaymentsReceived: "Payments received in the period: %s", CreditsTitle: "Refunds, credits and adjustments in the period",
		TermsTitle:  "Terms",
		NothingOpen: "Nothing is open on this account and nothing was paid or credited in the period.",
		PerCurrency: "Amounts are shown per currency; balances in different currencies are never added together.",
		DaysCounted: "Days are counted past the due date on the statement date. Payments made after %s are not shown.",
		Contact:     "If anything on this statement looks wrong, or you dispute an item, please tell us", ContactAt: " at %s",
		QuoteInvoice: " and quote the invoice number.", Page: "Page %d of {nb}",
		Buckets:      map[string]string{"current": "Current", "1_30": "1-30 days", "31_60": "31-60 days", "61_90": "61-90 days", "90_plus": "Over 90 days"},
		InterestLine: "Interest %s: %s to %s, %d days late at %s (reference rate %s + %s): %s",
		Subject:      "Your statement of account as of %s", SubjectFrom: " from %s",
		Hello: "Hello,", HelloName: "Hello %s,",
		Attached: "attached is your statement of account from %s as of %s.",
		Balance:  "Balance in %s: %s (%d open invoice(s))",
		Reply:    "If anything on it looks wrong, reply to this email and a person on our team will look into it.",
		Regards:  "Kind regards,", FromU: "us",
		Portal: "See your invoices, download this statement again, pay, promise a date or tell us what is wrong:",
	},
	"de": {
		Lang: "de", Title: "Kontoauszug", Customer: "Kunde", StatementDate: "Stichtag", ActivitySince: "Bewegungen seit",
		Phone: "Telefon: ", Questions: "Fragen zu diesem Kontoauszug: ",
		Columns:   [9]string{"Rechnung", "Datum", "Fällig", "Betrag", "Gebühren", "Zinsen", "Bez. / Korr.", "Offen", "Tage"},
		AccountIn: "Konto in %s: Saldo %s", TotalDue: "Gesamt offen", NoOpenItems: "Keine offenen Posten in %s.",
		PaymentsReceived: "Zahlungseingänge im Zeitraum: %s", CreditsTitle: "Erstattungen, Gutschriften und Korrekturen im Zeitraum",
		TermsTitle:  "Bedingungen",
		NothingOpen: "Auf diesem Konto ist nichts offen, und im Zeitraum wurde nichts bezahlt oder gutgeschrieben.",
		PerCurrency: "Beträge stehen je Währung; Salden verschiedener Währungen werden nie zusammengezählt.",
		DaysCounted: "Tage zählen ab Fälligkeit bis zum Stichtag. Zahlungen nach dem %s sind nicht enthalten.",
		Contact:     "Wenn Ihnen auf diesem Kontoauszug etwas falsch erscheint oder Sie einen Posten bestreiten, sagen Sie es uns bitte", ContactAt: " unter %s",
		QuoteInvoice: " und nennen Sie die Rechnungsnummer.", Page: "Seite %d von {nb}",
		Buckets:      map[string]string{"current": "Nicht fällig", "1_30": "1-30 Tage", "31_60": "31-60 Tage", "61_90": "61-90 Tage", "90_plus": "Über 90 Tage"},
		InterestLine: "Zinsen %s: %s bis %s, %d Tage Verzug zu %s (Referenzzins %s + %s): %s",
		Subject:      "Ihr Kontoauszug zum %s", SubjectFrom: " von %s",
		Hello: "Guten Tag,", HelloName: "Guten Tag %s,",
		Attached: "anbei erhalten Sie Ihren Kontoauszug von %s zum %s.",
		Balance:  "Saldo in %s: %s (%d offene Rechnung(en))",
		Reply:    "Wenn Ihnen darin etwas falsch erscheint, antworten Sie einfach auf diese E-Mail; ein Mensch aus unserem Team kümmert sich darum.",
		Regards:  "Mit freundlichen Grüßen", FromU: "uns",
		Portal: "Ihre Rechnungen ansehen, diesen Kontoauszug erneut herunterladen, bezahlen, einen Zahlungstermin zusagen oder uns sagen, was nicht stimmt:",
	},
	// Japanese: the PDF's labels need a Japanese font (FontJA); without one the PDF
	// has the English labels (PDF).
	"ja": {
		Lang: "ja", Title: "取引明細書", Customer: "お客様", StatementDate: "明細書日付", ActivitySince: "対象期間の開始日",
		Phone: "電話: ", Questions: "本明細書に関するお問い合わせ: ",
		Columns:   [9]string{"請求書番号", "発行日", "支払期日", "請求額", "手数料", "遅延利息", "入金・調整", "残高", "経過日数"},
		AccountIn: "%s 建て勘定: 残高 %s", TotalDue: "お支払い総額", NoOpenItems: "%s 建ての未払い項目はありません。",
		PaymentsReceived: "期間中のご入金: %s", CreditsTitle: "期間中の返金・クレジット・調整",
		TermsTitle:  "条件",
		NothingOpen: "この勘定に未払いの項目はなく、期間中の入金やクレジットもありません。",
		PerCurrency: "金額は通貨ごとに表示しています。異なる通貨の残高を合算することはありません。",
		DaysCounted: "経過日数は支払期日から明細書日付までの日数です。%s 以降のご入金は含まれていません。",
		Contact:     "本明細書の内容に誤りがある場合や、ご異議のある項目がございましたら", ContactAt: "、%s まで",
		QuoteInvoice: "請求書番号を添えてお知らせください。", Page: "%d / {nb} ページ",
		Buckets:      map[string]string{"current": "期日前", "1_30": "1〜30日", "31_60": "31〜60日", "61_90": "61〜90日", "90_plus": "90日超"},
		InterestLine: "遅延利息 %s: %s から %s まで、%d 日の遅延、年率 %s（基準金利 %s + %s）: %s",
		Subject:      "%s 時点の取引明細書", SubjectFrom: "（%s）",
		Hello: "いつもお世話になっております。", HelloName: "%s 様",
		Attached: "%s より、%s 時点の取引明細書（PDF）をお送りします。",
		Balance:  "%s の残高: %s（未払いの請求書 %d 件）",
		Reply:    "内容に誤りがございましたら、このメールにご返信ください。担当者が確認いたします。",
		Regards:  "よろしくお願いいたします。", FromU: "当社",
		Portal: "請求書の確認、この明細書の再ダウンロード、お支払い、お支払い日のお約束、内容に誤りがある場合のご連絡はこちら：",
	},
}

// TextsFor returns the texts of the locale's language ("de-DE": German), English
// when Dunwell has none.
func TextsFor(locale string) Texts {
	lang, _, _ := strings.Cut(strings.ToLower(locale), "-")
	lang, _, _ = strings.Cut(lang, "_")
	if t, ok := texts[lang]; ok {
		return t
	}
	return texts["en"]
}

// PDFTexts returns the PDF's labels for the locale with the built-in Latin fonts: its
// language when they can write it (en, de), else English. PDF uses the Japanese
// texts when it has a Japanese font (FontJA).
func PDFTexts(locale string) Texts {
	t := TextsFor(locale)
	if t.Title == "" || pdffont.NeedsJA(locale) {
		return texts["en"]
	}
	return t
}
