// Package bank reads bank statements (ISO 20022 camt.053 and camt.054, OFX) into
// normalized bank transactions, and matches booked credits to open invoices. It is
// pure: no database, no Temporal. The ledger stores what Parse returns before
// anything is applied, and the API applies what Matcher decides through the payment
// webhooks' path (see ledger/bank.go and api/bank.go).
package bank

import (
	"fmt"
	"mime"
	"strings"
	"time"
)

// Format is a statement format.
type Format string

// Formats.
const (
	FormatCamt053 Format = "camt.053" // ISO 20022 bank-to-customer statement
	FormatCamt054 Format = "camt.054" // ISO 20022 debit/credit notification
	FormatOFX     Format = "ofx"      // Open Financial Exchange, 1.x (SGML) or 2.x (XML)
)

// ContentTypes maps each accepted Content-Type to its format; "" is a camt file whose
// message (053 or 054) the document's namespace says.
var ContentTypes = map[string]Format{
	"application/xml":                       "",
	"text/xml":                              "",
	"application/vnd.iso20022.camt.053+xml": FormatCamt053,
	"application/vnd.iso20022.camt.054+xml": FormatCamt054,
	"application/x-ofx":                     FormatOFX,
	"application/ofx":                       FormatOFX,
	"application/vnd.intu.qfx":              FormatOFX,
}

// FormatOf returns the format a Content-Type names ("" for plain XML: the namespace
// decides), or an error listing the accepted types.
func FormatOf(contentType string) (Format, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err == nil {
		if f, ok := ContentTypes[strings.ToLower(mt)]; ok {
			return f, nil
		}
	}
	return "", fmt.Errorf("Content-Type %q is not a statement format; send application/xml (camt.053 or camt.054, version 001.08), "+
		"application/vnd.iso20022.camt.053+xml, application/vnd.iso20022.camt.054+xml or application/x-ofx", contentType)
}

// Booking is where an entry stands at the bank.
type Booking string

// Bookings (camt Sts; OFX BANKTRANLIST is booked, BANKTRANLISTP pending).
const (
	Booked  Booking = "booked"
	Pending Booking = "pending"
	Info    Booking = "info" // camt INFO or FUTR: announced, not on the account
)

// Party is the other side of a transaction: the payer of a credit.
type Party struct {
	Name    string `json:"name,omitempty"`
	Account string `json:"account,omitempty"` // IBAN, or the bank's other account id
}

// Transaction is one bank transaction, normalized. Account and Ref identify it: the
// same transaction in two files (a camt.054 notification and the day's camt.053, an
// OFX download repeated) has the same pair.
type Transaction struct {
	// Account is the statement's account (ours): IBAN, other id, or OFX BANKID/ACCTID.
	Account string `json:"account"`
	// Ref is the bank's reference: the entry's AcctSvcrRef (else NtryRef), with the
	// transaction's own reference when one entry books several; the OFX FITID.
	Ref string `json:"bank_ref"`
	// Entry says where in the file it was ("Stmt[1]/Ntry[3]/TxDtls[2]", "STMTTRN[4]").
	Entry    string  `json:"entry"`
	Credit   bool    `json:"credit"`
	Booking  Booking `json:"booking"`
	Reversal bool    `json:"reversal,omitempty"`
	Currency string  `json:"currency"`
	Amount   int64   `json:"amount_minor"` // positive; Credit says which way
	// BookedAt is the booking date (camt BookgDt, OFX DTPOSTED); zero if the file has none.
	BookedAt time.Time `json:"booked_at"`
	Payer    Party     `json:"payer"`
	// References are the structured creditor references (camt Strd/CdtrRefInf/Ref, such
	// as an ISO 11649 RF reference), as given.
	References []string `json:"references,omitempty"`
	// Documents are the structured referred document numbers (camt Strd/RfrdDocInf/Nb).
	Documents []string `json:"documents,omitempty"`
	// Text is the unstructured remittance (camt Ustrd, AddtlTxInf, AddtlNtryInf; OFX
	// NAME and MEMO), joined.
	Text       string `json:"text,omitempty"`
	EndToEndID string `json:"end_to_end_id,omitempty"`
	// Batch is the number of transfers a batch booking without details carries
	// (camt NtryDtls/Btch/NbOfTxs), 0 if not said.
	Batch int `json:"batch,omitempty"`
}

// Applicable reports whether the transaction is money received: a booked credit that
// is not a reversal. Only those are matched and applied; the others are recorded.
func (t *Transaction) Applicable() bool {
	return t.Credit && t.Booking == Booked && !t.Reversal
}

// Statement is a parsed file.
type Statement struct {
	Format Format
	// ID is the message id (camt GrpHdr/MsgId, OFX TRNUID), for the operator.
	ID           string
	Transactions []Transaction
}

// EntryError is a problem with one entry of a file: where it is, which field, what is
// wrong. A file with one is rejected whole.
type EntryError struct {
	Entry  string // "Stmt[1]/Ntry[3]", "" for the file as a whole
	Field  string // "Amt", "CdtDbtInd", ...
	Reason string
}

func (e *EntryError) Error() string {
	var b strings.Builder
	if e.Entry != "" {
		b.WriteString(e.Entry)
	}
	if e.Field != "" {
		if b.Len() > 0 {
			b.WriteByte('/')
		}
		b.WriteString(e.Field)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

func entryErr(entry, field, format string, args ...any) error {
	return &EntryError{Entry: entry, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Limits on what one transaction carries, so that a file cannot blow up a row.
const (
	maxText  = 1000
	maxItems = 20
	maxField = 140
)

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !validUTF8End(s) {
		s = s[:len(s)-1]
	}
	return s
}

func validUTF8End(s string) bool {
	c := s[len(s)-1]
	if c < 0x80 {
		return true
	}
	// a continuation or lead byte at the end: find the lead and check the length
	i := len(s) - 1
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	need := 1
	switch lead := s[i]; {
	case lead&0xE0 == 0xC0:
		need = 2
	case lead&0xF0 == 0xE0:
		need = 3
	case lead&0xF8 == 0xF0:
		need = 4
	}
	return len(s)-i == need
}

func addItem(list []string, s string) []string {
	s = clip(s, maxField)
	if s == "" || len(list) >= maxItems {
		return list
	}
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func joinText(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			kept = append(kept, p)
		}
	}
	return clip(strings.Join(kept, " "), maxText)
}
