package bank

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/aclindsa/ofxgo"

	"github.com/dunwell/dunwell/money"
)

// Parse reads a statement of the given format ("" means a camt document whose
// namespace says which) from r. It is all or nothing: the first problem is returned
// as an *EntryError naming the entry and field, and no transaction with it. r should
// be bounded by the caller (the API's size limit).
func Parse(format Format, r io.Reader) (Statement, error) {
	var (
		st  Statement
		err error
	)
	switch format {
	case FormatOFX:
		st, err = parseOFX(r)
	case "", FormatCamt053, FormatCamt054:
		st, err = parseCamt(r, format)
	default:
		return Statement{}, entryErr("", "", "unknown format %q", format)
	}
	if err != nil {
		return Statement{}, err
	}
	// The bank's reference identifies a transaction: two in one file with the same
	// one would be stored as one, so the file is refused instead.
	seen := make(map[[2]string]string, len(st.Transactions))
	for _, t := range st.Transactions {
		k := [2]string{t.Account, t.Ref}
		if prev, ok := seen[k]; ok {
			return Statement{}, entryErr(t.Entry, "", "has the same bank reference %q as %s", t.Ref, prev)
		}
		seen[k] = t.Entry
	}
	return st, nil
}

// parseOFX reads an OFX 1.x (SGML) or 2.x (XML) bank statement download with
// github.com/aclindsa/ofxgo: every STMTTRN of every bank statement (BANKMSGSRSV1).
// Amounts are exact (ofxgo keeps them as big.Rat); credit or debit is the sign.
func parseOFX(r io.Reader) (Statement, error) {
	// ofxgo guesses the version from the header; a file with no OFX header at all
	// is answered here, in words, rather than with its guess's error.
	br := bufio.NewReader(r)
	head, _ := br.Peek(512)
	if !bytes.Contains(bytes.ToUpper(head), []byte("OFX")) {
		return Statement{}, entryErr("", "", "not an OFX file: no OFX header in the first 512 bytes")
	}
	resp, err := ofxgo.ParseResponse(br)
	if err != nil {
		return Statement{}, entryErr("", "", "malformed OFX: %v", err)
	}
	st := Statement{Format: FormatOFX}
	for i, m := range resp.Bank {
		sr, ok := m.(*ofxgo.StatementResponse)
		if !ok {
			continue
		}
		where := fmt.Sprintf("STMTTRNRS[%d]", i+1)
		if st.ID == "" {
			st.ID = clip(string(sr.TrnUID), maxField)
		}
		if sr.Status.Code != 0 {
			return Statement{}, entryErr(where, "STATUS", "the bank answered code %d: %s", sr.Status.Code, sr.Status.Message)
		}
		account := clip(strings.Trim(string(sr.BankAcctFrom.BankID)+"/"+string(sr.BankAcctFrom.AcctID), "/"), maxField)
		if sr.BankAcctFrom.AcctID == "" {
			return Statement{}, entryErr(where, "BANKACCTFROM/ACCTID", "missing")
		}
		defCurrency := strings.TrimSpace(sr.CurDef.String())
		if sr.BankTranList != nil {
			for j := range sr.BankTranList.Transactions {
				tx, err := ofxTransaction(&sr.BankTranList.Transactions[j], account, defCurrency, fmt.Sprintf("%s/STMTTRN[%d]", where, j+1))
				if err != nil {
					return Statement{}, err
				}
				st.Transactions = append(st.Transactions, tx)
			}
		}
		// BANKTRANLISTP (pending) is not read: its entries carry no FITID and are not
		// on the account yet; each comes again in BANKTRANLIST once booked.
	}
	if len(st.Transactions) == 0 {
		return Statement{}, entryErr("", "BANKMSGSRSV1", "the file has no bank statement transactions")
	}
	return st, nil
}

func ofxTransaction(t *ofxgo.Transaction, account, defCurrency, entry string) (Transaction, error) {
	ref := strings.TrimSpace(string(t.FiTID))
	if ref == "" {
		return Transaction{}, entryErr(entry, "FITID", "missing: the bank's transaction id is what identifies it")
	}
	entry += " (" + ref + ")"
	currency := defCurrency
	if ok, _ := currencyValid(t.Currency); ok {
		currency = t.Currency.CurSym.String()
	}
	if !money.ValidCurrency(currency) {
		return Transaction{}, entryErr(entry, "CURDEF", "currency %q is not an ISO 4217 code", currency)
	}
	amount, credit, err := ratMinor(&t.TrnAmt.Rat, currency)
	if err != nil {
		return Transaction{}, entryErr(entry, "TRNAMT", "%v", err)
	}
	tx := Transaction{
		Account: account, Ref: clip(ref, maxField), Entry: entry, Credit: credit, Booking: Booked,
		Currency: currency, Amount: amount, BookedAt: t.DtPosted.UTC(),
		// CORRECTACTION DELETE takes back an earlier transaction: recorded, not applied.
		Reversal: t.CorrectAction.String() == "DELETE",
	}
	name := string(t.Name)
	if t.Payee != nil {
		name = string(t.Payee.Name)
	}
	tx.Payer.Name = clip(name, maxField)
	if t.BankAcctTo != nil {
		tx.Payer.Account = clip(string(t.BankAcctTo.AcctID), maxField)
	}
	tx.Text = joinText(string(t.Memo), string(t.ExtdName))
	return tx, nil
}

// ratMinor converts an exact OFX amount to minor units of currency, refusing more
// decimals than it has and zero. The sign says credit (positive) or debit.
func ratMinor(r *big.Rat, currency string) (int64, bool, error) {
	exp, _ := money.Exponent(currency)
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
	if !scaled.IsInt() {
		return 0, false, fmt.Errorf("%s has more decimal places than %s allows (%d)", r.FloatString(6), currency, exp)
	}
	v := scaled.Num()
	credit := v.Sign() > 0
	v = new(big.Int).Abs(v)
	switch {
	case v.Sign() == 0:
		return 0, false, fmt.Errorf("is zero")
	case !v.IsInt64() || v.Int64() > money.MaxMinor:
		return 0, false, fmt.Errorf("%s is too large", r.FloatString(exp))
	}
	return v.Int64(), credit, nil
}

func currencyValid(c *ofxgo.Currency) (bool, error) {
	if c == nil {
		return false, nil
	}
	return c.CurSym.Valid()
}
