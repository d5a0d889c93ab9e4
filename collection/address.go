package collection

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
)

// Address is a customer's postal address, where a policy's letter steps are mailed.
// It is personal data: it travels inside the invoice's (encrypted) workflow payloads
// and in the ledger's letters, never in search attributes or logs.
type Address struct {
	// Name is the addressee as printed ("Ada Lovelace", "Accounts Payable, Acme
	// GmbH"); empty: the customer's name.
	Name string `json:"name,omitempty"`
	// Lines are the street lines, one or two ("Hauptstr. 5", "2nd floor"), as
	// print-and-mail providers take them.
	Lines []string `json:"lines"`
	// PostalCode is required in countries that have postal codes.
	PostalCode string `json:"postal_code,omitempty"`
	City       string `json:"city"`
	// Region is the state, province or prefecture where the country's post uses one
	// ("CA", "Ontario", "Tokyo"); required for US, CA and AU.
	Region string `json:"region,omitempty"`
	// Country is the ISO 3166-1 alpha-2 code ("DE", "US", "JP").
	Country string `json:"country"`
}

// Address limits: what print-and-mail providers accept on an envelope window.
const (
	maxAddressLines   = 2
	maxAddressNameLen = 40
	maxAddressLineLen = 64
	maxCityLen        = 64
	maxRegionLen      = 64
	maxPostalCodeLen  = 12
)

// postalCodeFormats are the postal code patterns of the countries Dunwell's customers
// are most often in; any other country's code is checked only for its characters.
var postalCodeFormats = map[string]struct {
	re      *regexp.Regexp
	example string
}{
	"US": {regexp.MustCompile(`^\d{5}(-\d{4})?$`), `"94105" or "94105-1804"`},
	"DE": {regexp.MustCompile(`^\d{5}$`), `"10115"`},
	"AT": {regexp.MustCompile(`^\d{4}$`), `"1010"`},
	"CH": {regexp.MustCompile(`^\d{4}$`), `"8001"`},
	"FR": {regexp.MustCompile(`^\d{5}$`), `"75001"`},
	"IT": {regexp.MustCompile(`^\d{5}$`), `"00184"`},
	"ES": {regexp.MustCompile(`^\d{5}$`), `"28013"`},
	"NL": {regexp.MustCompile(`^\d{4} ?[A-Z]{2}$`), `"1012 AB"`},
	"BE": {regexp.MustCompile(`^\d{4}$`), `"1000"`},
	"JP": {regexp.MustCompile(`^\d{3}-?\d{4}$`), `"100-0001"`},
	"CA": {regexp.MustCompile(`^[A-Z]\d[A-Z] ?\d[A-Z]\d$`), `"K1A 0B1"`},
	"GB": {regexp.MustCompile(`^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$`), `"SW1A 1AA"`},
	"AU": {regexp.MustCompile(`^\d{4}$`), `"2000"`},
}

// noPostalCodes are countries whose post uses no postal codes.
var noPostalCodes = map[string]bool{
	"AE": true, "AG": true, "AO": true, "BS": true, "BZ": true, "FJ": true, "GH": true, "HK": true,
	"IE": true, "JM": true, "MO": true, "QA": true, "TZ": true, "UG": true, "ZW": true,
}

// regionRequired are countries whose addresses need Region.
var regionRequired = map[string]bool{"US": true, "CA": true, "AU": true}

var otherPostalCode = regexp.MustCompile(`^[A-Z0-9][A-Z0-9 -]{1,10}[A-Z0-9]$`)

// Validate checks the address field by field and returns it normalised (trimmed,
// country and postal code upper-cased), adding each problem to fe under
// prefix+"."+field ("customer.address.postal_code").
func (a *Address) Validate(prefix string, fe FieldErrors) Address {
	out := Address{
		Name: strings.TrimSpace(a.Name), PostalCode: strings.ToUpper(strings.Join(strings.Fields(a.PostalCode), " ")),
		City: strings.TrimSpace(a.City), Region: strings.TrimSpace(a.Region), Country: strings.ToUpper(strings.TrimSpace(a.Country)),
	}
	bad := func(field, problem string) { fe[prefix+"."+field] = problem }
	text := func(field, v string, maxLen int) bool {
		switch {
		case !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl):
			bad(field, "must be printable text on one line")
		case utf8.RuneCountInString(v) > maxLen:
			bad(field, "must be at most "+strconv.Itoa(maxLen)+" characters")
		default:
			return true
		}
		return false
	}
	if out.Name != "" {
		text("name", out.Name, maxAddressNameLen)
	}
	for _, l := range a.Lines {
		if l = strings.TrimSpace(l); l != "" {
			out.Lines = append(out.Lines, l)
		}
	}
	switch {
	case len(out.Lines) == 0:
		bad("lines", "must hold the street address, one or two lines")
	case len(out.Lines) > maxAddressLines:
		bad("lines", "must be at most two lines")
	default:
		for i, l := range out.Lines {
			text("lines["+strconv.Itoa(i)+"]", l, maxAddressLineLen)
		}
	}
	if out.City == "" {
		bad("city", "is required")
	} else {
		text("city", out.City, maxCityLen)
	}
	countryOK := false
	if out.Country == "" {
		bad("country", "is required (an ISO 3166-1 alpha-2 code like \"DE\")")
	} else if r, err := language.ParseRegion(out.Country); err != nil || len(out.Country) != 2 || !r.IsCountry() || r.String() != out.Country {
		bad("country", "must be an ISO 3166-1 alpha-2 country code like \"DE\" or \"US\"")
	} else {
		countryOK = true
	}
	if out.Region != "" {
		text("region", out.Region, maxRegionLen)
	} else if countryOK && regionRequired[out.Country] {
		bad("region", "is required for an address in "+out.Country+" (the state or province)")
	}
	switch {
	case out.PostalCode == "" && countryOK && !noPostalCodes[out.Country]:
		bad("postal_code", "is required for an address in "+out.Country)
	case out.PostalCode == "":
	case len(out.PostalCode) > maxPostalCodeLen:
		bad("postal_code", "must be at most "+strconv.Itoa(maxPostalCodeLen)+" characters")
	case countryOK && postalCodeFormats[out.Country].re != nil:
		if f := postalCodeFormats[out.Country]; !f.re.MatchString(out.PostalCode) {
			bad("postal_code", "is not a postal code of "+out.Country+" (like "+f.example+")")
		}
	case !otherPostalCode.MatchString(out.PostalCode):
		bad("postal_code", "must be 3-12 letters, digits, spaces or hyphens")
	}
	return out
}

// Printed returns the address as printed on an envelope, addressed to name when the
// address names nobody: addressee, street lines, the postal code and city in the
// country's order, the region, and the country's code.
func (a Address) Printed(name string) []string {
	if a.Name != "" {
		name = a.Name
	}
	out := []string{}
	if name != "" {
		out = append(out, name)
	}
	out = append(out, a.Lines...)
	switch a.Country {
	case "US", "CA", "AU":
		out = append(out, strings.TrimSpace(a.City+" "+a.Region+" "+a.PostalCode))
	case "GB":
		out = append(out, a.City, a.PostalCode)
	case "JP":
		out = append(out, strings.TrimSpace(a.PostalCode+" "+a.Region+" "+a.City))
	default:
		out = append(out, strings.TrimSpace(a.PostalCode+" "+a.City))
		if a.Region != "" {
			out = append(out, a.Region)
		}
	}
	return append(out, a.Country)
}
