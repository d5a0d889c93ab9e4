// Package rf computes and checks ISO 11649 structured creditor references ("RF"
// references): "RF", two check digits (ISO 7064 MOD 97-10, as in an IBAN) and up to
// 21 letters or digits. Dunwell puts one on every invoice, derived from the invoice id
// alone, so the reference a customer's bank sends back leads to exactly one invoice.
package rf

import (
	"crypto/sha256"
	"math/big"
	"strconv"
	"strings"
)

// bodyLen is the length of the reference body Dunwell derives: 20 decimal digits
// (about 66 bits of the invoice id's SHA-256, so two invoice ids practically never
// meet), digits only so that nobody types an O for a 0.
const bodyLen = 20

// ForInvoice is the RF reference of an invoice: deterministic, the same for the same
// id in every process and release ("RF47...").
func ForInvoice(invoiceID string) string {
	sum := sha256.Sum256([]byte("dunwell-invoice:" + invoiceID))
	n := new(big.Int).SetBytes(sum[:16])
	n.Mod(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(bodyLen), nil))
	body := n.Text(10)
	body = strings.Repeat("0", bodyLen-len(body)) + body
	return Make(body)
}

// Make builds the RF reference of body (1 to 21 letters and digits): "RF", the check
// digits, body. body is upper-cased; Make does not check its characters (Valid does).
func Make(body string) string {
	body = strings.ToUpper(body)
	check := 98 - mod97(body+"RF00")
	return "RF" + pad2(check) + body
}

// Normalize removes spaces and upper-cases s: references are printed in groups of four.
func Normalize(s string) string {
	return strings.ToUpper(strings.Join(strings.Fields(s), ""))
}

// Valid reports whether s (normalized) is a well-formed RF reference with the right
// check digits.
func Valid(s string) bool {
	if len(s) < 5 || len(s) > 25 || s[0] != 'R' || s[1] != 'F' {
		return false
	}
	if s[2] < '0' || s[2] > '9' || s[3] < '0' || s[3] > '9' {
		return false
	}
	for i := 4; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return mod97(s[4:]+s[:4]) == 1
}

// Format prints a reference in groups of four, as on paper ("RF47 ABCD ...").
func Format(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// mod97 is ISO 7064 MOD 97-10 of s with letters as 10..35.
func mod97(s string) int {
	r := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			r = (r*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			r = (r*100 + int(c-'A') + 10) % 97
		default:
			return -1
		}
	}
	return r
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
