package bank

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/moov-io/iso20022/pkg/camt_v08"
	"github.com/moov-io/iso20022/pkg/utils"

	"github.com/dunwell/dunwell/money"
)

// The camt versions read: the ones github.com/moov-io/iso20022 has types for (the
// ISO 20022 2019 messages, which SEPA and SWIFT CBPR+ banks deliver since 2025).
var camtNamespaces = map[string]Format{
	utils.DocumentCamt05300108NameSpace: FormatCamt053,
	utils.DocumentCamt05400108NameSpace: FormatCamt054,
}

// parseCamt reads a camt.053 or camt.054 document as a stream: one entry (Ntry) is
// held in memory at a time. want, when not empty, is the format the Content-Type
// named; the namespace must agree.
func parseCamt(r io.Reader, want Format) (Statement, error) {
	dec := xml.NewDecoder(r)
	dec.Strict = true
	root, err := nextStart(dec)
	if err != nil {
		return Statement{}, entryErr("", "", "not an XML document: %v", err)
	}
	if root.Name.Local != "Document" {
		return Statement{}, entryErr("", "", "the root element is <%s>, not an ISO 20022 <Document>", root.Name.Local)
	}
	format, ok := camtNamespaces[root.Name.Space]
	if !ok {
		return Statement{}, entryErr("", "Document", "namespace %q is not a supported message; Dunwell reads camt.053.001.08 and camt.054.001.08 "+
			"(ask the bank for the 2019 version, or convert)", root.Name.Space)
	}
	if want != "" && want != format {
		return Statement{}, entryErr("", "Document", "the Content-Type says %s but the document is %s", want, format)
	}
	msg, err := nextStart(dec)
	if err != nil {
		return Statement{}, entryErr("", "", "truncated document: %v", err)
	}
	group, wantMsg := "Stmt", "BkToCstmrStmt"
	if format == FormatCamt054 {
		group, wantMsg = "Ntfctn", "BkToCstmrDbtCdtNtfctn"
	}
	if msg.Name.Local != wantMsg {
		return Statement{}, entryErr("", "", "<%s> in a %s document; expected <%s>", msg.Name.Local, format, wantMsg)
	}
	st := Statement{Format: format}
	n := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return Statement{}, entryErr(fmt.Sprintf("%s[%d]", group, n+1), "", "truncated or malformed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "GrpHdr":
				var h camt_v08.GroupHeader81
				if err := dec.DecodeElement(&h, &t); err != nil {
					return Statement{}, entryErr("GrpHdr", "", "%v", err)
				}
				st.ID = clip(string(h.MsgId), maxField)
			case group:
				n++
				txs, err := camtAccountReport(dec, fmt.Sprintf("%s[%d]", group, n))
				if err != nil {
					return Statement{}, err
				}
				st.Transactions = append(st.Transactions, txs...)
			default:
				if err := dec.Skip(); err != nil {
					return Statement{}, entryErr(t.Name.Local, "", "truncated or malformed XML: %v", err)
				}
			}
		case xml.EndElement: // </BkToCstmrStmt>
			if n == 0 {
				return Statement{}, entryErr("", "", "the document has no <%s>", group)
			}
			// The rest must close the document cleanly: a truncated file is refused.
			for {
				if _, err := dec.Token(); err == io.EOF {
					return st, nil
				} else if err != nil {
					return Statement{}, entryErr("", "", "after the last %s: %v", group, err)
				}
			}
		}
	}
}

// camtAccountReport reads one Stmt (or Ntfctn) after its start element.
func camtAccountReport(dec *xml.Decoder, where string) ([]Transaction, error) {
	var (
		account string
		txs     []Transaction
		entries int
	)
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, entryErr(fmt.Sprintf("%s/Ntry[%d]", where, entries+1), "", "truncated or malformed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "Acct":
				var a camt_v08.CashAccount39
				if err := dec.DecodeElement(&a, &t); err != nil {
					return nil, entryErr(where, "Acct", "%v", err)
				}
				account = clip(cmpOr(string(a.Id.IBAN), string(a.Id.Othr.Id)), maxField)
				if account == "" {
					return nil, entryErr(where, "Acct/Id", "the account has no IBAN and no other id")
				}
			case "Ntry":
				entries++
				entry := fmt.Sprintf("%s/Ntry[%d]", where, entries)
				if account == "" {
					return nil, entryErr(entry, "", "comes before the statement's <Acct>, or the statement has none")
				}
				var raw struct {
					Inner []byte `xml:",innerxml"`
				}
				if err := dec.DecodeElement(&raw, &t); err != nil {
					return nil, entryErr(entry, "", "truncated or malformed XML: %v", err)
				}
				got, err := camtEntry(raw.Inner, account, entry)
				if err != nil {
					return nil, err
				}
				txs = append(txs, got...)
			default:
				if err := dec.Skip(); err != nil {
					return nil, entryErr(where, t.Name.Local, "truncated or malformed XML: %v", err)
				}
			}
		case xml.EndElement:
			if account == "" {
				return nil, entryErr(where, "Acct", "the statement names no account")
			}
			return txs, nil
		}
	}
}

