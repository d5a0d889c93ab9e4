package collection

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestPaymentRequestCheck: a malformed request is refused with FieldErrors naming
// every bad field at once, whatever its currency and amount are worth.
func TestPaymentRequestCheck(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	issued := now.Add(-24 * time.Hour)
	for _, tc := range []struct {
		name string
		req  PaymentRequest
		want map[string]string // field -> part of its reason; nil: accepted
	}{
		{"complete", PaymentRequest{PaymentID: "p1", Amount: "10.00", Currency: "USD"}, nil},
		{"dated at issue", PaymentRequest{PaymentID: "p1", Amount: "10.00", Currency: "USD", PaidAt: issued.Format(time.RFC3339)}, nil},
		{"dated within the clock skew", PaymentRequest{PaymentID: "p1", Amount: "10.00", Currency: "USD", PaidAt: now.Add(PaidAtSkew).Format(time.RFC3339)}, nil},
		// Values only the invoice can judge are Fit's: Check lets them through.
		{"another currency", PaymentRequest{PaymentID: "p1", Amount: "10.00", Currency: "EUR"}, nil},
		{"zero amount", PaymentRequest{PaymentID: "p1", Amount: "0", Currency: "USD"}, nil},
		{"no payment id", PaymentRequest{Amount: "10.00", Currency: "USD"}, map[string]string{"payment_id": "is required"}},
		{"payment id not an id", PaymentRequest{PaymentID: "p 1", Amount: "10.00", Currency: "USD"}, map[string]string{"payment_id": IDProblem}},
		{"no currency", PaymentRequest{PaymentID: "p1", Amount: "10.00"}, map[string]string{"currency": "is required"}},
		{"no amount", PaymentRequest{PaymentID: "p1", Currency: "USD"}, map[string]string{"amount": "is required"}},
		{"paid_at not a timestamp", PaymentRequest{PaymentID: "p1", Amount: "10.00", Currency: "USD", PaidAt: "x"}, map[string]string{"paid_at": "RFC 3339"}},
		{"paid before issue", PaymentRequest{PaymentID: "p1", Amount: "10.00", Currency: "USD", PaidAt: issued.Add(-time.Second).Format(time.RFC3339)},
			map[string]string{"paid_at": "before the invoice was issued"}},
		{"paid in the future", PaymentRequest{PaymentID: "p1", Amount: "10.00", Currency: "USD", PaidAt: now.Add(time.Hour).Format(time.RFC3339)},
			map[string]string{"paid_at": "in the future"}},
		{"everything wrong at once", PaymentRequest{PaidAt: "x"},
			map[string]string{"payment_id": "is required", "currency": "is required", "amount": "is required", "paid_at": "RFC 3339"}},
		{"all fields named, not the first", PaymentRequest{Amount: "0", Currency: "USD", PaidAt: "x"},
			map[string]string{"payment_id": "is required", "paid_at": "RFC 3339"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.req.Check(issued, now)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var fe FieldErrors
			if !errors.As(err, &fe) || errors.Is(err, ErrInvalid) || errors.Is(err, ErrConflict) {
				t.Fatalf("%v (%T) is not FieldErrors", err, err)
			}
			if got, want := fe.Fields(), (FieldErrors(tc.want)).Fields(); !reflect.DeepEqual(got, want) {
				t.Fatalf("fields %v, want %v (%v)", got, want, fe)
			}
			for f, says := range tc.want {
				if !strings.Contains(fe[f], says) {
					t.Errorf("%s: %q does not say %q", f, fe[f], says)
				}
			}
		})
	}
}

// TestPaymentRequestFit: a well-formed request that does not fit the invoice is an
// *InvalidError naming the field, as the workflow's CheckPayment would say; one that
// fits becomes the Payment.
func TestPaymentRequestFit(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name        string
		req         PaymentRequest
		invoiceIn   string
		kind, field string
		says        string
		amount      int64
		paidAt      time.Time
	}{
		{name: "fits, dated now", req: PaymentRequest{PaymentID: "p1", Amount: "10.00", Currency: "USD"}, invoiceIn: "USD",
			kind: okay, amount: 1000, paidAt: now},
		{name: "fits, dated as given", req: PaymentRequest{PaymentID: "p1", Amount: "10", Currency: "JPY", PaidAt: "2026-03-09T08:30:00+02:00"}, invoiceIn: "JPY",
			kind: okay, amount: 10, paidAt: time.Date(2026, 3, 9, 6, 30, 0, 0, time.UTC)},
		{name: "another currency", req: PaymentRequest{PaymentID: "p1", Amount: "10.00", Currency: "EUR"}, invoiceIn: "USD",
			kind: isInvalid, field: "currency", says: "is EUR but the invoice is in USD"},
		{name: "not a currency code", req: PaymentRequest{PaymentID: "p1", Amount: "10.00", Currency: "usd"}, invoiceIn: "USD",
			kind: isInvalid, field: "currency", says: "is usd but the invoice is in USD"},
		{name: "more decimals than the invoice's currency", req: PaymentRequest{PaymentID: "p1", Amount: "10.5", Currency: "JPY"}, invoiceIn: "JPY",
			kind: isInvalid, field: "amount", says: "decimal places"},
		{name: "not a number", req: PaymentRequest{PaymentID: "p1", Amount: "ten", Currency: "USD"}, invoiceIn: "USD",
			kind: isInvalid, field: "amount", says: "not a decimal amount"},
		{name: "zero", req: PaymentRequest{PaymentID: "p1", Amount: "0.00", Currency: "USD"}, invoiceIn: "USD",
			kind: isInvalid, field: "amount", says: "must be greater than zero"},
		{name: "negative", req: PaymentRequest{PaymentID: "p1", Amount: "-1.00", Currency: "USD"}, invoiceIn: "USD",
			kind: isInvalid, field: "amount"},
		{name: "the currency is judged first", req: PaymentRequest{PaymentID: "p1", Amount: "0", Currency: "EUR"}, invoiceIn: "USD",
			kind: isInvalid, field: "currency", says: "is EUR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.req.Fit(tc.invoiceIn, now)
			checkErr(t, err, tc.kind, tc.field, tc.says)
			if tc.kind != okay {
				if !reflect.DeepEqual(p, Payment{}) {
					t.Fatalf("refused, yet returned %+v", p)
				}
				return
			}
			want := Payment{PaymentID: tc.req.PaymentID, Amount: tc.amount, PaidAt: tc.paidAt}
			if !reflect.DeepEqual(p, want) {
				t.Fatalf("got %+v, want %+v", p, want)
			}
		})
	}
}
