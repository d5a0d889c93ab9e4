// Package letter renders Dunwell's dunning letters as PDF documents: the business's
// letterhead, the customer's postal address placed for a window envelope, the
// invoice with its amounts, fees and interest, the policy's terms in words, how to
// pay, and a payment slip with the invoice's RF creditor reference and the
// business's bank details. Texts per locale (English, German, Japanese; a Japanese
// letter needs a Japanese font, else it is English, see Languages). It imports
// neither Temporal nor a database: the send activity renders a letter and hands the
// bytes to the print-and-mail provider or to the ledger's letter outbox.
//
// Rendering depends on the Letter and the Options only (and, for a Japanese letter,
// on the font found), never on the clock, so every retry of a send renders the same
// document.
package letter

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/dunwell/dunwell/bank/rf"
	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/templates"
)

// Letter is one dunning letter about one invoice.
type Letter struct {
	InvoiceID    string `json:"invoice_id"`
	CustomerID   string `json:"customer_id"`
	CustomerName string `json:"customer_name"`
	// To is where it is mailed.
	To collection.Address `json:"to"`
	// Template is the policy step's template ("overdue"), Step the step's name.
	Template string `json:"template"`
	Step     string `json:"step"`
	// Locale is the customer's ("de-DE"); empty: English.
	Locale string `json:"locale,omitempty"`
	// Date is the letter's date, YYYY-MM-DD (the day the step was due, in the
	// customer's zone).
	Date string `json:"date"`
	// Amounts in minor units of Currency: the invoice as issued, the fees and
	// interest booked, and what is due now (all of it, after payments and credits).
	Currency  string `json:"currency"`
	Original  int64  `json:"original_minor"`
	Fees      int64  `json:"fees_minor"`
	Interest  int64  `json:"interest_minor"`
	AmountDue int64  `json:"amount_due_minor"`
	// DueDate is the invoice's, YYYY-MM-DD.
	DueDate    string `json:"due_date"`
	PaymentURL string `json:"payment_url,omitempty"`
	// Terms are the policy's charges, stated in words.
	Terms templates.Terms `json:"terms,omitzero"`
}

// Bank is where a bank transfer goes, for the payment slip; zero: the slip says to
// see the invoice.
type Bank struct {
	// Holder is the account's holder; empty: the business's name.
	Holder string
	IBAN   string
	BIC    string
}

// IsZero reports whether no bank details are configured.
func (b Bank) IsZero() bool { return b.IBAN == "" }

// Options are what a letter shows besides the invoice.
type Options struct {
	From templates.Business
	Bank Bank
	// FontJA is the TrueType font a Japanese letter is written in; empty: pdffont.JA()
	// ($DUNWELL_PDF_FONT_JA or the system's IPAGothic). Without a readable one the
	// letter is English.
	FontJA string
}

// Validate checks what a letter cannot be printed without.
func (l *Letter) Validate() error {
	var errs []error
	if l.InvoiceID == "" || l.CustomerID == "" || l.Step == "" {
		errs = append(errs, errors.New("invoice_id, customer_id and step are required"))
	}
	if !KnownTemplate(l.Template) {
		errs = append(errs, fmt.Errorf("template %q has no letter text (%s)", l.Template, strings.Join(templates.Names(), ", ")))
	}
	if _, err := time.Parse(time.DateOnly, l.Date); err != nil {
		errs = append(errs, fmt.Errorf("date %q is not YYYY-MM-DD", l.Date))
	}
	if l.Currency == "" {
		errs = append(errs, errors.New("currency is required"))
	}
	fe := collection.FieldErrors{}
	l.To.Validate("to", fe)
	if len(fe) > 0 {
		errs = append(errs, fmt.Errorf("the postal address is not valid: %s", fe.Error()))
	}
	return errors.Join(errs...)
}

// RFReference is the invoice's creditor reference as printed ("RF47 1234 ...").
func (l *Letter) RFReference() string { return rf.Format(rf.ForInvoice(l.InvoiceID)) }

// Paid is what payments and credits took off the invoice, fees and interest: the
// difference between what was charged and what is due.
func (l *Letter) Paid() int64 { return max(0, l.Original+l.Fees+l.Interest-l.AmountDue) }

var ibanRE = regexp.MustCompile(`^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$`)
var bicRE = regexp.MustCompile(`^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$`)

// ParseBank checks bank details as configured (DUNWELL_BANK_IBAN, DUNWELL_BANK_BIC,
// DUNWELL_BANK_HOLDER): the IBAN's format and check digits (ISO 13616), the BIC's
// format (ISO 9362). Spaces are allowed and dropped.
func ParseBank(holder, iban, bic string) (Bank, error) {
	b := Bank{Holder: strings.TrimSpace(holder), IBAN: compact(iban), BIC: compact(bic)}
	var errs []error
	switch {
	case b.IBAN == "" && (b.BIC != "" || b.Holder != ""):
		errs = append(errs, errors.New("DUNWELL_BANK_IBAN: is required with DUNWELL_BANK_BIC or DUNWELL_BANK_HOLDER"))
	case b.IBAN != "" && (!ibanRE.MatchString(b.IBAN) || !ibanChecks(b.IBAN)):
		errs = append(errs, fmt.Errorf("DUNWELL_BANK_IBAN: %q is not a valid IBAN (country, check digits, account)", iban))
	}
	if b.BIC != "" && !bicRE.MatchString(b.BIC) {
		errs = append(errs, fmt.Errorf("DUNWELL_BANK_BIC: %q is not a BIC of 8 or 11 letters and digits", bic))
	}
	if len(b.Holder) > 70 {
		errs = append(errs, errors.New("DUNWELL_BANK_HOLDER: must be at most 70 characters"))
	}
	if len(errs) > 0 {
		return Bank{}, errors.Join(errs...)
	}
	return b, nil
}

func compact(s string) string { return strings.ToUpper(strings.Join(strings.Fields(s), "")) }

// ibanChecks verifies an IBAN's check digits: ISO 7064 MOD 97-10 over the account
// with the country and check digits moved to the end is 1.
func ibanChecks(iban string) bool {
	s := iban[4:] + iban[:4]
	r := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			r = (r*10 + int(c-'0')) % 97
		default:
			r = (r*100 + int(c-'A'+10)) % 97
		}
	}
	return r == 1
}

// FormatIBAN prints an IBAN in groups of four.
func FormatIBAN(iban string) string { return rf.Format(iban) }