// amountText is an amount as written: the library reads amounts as float64, which
// cannot tell "10.005" from "10.01" nor say how many decimals were sent, so the
// money is read from the text with money.Parse.
type amountText struct {
	Value string `xml:",chardata"`
	Ccy   string `xml:"Ccy,attr"`
}

type entryAmounts struct {
	Amt     amountText `xml:"Amt"`
	Details []struct {
		Txs []struct {
			Amt   *amountText `xml:"Amt"`
			TxAmt *amountText `xml:"AmtDtls>TxAmt>Amt"`
		} `xml:"TxDtls"`
	} `xml:"NtryDtls"`
}

// camtEntry turns one entry into its transactions: one, or one per TxDtls when the
// entry books several (a batch with details).
func camtEntry(inner []byte, account, entry string) ([]Transaction, error) {
	doc := make([]byte, 0, len(inner)+13)
	doc = append(append(append(doc, "<Ntry>"...), inner...), "</Ntry>"...)
	var e camt_v08.ReportEntry10
	if err := xml.Unmarshal(doc, &e); err != nil {
		return nil, entryErr(entry, "", "%v", readable(err))
	}
	var amts entryAmounts
	if err := xml.Unmarshal(doc, &amts); err != nil {
		return nil, entryErr(entry, "", "%v", readable(err))
	}
	ref := cmpOr(ptrText(e.AcctSvcrRef), ptrText(e.NtryRef))
	if ref == "" {
		return nil, entryErr(entry, "AcctSvcrRef", "missing, and no NtryRef either: the bank's reference is what identifies a transaction")
	}
	entry += " (" + ref + ")"
	currency := strings.TrimSpace(amts.Amt.Ccy)
	amount, err := parseAmount(amts.Amt.Value, currency)
	if err != nil {
		return nil, entryErr(entry, "Amt", "%v", err)
	}
	base := Transaction{Account: account, Ref: clip(ref, maxField), Entry: entry, Currency: currency, Amount: amount, Reversal: e.RvslInd}
	switch e.CdtDbtInd {
	case "CRDT":
		base.Credit = true
	case "DBIT":
	default:
		return nil, entryErr(entry, "CdtDbtInd", "%q is neither CRDT nor DBIT", e.CdtDbtInd)
	}
	switch strings.TrimSpace(string(e.Sts.Cd)) {
	case "BOOK":
		base.Booking = Booked
	case "PDNG":
		base.Booking = Pending
	case "INFO", "FUTR":
		base.Booking = Info
	default:
		return nil, entryErr(entry, "Sts/Cd", "%q is not BOOK, PDNG, INFO or FUTR", e.Sts.Cd)
	}
	if e.BookgDt != nil {
		base.BookedAt = bookingDate(e.BookgDt)
	}
	entryText := ptrText(e.AddtlNtryInf)
	var details []camt_v08.EntryTransaction10
	for _, d := range e.NtryDtls {
		if d.Btch != nil && d.Btch.NbOfTxs != nil {
			if n, err := strconv.Atoi(string(*d.Btch.NbOfTxs)); err == nil && n > 0 {
				base.Batch += n
			}
		}
		details = append(details, d.TxDtls...)
	}
	var detailAmts []*amountText
	for _, d := range amts.Details {
		for _, t := range d.Txs {
			detailAmts = append(detailAmts, cmpPtr(t.Amt, t.TxAmt))
		}
	}
	if len(details) <= 1 {
		tx := base
		tx.Text = entryText
		if len(details) == 1 {
			// One transaction with an amount of its own must be the entry's, as the
			// transactions of a batch must add up to it: which one the bank booked
			// would otherwise be a guess.
			if len(detailAmts) > 0 && detailAmts[0] != nil {
				where := entry + "/TxDtls[1]"
				ccy := cmpOr(strings.TrimSpace(detailAmts[0].Ccy), currency)
				if ccy != currency {
					return nil, entryErr(where, "Amt", "currency %s differs from the entry's %s", ccy, currency)
				}
				amt, err := parseAmount(detailAmts[0].Value, ccy)
				if err != nil {
					return nil, entryErr(where, "Amt", "%v", err)
				}
				if amt != amount {
					return nil, entryErr(where, "Amt", "is %s %s but the entry is %s %s",
						money.Format(amt, currency), currency, money.Format(amount, currency), currency)
				}
			}
			camtDetails(&tx, &details[0], entryText)
		}
		return []Transaction{tx}, nil
	}
	// Several transactions in one entry: each is its own, with its own amount.
	txs := make([]Transaction, 0, len(details))
	var sum int64
	for i := range details {
		d := &details[i]
		where := fmt.Sprintf("%s/TxDtls[%d]", entry, i+1)
		if i >= len(detailAmts) || detailAmts[i] == nil {
			return nil, entryErr(where, "Amt", "missing: an entry that books several transactions must give each one's amount")
		}
		ccy := cmpOr(strings.TrimSpace(detailAmts[i].Ccy), currency)
		if ccy != currency {
			return nil, entryErr(where, "Amt", "currency %s differs from the entry's %s", ccy, currency)
		}
		amt, err := parseAmount(detailAmts[i].Value, ccy)
		if err != nil {
			return nil, entryErr(where, "Amt", "%v", err)
		}
		sum += amt
		tx := base
		tx.Entry, tx.Amount, tx.Batch = where, amt, 0
		own := fmt.Sprintf("#%d", i+1)
		if d.Refs != nil && d.Refs.AcctSvcrRef != nil && strings.TrimSpace(string(*d.Refs.AcctSvcrRef)) != "" {
			own = strings.TrimSpace(string(*d.Refs.AcctSvcrRef))
		}
		tx.Ref = clip(ref+"/"+own, 2*maxField)
		camtDetails(&tx, d, "")
		txs = append(txs, tx)
	}
	if sum != amount {
		return nil, entryErr(entry, "NtryDtls", "the transactions add up to %s %s but the entry is %s %s",
			money.Format(sum, currency), currency, money.Format(amount, currency), currency)
	}
	return txs, nil
}

