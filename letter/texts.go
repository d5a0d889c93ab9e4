package letter

import (
	"fmt"
	"strings"

	"github.com/dunwell/dunwell/internal/pdffont"
)

// texts are one language's words of a letter. Subjects and bodies are per template
// (the policy step's template name); %[1]s is the invoice number, %[2]s the amount
// due, %[3]s the due date, %[4]d the days overdue.
type texts struct {
	subject, body map[string]string
	// salutation takes the addressee's name; empty: none (Japanese letters name the
	// addressee in the address only).
	salutation string
	// person and company, when set, put an honorific to the addressee's name in the
	// address window: "%s 様" for a person, "%s 御中" for a company (a name with a
	// legal form, see corporate).
	person, company string
	// Table headings.
	invoice, due, original, fees, interest, paid, balance, total string
	// Paragraph headings and sentences. dispute asks to be told of a mistake and
	// ends the sentence; disputeAt does the same with the contacts (%s, joined by
	// listSep).
	termsHeading, payHeading, payOnline, payTransfer, dispute, disputeAt, listSep string
	// closing ends the letter, set to closingAlign ("L" when empty, "R" for 敬具);
	// the business's name follows it unless unsigned (Japanese letters name the sender
	// in the letterhead only).
	closing, closingAlign string
	unsigned              bool
	// closings are the closings of the templates whose closing differs from closing
	// (the final notice's 草々, after its 前略).
	closings map[string]string
	// Letterhead and slip.
	date, customer, reference, phone, questions                        string
	slip, payee, iban, bic, amount, slipReference, slipInvoice, noBank string
	page                                                               string
}

