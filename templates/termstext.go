package templates

import (
	"bytes"
	"fmt"
)

// Text states the terms in words for an invoice in currency, read in locale: the
// sentence the messages carry ("A late fee of 2% of the unpaid amount is charged 7
// days after the due date."). Unknown terms are "".
func (t Terms) Text(currency, locale string) (string, error) {
	if !t.Known() {
		return "", nil
	}
	var b bytes.Buffer
	if err := accountSet(locale).text.ExecuteTemplate(&b, "terms", t.textOf(currency, locale)); err != nil {
		return "", fmt.Errorf("rendering the terms of %s: %w", t.Policy, err)
	}
	return oneLine(b.String()), nil
}