// camtDetails copies one TxDtls's references, payer and remittance onto tx.
func camtDetails(tx *Transaction, d *camt_v08.EntryTransaction10, entryText string) {
	if d.Refs != nil && d.Refs.EndToEndId != nil {
		if id := strings.TrimSpace(string(*d.Refs.EndToEndId)); id != "NOTPROVIDED" {
			tx.EndToEndID = clip(id, maxField)
		}
	}
	if p := d.RltdPties; p != nil {
		party, acct := p.Dbtr, p.DbtrAcct
		if !tx.Credit {
			party, acct = p.Cdtr, p.CdtrAcct
		}
		if party != nil && party.Pty != nil && party.Pty.Nm != nil {
			tx.Payer.Name = clip(string(*party.Pty.Nm), maxField)
		}
		if acct != nil && acct.Id != nil {
			tx.Payer.Account = clip(cmpOr(string(acct.Id.IBAN), string(acct.Id.Othr.Id)), maxField)
		}
	}
	var text []string
	if r := d.RmtInf; r != nil {
		for _, u := range r.Ustrd {
			text = append(text, string(u))
		}
		for _, s := range r.Strd {
			if s.CdtrRefInf != nil && s.CdtrRefInf.Ref != nil {
				tx.References = addItem(tx.References, string(*s.CdtrRefInf.Ref))
			}
			for _, doc := range s.RfrdDocInf {
				if doc.Nb != nil {
					tx.Documents = addItem(tx.Documents, string(*doc.Nb))
				}
			}
			for _, a := range s.AddtlRmtInf {
				text = append(text, string(a))
			}
		}
	}
	text = append(text, ptrText(d.AddtlTxInf), entryText)
	tx.Text = joinText(text...)
}

// parseAmount reads a camt or OFX amount in major units with money.Parse: no sign,
// at most the currency's decimals, positive.
func parseAmount(s, currency string) (int64, error) {
	if !money.ValidCurrency(currency) {
		return 0, fmt.Errorf("currency %q is not an ISO 4217 code", currency)
	}
	v, err := money.Parse(strings.TrimSpace(s), currency)
	var de *money.DecimalsError
	switch {
	case errors.As(err, &de):
		return 0, err
	case err != nil:
		return 0, fmt.Errorf("%q is not an amount: %v", strings.TrimSpace(s), err)
	case v == 0:
		return 0, errors.New("is zero")
	}
	return v, nil
}

// bookingDate is the date-time, else the date, of a BookgDt; zero if neither.
func bookingDate(c *camt_v08.DateAndDateTime2Choice) time.Time {
	if t := time.Time(c.DtTm); !t.IsZero() {
		return t.UTC()
	}
	if t := time.Time(c.Dt); !t.IsZero() {
		return t.UTC()
	}
	return time.Time{}
}

// readable trims the library's and encoding/xml's error text to what an operator
// needs.
func readable(err error) string {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return "malformed XML: " + se.Msg
	}
	var ne *strconv.NumError
	if errors.As(err, &ne) {
		return fmt.Sprintf("%q is not a number", ne.Num)
	}
	return err.Error()
}

func nextStart(dec *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		if s, ok := tok.(xml.StartElement); ok {
			return s, nil
		}
	}
}

func ptrText[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return strings.TrimSpace(string(*p))
}

func cmpOr(a, b string) string {
	if a = strings.TrimSpace(a); a != "" {
		return a
	}
	return strings.TrimSpace(b)
}

func cmpPtr[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}