var languages = map[string]texts{
	"en": {
		subject: map[string]string{
			"due_soon":     "Reminder: invoice %[1]s is due on %[3]s",
			"overdue":      "Payment overdue: invoice %[1]s",
			"overdue_firm": "Second reminder: invoice %[1]s",
			"final_notice": "Final notice: invoice %[1]s",
		},
		body: map[string]string{
			"due_soon": "This is a friendly reminder that invoice %[1]s for %[2]s is due on %[3]s. " +
				"If you have already paid, thank you, and please disregard this letter.",
			"overdue": "Our records show that invoice %[1]s, due on %[3]s, is now %[4]d days overdue. " +
				"The amount due is %[2]s. If you have already paid, thank you, and please disregard this letter.",
			"overdue_firm": "Invoice %[1]s is %[4]d days overdue. Despite our earlier reminders, %[2]s remains unpaid. " +
				"Please pay it now, or contact us if there is a problem with the invoice.",
			"final_notice": "This is our final notice about invoice %[1]s, which is %[4]d days overdue. " +
				"Unless %[2]s is paid, we will have to take further steps to collect it.",
		},
		salutation: "Dear %s,",
		invoice:    "Invoice", due: "Due date", original: "Invoiced", fees: "Fees", interest: "Interest",
		paid: "Paid / credited", balance: "Amount due", total: "Total due",
		termsHeading: "Terms", payHeading: "How to pay",
		payOnline:   "Pay online: %s",
		payTransfer: "By bank transfer, please quote the reference %s so that your payment reaches this invoice.",
		dispute:     "If anything in this letter looks wrong, or you dispute the invoice, please tell us and quote the invoice number.",
		disputeAt:   "If anything in this letter looks wrong, or you dispute the invoice, please tell us and quote the invoice number: %s.",
		listSep:     ", ",
		closing:     "Yours sincerely,",
		date:        "Date", customer: "Customer", reference: "Reference", phone: "Phone", questions: "Questions",
		slip: "Payment slip", payee: "Payee", iban: "IBAN", bic: "BIC", amount: "Amount",
		slipReference: "Reference", slipInvoice: "Invoice",
		noBank: "Bank details: see your invoice", page: "Page %d of {nb}",
	},
	"de": {
		subject: map[string]string{
			"due_soon":     "Zahlungserinnerung: Rechnung %[1]s ist am %[3]s fällig",
			"overdue":      "Mahnung: Rechnung %[1]s",
			"overdue_firm": "Zweite Mahnung: Rechnung %[1]s",
			"final_notice": "Letzte Mahnung: Rechnung %[1]s",
		},
		body: map[string]string{
			"due_soon": "wir möchten Sie freundlich daran erinnern, dass die Rechnung %[1]s über %[2]s am %[3]s fällig wird. " +
				"Falls Sie bereits bezahlt haben, danken wir Ihnen; dieses Schreiben ist dann gegenstandslos.",
			"overdue": "nach unseren Unterlagen ist die Rechnung %[1]s, fällig am %[3]s, seit %[4]d Tagen überfällig. " +
				"Offen ist ein Betrag von %[2]s. Falls Sie bereits bezahlt haben, danken wir Ihnen; dieses Schreiben ist dann gegenstandslos.",
			"overdue_firm": "die Rechnung %[1]s ist seit %[4]d Tagen überfällig. Trotz unserer bisherigen Erinnerungen ist der Betrag von %[2]s noch offen. " +
				"Bitte begleichen Sie ihn umgehend, oder melden Sie sich bei uns, falls es mit der Rechnung ein Problem gibt.",
			"final_notice": "dies ist unsere letzte Mahnung zur Rechnung %[1]s, die seit %[4]d Tagen überfällig ist. " +
				"Wird der Betrag von %[2]s nicht beglichen, müssen wir weitere Schritte zur Einziehung der Forderung einleiten.",
		},
		salutation: "Guten Tag %s,",
		invoice:    "Rechnung", due: "Fällig am", original: "Rechnungsbetrag", fees: "Gebühren", interest: "Zinsen",
		paid: "Bezahlt / gutgeschrieben", balance: "Offen", total: "Offener Betrag",
		termsHeading: "Bedingungen", payHeading: "So zahlen Sie",
		payOnline:   "Online bezahlen: %s",
		payTransfer: "Bei Überweisung geben Sie bitte die Referenz %s an, damit Ihre Zahlung dieser Rechnung zugeordnet wird.",
		dispute:     "Wenn Ihnen an diesem Schreiben etwas nicht stimmt oder Sie die Rechnung bestreiten, teilen Sie es uns bitte unter Angabe der Rechnungsnummer mit.",
		disputeAt:   "Wenn Ihnen an diesem Schreiben etwas nicht stimmt oder Sie die Rechnung bestreiten, teilen Sie es uns bitte unter Angabe der Rechnungsnummer mit: %s.",
		listSep:     ", ",
		closing:     "Mit freundlichen Grüßen",
		date:        "Datum", customer: "Kunde", reference: "Referenz", phone: "Telefon", questions: "Fragen",
		slip: "Zahlschein", payee: "Empfänger", iban: "IBAN", bic: "BIC", amount: "Betrag",
		slipReference: "Verwendungszweck", slipInvoice: "Rechnung",
		noBank: "Bankverbindung: siehe Rechnung", page: "Seite %d von {nb}",
	},
	// Japanese: the customary forms of a company's payment requests, from the polite
	// reminder (拝啓 … 敬具) to the final demand (最終督促状: 前略 … 草々, no seasonal
	// greeting). Written only with a
	// Japanese font (pdffont); without one the letter is English (textsFor).
	"ja": {
		subject: map[string]string{
			"due_soon":     "お支払い期日のご案内（請求書番号 %[1]s、お支払い期日：%[3]s）",
			"overdue":      "お支払いのお願い（請求書番号 %[1]s）",
			"overdue_firm": "督促状（請求書番号 %[1]s）",
			"final_notice": "最終督促状（請求書番号 %[1]s）",
		},
		body: map[string]string{
			"due_soon": "拝啓　時下ますますご清栄のこととお慶び申し上げます。平素は格別のお引き立てを賜り、厚く御礼申し上げます。\n" +
				"さて、請求書 %[1]s のご請求額 %[2]sにつきまして、お支払い期日の%[3]sが近づいてまいりましたのでご案内申し上げます。" +
				"期日までにお支払いくださいますよう、よろしくお願い申し上げます。\n" +
				"なお、本状と行き違いにすでにお支払いいただいている場合は、何卒ご容赦ください。",
			"overdue": "拝啓　時下ますますご清栄のこととお慶び申し上げます。平素は格別のお引き立てを賜り、厚く御礼申し上げます。\n" +
				"さて、%[3]sをお支払い期日としてご請求いたしました請求書 %[1]s につきまして、期日から%[4]d日を経過した本日現在、" +
				"%[2]sのご入金が確認できておりません。\n" +
				"ご多忙のところ誠に恐れ入りますが、ご確認のうえ、至急お支払いくださいますようお願い申し上げます。\n" +
				"なお、本状と行き違いにすでにお支払いいただいている場合は、何卒ご容赦ください。",
			"overdue_firm": "拝啓　時下ますますご清栄のこととお慶び申し上げます。\n" +
				"さて、請求書 %[1]s（お支払い期日：%[3]s）につきましては、先にお支払いのお願いを差し上げましたが、" +
				"期日から%[4]d日を経過した本日現在も、%[2]sのご入金が確認できておりません。\n" +
				"つきましては、直ちにお支払いくださいますようお願い申し上げます。ご請求の内容に問題がございましたら、速やかに当社までご連絡ください。\n" +
				"なお、本状と行き違いにすでにお支払いいただいている場合は、何卒ご容赦ください。",
			"final_notice": "前略　請求書 %[1]s（お支払い期日：%[3]s）のご請求額 %[2]sにつきましては、再三にわたりお支払いをお願いしてまいりましたが、" +
				"期日から%[4]d日を経過した本日現在も、ご入金が確認できておりません。\n" +
				"本状をもって最終のご通知とさせていただきます。直ちにお支払いくださいますようお願い申し上げます。" +
				"万一ご入金いただけない場合は、誠に不本意ながら、債権回収のための然るべき措置を講じざるを得ませんので、あらかじめご了承ください。\n" +
				"なお、本状と行き違いにすでにお支払いいただいている場合は、何卒ご容赦ください。",
		},
		person: "%s 様", company: "%s 御中",
		invoice: "請求書番号", due: "支払期日", original: "ご請求額", fees: "延滞手数料", interest: "遅延利息",
		paid: "入金・調整額", balance: "未払額", total: "お支払い総額",
		termsHeading: "延滞時の条件", payHeading: "お支払い方法",
		payOnline:   "オンラインでのお支払い：%s",
		payTransfer: "お振込みの際は、参照番号 %s をご指定ください。",
		dispute:     "ご請求の内容に誤りやご異議がございましたら、請求書番号を添えて当社までご連絡ください。",
		disputeAt:   "ご請求の内容に誤りやご異議がございましたら、請求書番号を添えて当社（%s）までご連絡ください。",
		listSep:     "、",
		closing:     "敬具", closingAlign: "R", unsigned: true,
		closings: map[string]string{"final_notice": "草々"},
		date:     "日付", customer: "お客様番号", reference: "参照番号", phone: "電話", questions: "お問い合わせ",
		slip: "お振込先のご案内", payee: "受取人", iban: "IBAN", bic: "BIC", amount: "金額",
		slipReference: "参照番号", slipInvoice: "請求書番号",
		noBank: "振込先：請求書をご確認ください", page: "%d / {nb} ページ",
	},
}

