package letter

import "strings"

// texts are one language's words of a letter. Subjects and bodies are per template
// (the policy step's template name); %[1]s is the invoice number, %[2]s the amount
// due, %[3]s the due date, %[4]d the days overdue.
type texts struct {
	subject, body map[string]string
	// salutation takes the addressee's name.
	salutation string
	// Table headings.
	invoice, due, original, fees, interest, paid, balance, total string
	// Paragraph headings and sentences.
	termsHeading, payHeading, payOnline, payTransfer, dispute, closing string
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
		dispute:     "If anything in this letter looks wrong, or you dispute the invoice, please tell us and quote the invoice number",
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
		dispute:     "Wenn Ihnen an diesem Schreiben etwas nicht stimmt oder Sie die Rechnung bestreiten, teilen Sie es uns bitte unter Angabe der Rechnungsnummer mit",
		closing:     "Mit freundlichen Grüßen",
		date:        "Datum", customer: "Kunde", reference: "Referenz", phone: "Telefon", questions: "Fragen",
		slip: "Zahlschein", payee: "Empfänger", iban: "IBAN", bic: "BIC", amount: "Betrag",
		slipReference: "Verwendungszweck", slipInvoice: "Rechnung",
		noBank: "Bankverbindung: siehe Rechnung", page: "Seite %d von {nb}",
	},
}

// Languages lists the languages letters are written in. Japanese customers get the
// English letter: the PDF's core fonts carry Latin text only (Windows-1252), and
// Dunwell embeds no CJK font.
func Languages() []string { return []string{"de", "en"} }

// textsFor returns the words for a locale and the locale amounts and dates are
// formatted in: a language without letter texts of its own (Japanese) reads English,
// with its region's currency kept ("ja-JP" → "en-JP").
func textsFor(locale string) (texts, string) {
	lang, region, _ := strings.Cut(strings.ReplaceAll(locale, "_", "-"), "-")
	lang = strings.ToLower(lang)
	if t, ok := languages[lang]; ok {
		return t, locale
	}
	if region != "" {
		return languages["en"], "en-" + region
	}
	return languages["en"], "en"
}

// KnownTemplate reports whether a letter has texts for template name.
func KnownTemplate(name string) bool {
	_, ok := languages["en"].subject[name]
	return ok
}
