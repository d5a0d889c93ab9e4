package collection

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/policy"
)

func TestAddressValidate(t *testing.T) {
	good := func() Address {
		return Address{Lines: []string{" Hauptstr. 5 "}, PostalCode: "10115", City: "Berlin", Country: "de"}
	}
	cases := []struct {
		name   string
		edit   func(a *Address)
		errors map[string]string // field (without the prefix) -> part of the problem
	}{
		{"valid German address", func(*Address) {}, nil},
		{"valid US address with ZIP+4", func(a *Address) {
			a.Lines, a.City, a.Region, a.PostalCode, a.Country = []string{"1 Market St"}, "San Francisco", "CA", "94105-1804", "US"
		}, nil},
		{"valid Japanese address", func(a *Address) {
			a.Lines, a.City, a.Region, a.PostalCode, a.Country = []string{"1-1 Marunouchi"}, "Chiyoda-ku", "Tokyo", "100-0001", "JP"
		}, nil},
		{"valid Dutch code without the space, lower case", func(a *Address) { a.PostalCode, a.City, a.Country = "1012ab", "Amsterdam", "NL" }, nil},
		{"Irish address without a postal code", func(a *Address) { a.PostalCode, a.City, a.Country = "", "Dublin", "IE" }, nil},
		{"country of another format", func(a *Address) { a.PostalCode, a.City, a.Country = "00-950", "Warszawa", "PL" }, nil},
		{"no lines", func(a *Address) { a.Lines = []string{"  "} }, map[string]string{"lines": "one or two lines"}},
		{"three lines", func(a *Address) { a.Lines = []string{"a", "b", "c"} }, map[string]string{"lines": "at most two"}},
		{"a line too long", func(a *Address) { a.Lines = []string{"ok", strings.Repeat("x", 65)} }, map[string]string{"lines[1]": "at most 64"}},
		{"a line with a newline", func(a *Address) { a.Lines = []string{"Haupt\nstr. 5"} }, map[string]string{"lines[0]": "one line"}},
		{"no city", func(a *Address) { a.City = "" }, map[string]string{"city": "is required"}},
		{"no country", func(a *Address) { a.Country = "" }, map[string]string{"country": "is required"}},
		{"three-letter country", func(a *Address) { a.Country = "DEU" }, map[string]string{"country": "alpha-2"}},
		{"unknown country", func(a *Address) { a.Country = "XX" }, map[string]string{"country": "alpha-2"}},
		{"not a country (EU)", func(a *Address) { a.Country = "EU" }, map[string]string{"country": "alpha-2"}},
		{"German code of four digits", func(a *Address) { a.PostalCode = "1011" }, map[string]string{"postal_code": `not a postal code of DE (like "10115")`}},
		{"missing postal code", func(a *Address) { a.PostalCode = "" }, map[string]string{"postal_code": "is required for an address in DE"}},
		{"US without a state", func(a *Address) { a.PostalCode, a.Country = "94105", "US" }, map[string]string{"region": "is required"}},
		{"postal code of symbols", func(a *Address) { a.PostalCode, a.Country = "12#4", "PL" }, map[string]string{"postal_code": "letters, digits"}},
		{"name too long", func(a *Address) { a.Name = strings.Repeat("n", 41) }, map[string]string{"name": "at most 40"}},
		{"several problems at once", func(a *Address) { a.City, a.Country, a.Lines = "", "ZZ", nil }, map[string]string{
			"city": "is required", "country": "alpha-2", "lines": "one or two"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := good()
			tc.edit(&a)
			fe := FieldErrors{}
			out := a.Validate("customer.address", fe)
			require.Len(t, fe, len(tc.errors), "errors: %v", fe)
			for field, want := range tc.errors {
				require.Contains(t, fe["customer.address."+field], want, "field %s", field)
			}
			if len(tc.errors) == 0 {
				require.Equal(t, strings.ToUpper(a.Country), out.Country)
				for _, l := range out.Lines {
					require.Equal(t, strings.TrimSpace(l), l)
				}
			}
		})
	}
}

func TestAddressPrinted(t *testing.T) {
	de := Address{Lines: []string{"Hauptstr. 5"}, PostalCode: "10115", City: "Berlin", Country: "DE"}
	require.Equal(t, []string{"Erika Mustermann", "Hauptstr. 5", "10115 Berlin", "DE"}, de.Printed("Erika Mustermann"))
	us := Address{Name: "Accounts Payable", Lines: []string{"1 Market St", "Suite 300"}, PostalCode: "94105", City: "San Francisco", Region: "CA", Country: "US"}
	require.Equal(t, []string{"Accounts Payable", "1 Market St", "Suite 300", "San Francisco CA 94105", "US"}, us.Printed("Ada"))
}

func TestInvoiceRequestAddress(t *testing.T) {
	req := validRequestForAddress()
	req.Customer.Address = &Address{Lines: []string{"Hauptstr. 5"}, PostalCode: "1011", City: "Berlin", Country: "DE"}
	_, fe := req.Validate(mustTime(t, "2026-11-02T00:00:00Z"))
	require.Equal(t, []string{"customer.address.postal_code"}, fe.Fields())

	req.Customer.Address.PostalCode = "10115"
	req.Customer.Channels = []string{"letter", "email"}
	inv, fe := req.Validate(mustTime(t, "2026-11-02T00:00:00Z"))
	require.Empty(t, fe)
	require.NotNil(t, inv.Customer.Address)
	require.True(t, inv.Customer.Reachable(policy.Letter))
	require.False(t, inv.Customer.Reachable(policy.SMS))

	req.Customer.Address = nil
	inv, fe = req.Validate(mustTime(t, "2026-11-02T00:00:00Z"))
	require.Empty(t, fe)
	require.False(t, inv.Customer.Reachable(policy.Letter), "no address, no letter")
}

func validRequestForAddress() InvoiceRequest {
	return InvoiceRequest{
		ID: "INV-L1", Currency: "EUR", AmountDue: "100.00", IssuedAt: "2026-11-01T10:00:00Z", DueDate: "2026-12-01",
		Customer: CustomerRequest{ID: "C-L1", Name: "Erika Mustermann", Email: "erika@example.com", Timezone: "Europe/Berlin", Locale: "de-DE"},
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return v
}