// Languages lists the languages letters are written in. A Japanese letter needs a
// Japanese TrueType font ($DUNWELL_PDF_FONT_JA, else Debian's IPAGothic; see
// pdffont.JA): the PDF's core fonts carry Latin text only (Windows-1252). Without
// one, Japanese customers get the English letter.
func Languages() []string { return []string{"de", "en", "ja"} }

// textsFor returns the words for a locale and the locale amounts and dates are
// formatted in. A language without letter texts of its own, or Japanese when the PDF
// has no Japanese font (withJA false), reads English, with its region's currency
// kept ("ja-JP" → "en-JP").
func textsFor(locale string, withJA bool) (texts, string) {
	lang, region, _ := strings.Cut(strings.ReplaceAll(locale, "_", "-"), "-")
	lang = strings.ToLower(lang)
	if t, ok := languages[lang]; ok && (withJA || !pdffont.NeedsJA(lang)) {
		return t, locale
	}
	if region != "" {
		return languages["en"], "en-" + region
	}
	return languages["en"], "en"
}

// named is the addressee's name with the language's honorific: "株式会社アクメ 御中",
// "山田 太郎 様"; the name as it is in languages without one, or when it has one.
func (t texts) named(name string) string {
	if t.person == "" || name == "" {
		return name
	}
	for _, h := range []string{"様", "御中", "殿"} {
		if strings.HasSuffix(strings.TrimSpace(name), h) {
			return name
		}
	}
	if corporate(name) {
		return fmt.Sprintf(t.company, name)
	}
	return fmt.Sprintf(t.person, name)
}

// legalForms mark a name as a company's or another organisation's (in Japanese and
// in the forms Japanese customers write in Latin letters), which a Japanese letter
// addresses with 御中 rather than 様.
var legalForms = []string{
	"株式会社", "有限会社", "合同会社", "合資会社", "合名会社", "(株)", "（株）", "㈱", "(有)", "（有）", "㈲",
	"法人", "組合", "協会", "事務所", "研究所", "大学", "病院",
	"inc.", "inc", "ltd.", "ltd", "llc", "co.", "corp.", "corporation", "k.k.", "gmbh", "ag", "plc",
}

// corporate reports whether name carries a legal form (legalForms): a Japanese
// one anywhere in it, a Latin one as a word of its own.
func corporate(name string) bool {
	lower := strings.ToLower(name)
	words := strings.FieldsFunc(lower, func(r rune) bool { return r == ' ' || r == ',' || r == '\u3000' })
	for _, f := range legalForms {
		if f[0] >= 0x80 || f[0] == '(' {
			if strings.Contains(lower, f) {
				return true
			}
			continue
		}
		for _, w := range words {
			if w == f {
				return true
			}
		}
	}
	return false
}

// KnownTemplate reports whether a letter has texts for template name.
func KnownTemplate(name string) bool {
	_, ok := languages["en"].subject[name]
	return ok
}
