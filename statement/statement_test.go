package statement

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d.Add(10 * time.Hour)
}

func ptr(t time.Time) *time.Time { return &t }

// account is one customer with invoices in three currencies: EUR with a partial
// payment, a late fee and interest; USD refunded after being paid (re-opened) and
// one paid in full and closed; JPY not yet due, plus one in EUR issued after the
// statement date.
func account() Data {
	return Data{
		CustomerID: "C-42",
		Invoices: []Invoice{
			{InvoiceID: "INV-E1", Currency: "EUR", AmountDue: 100_000, IssuedAt: day("2026-09-01"), DueDate: "2026-10-01", Status: "overdue", PolicyID: "standard"},
			{InvoiceID: "INV-E2", Currency: "EUR", AmountDue: 20_000, IssuedAt: day("2026-11-01"), DueDate: "2026-11-20", Status: "overdue", PolicyID: "standard"},
			{InvoiceID: "INV-E3", Currency: "EUR", AmountDue: 5_000, IssuedAt: day("2026-12-20"), DueDate: "2027-01-20", Status: "open", PolicyID: "standard"},
			{InvoiceID: "INV-U1", Currency: "USD", AmountDue: 50_000, IssuedAt: day("2026-06-01"), DueDate: "2026-07-01", Status: "overdue", PolicyID: "strict"},
			{InvoiceID: "INV-U2", Currency: "USD", AmountDue: 7_000, IssuedAt: day("2026-10-01"), DueDate: "2026-11-01", Status: "paid", PolicyID: "strict",
				ClosedAt: ptr(day("2026-11-25"))},
			{InvoiceID: "INV-J1", Currency: "JPY", AmountDue: 120_000, IssuedAt: day("2026-12-01"), DueDate: "2026-12-31", Status: "open", PolicyID: "gentle"},
		},
		Payments: []Payment{
			{InvoiceID: "INV-E1", PaymentID: "p1", Currency: "EUR", Amount: 30_000, Applied: 30_000, PaidAt: day("2026-10-15")},
			{InvoiceID: "INV-E1", PaymentID: "p2", Currency: "EUR", Amount: 20_000, Applied: 20_000, PaidAt: day("2026-11-25")},
			{InvoiceID: "INV-U1", PaymentID: "p3", Currency: "USD", Amount: 50_000, Applied: 50_000, PaidAt: day("2026-08-01")},
			{InvoiceID: "INV-U2", PaymentID: "p4", Currency: "USD", Amount: 7_000, Applied: 7_000, PaidAt: day("2026-11-25")},
			// after the statement date: not counted
			{InvoiceID: "INV-E2", PaymentID: "p5", Currency: "EUR", Amount: 20_000, Applied: 20_000, PaidAt: day("2026-12-08")},
		},
		Adjustments: []Adjustment{
			{InvoiceID: "INV-E1", AdjustmentID: "fee", Kind: "late_fee", Currency: "EUR", Amount: 4_000, At: day("2026-10-08")},
			{InvoiceID: "INV-E1", AdjustmentID: "int", Kind: "interest", Currency: "EUR", Amount: 1_234, At: day("2026-11-30")},
			{InvoiceID: "INV-U1", AdjustmentID: "re_1", Kind: "refund", Currency: "USD", Amount: 15_000, Reason: "returned goods", At: day("2026-11-28")},
			{InvoiceID: "INV-E2", AdjustmentID: "cn-1", Kind: "credit_note", Currency: "EUR", Amount: -2_500, At: day("2026-11-22")},
		},
	}
}

func TestCompute(t *testing.T) {
	st := Compute(account(), Options{AsOf: day("2026-12-07"), Since: day("2026-11-08"),
		Terms: func(p, _ string) string { return "terms of " + p }})
	require.Equal(t, "C-42", st.CustomerID)
	require.Equal(t, "2026-12-07", st.AsOf)
	require.Equal(t, "2026-11-08", st.Since)
	require.Len(t, st.Currencies, 3, "one section per currency")
	byCur := map[string]Section{}
	for _, s := range st.Currencies {
		byCur[s.Currency] = s
	}
	require.Equal(t, []string{"EUR", "JPY", "USD"}, []string{st.Currencies[0].Currency, st.Currencies[1].Currency, st.Currencies[2].Currency})

	tests := []struct {
		currency string
		items    []string // invoice ids in order
		balances []int64
		overdue  []int
		balance  int64
		aging    []int64
		paid     int64
		credited int64
		payments []string
		credits  []string
	}{
		{
			// E1: 1000.00 + 40.00 fee + 12.34 interest - 500.00 paid; E2: 200.00 - 25.00
			// credit note; E3 issued after the statement date.
			currency: "EUR", items: []string{"INV-E1", "INV-E2"}, balances: []int64{55_234, 17_500},
			overdue: []int{67, 17}, balance: 72_734, aging: []int64{0, 17_500, 0, 55_234, 0},
			paid: 20_000, credited: -2_500, payments: []string{"p2"}, credits: []string{"cn-1"},
		},
		{
			// Not yet due: current.
			currency: "JPY", items: []string{"INV-J1"}, balances: []int64{120_000}, overdue: []int{0},
			balance: 120_000, aging: []int64{120_000, 0, 0, 0, 0},
		},
		{
			// U1 paid in August, 150.00 refunded in the period: open again. U2 paid
			// and closed in the period: only its payment shows.
			currency: "USD", items: []string{"INV-U1"}, balances: []int64{15_000}, overdue: []int{159},
			balance: 15_000, aging: []int64{0, 0, 0, 0, 15_000},
			paid: 7_000, credited: 15_000, payments: []string{"p4"}, credits: []string{"re_1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.currency, func(t *testing.T) {
			s := byCur[tt.currency]
			var ids []string
			var bals []int64
			var days []int
			for _, it := range s.OpenItems {
				ids, bals, days = append(ids, it.InvoiceID), append(bals, it.Balance.Minor), append(days, it.DaysOverdue)
				require.Equal(t, tt.currency, it.Balance.Currency)
				require.Equal(t, "terms of "+it.PolicyID, it.Terms)
			}
			require.Equal(t, tt.items, ids)
			require.Equal(t, tt.balances, bals)
			require.Equal(t, tt.overdue, days)
			require.Equal(t, tt.balance, s.Balance.Minor)
			var aging []int64
			for i, b := range s.Aging {
				require.Equal(t, Buckets[i], b.Bucket)
				aging = append(aging, b.Amount.Minor)
			}
			require.Equal(t, tt.aging, aging)
			require.Equal(t, tt.paid, s.PaidSince.Minor)
			require.Equal(t, tt.credited, s.CreditedSince.Minor)
			var pays, creds []string
			for _, p := range s.Payments {
				pays = append(pays, p.PaymentID)
			}
			for _, c := range s.Credits {
				creds = append(creds, c.AdjustmentID)
			}
			require.Equal(t, tt.payments, pays)
			require.Equal(t, tt.credits, creds)
		})
	}

	e1 := byCur["EUR"].OpenItems[0]
	require.Equal(t, []Fee{{Kind: "late_fee", Amount: Money{4_000, "EUR"}}}, e1.Fees)
	require.Equal(t, int64(1_234), e1.Interest.Minor)
	require.Equal(t, int64(50_000), e1.Paid.Minor, "both partial payments")
	require.Equal(t, "61_90", e1.Bucket)
}

func TestComputeEdges(t *testing.T) {
	tests := []struct {
		name  string
		data  Data
		asOf  string
		since string
		want  func(t *testing.T, st Statement)
	}{
		{
			name: "no activity and nothing open: no sections",
			data: Data{CustomerID: "C-1", Invoices: []Invoice{{InvoiceID: "A", Currency: "EUR", AmountDue: 100, IssuedAt: day("2026-01-01"),
				DueDate: "2026-01-31", ClosedAt: ptr(day("2026-02-01"))}}, Payments: []Payment{{InvoiceID: "A", PaymentID: "p",
				Currency: "EUR", Amount: 100, Applied: 100, PaidAt: day("2026-02-01")}}},
			asOf: "2026-06-30", since: "2026-06-01",
			want: func(t *testing.T, st Statement) { require.Empty(t, st.Currencies) },
		},
		{
			name: "without since every payment is activity; an over-payment shows what was received",
			data: Data{CustomerID: "C-1", Invoices: []Invoice{{InvoiceID: "A", Currency: "GBP", AmountDue: 100, IssuedAt: day("2026-01-01"),
				DueDate: "2026-01-31"}}, Payments: []Payment{{InvoiceID: "A", PaymentID: "p", Currency: "GBP", Amount: 150, Applied: 60,
				PaidAt: day("2026-01-10")}}},
			asOf: "2026-05-02",
			want: func(t *testing.T, st Statement) {
				require.Empty(t, st.Since)
				s := st.Currencies[0]
				require.Equal(t, int64(40), s.Balance.Minor)
				require.Equal(t, int64(150), s.PaidSince.Minor)
				require.Equal(t, 91, s.OpenItems[0].DaysOverdue)
				require.Equal(t, "90_plus", s.OpenItems[0].Bucket)
			},
		},
		{
			name: "due on the statement date is current; a day later is 1-30",
			data: Data{CustomerID: "C-1", Invoices: []Invoice{
				{InvoiceID: "A", Currency: "EUR", AmountDue: 100, IssuedAt: day("2026-01-01"), DueDate: "2026-03-01"},
				{InvoiceID: "B", Currency: "EUR", AmountDue: 100, IssuedAt: day("2026-01-01"), DueDate: "2026-02-28"},
			}},
			asOf: "2026-03-01",
			want: func(t *testing.T, st Statement) {
				require.Equal(t, []string{"B", "A"}, []string{st.Currencies[0].OpenItems[0].InvoiceID, st.Currencies[0].OpenItems[1].InvoiceID})
				require.Equal(t, "1_30", st.Currencies[0].OpenItems[0].Bucket)
				require.Equal(t, "current", st.Currencies[0].OpenItems[1].Bucket)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{AsOf: day(tt.asOf)}
			if tt.since != "" {
				o.Since = day(tt.since)
			}
			tt.want(t, Compute(tt.data, o))
		})
	}
}

func TestMoneyJSON(t *testing.T) {
	b, err := json.Marshal(Money{-123_456, "EUR"})
	require.NoError(t, err)
	require.JSONEq(t, `"-1234.56"`, string(b))
	b, err = json.Marshal(Money{5, "JPY"})
	require.NoError(t, err)
	require.JSONEq(t, `"5"`, string(b))
}

// The statutory compensation for recovery costs is a charge: it shows among the open
// item's fees and in its balance, never among the credits.
func TestCompensationIsAFee(t *testing.T) {
	d := Data{
		CustomerID: "C-EU",
		Invoices: []Invoice{
			{InvoiceID: "INV-EU1", Currency: "EUR", AmountDue: 1_000_000, IssuedAt: day("2025-05-01"), DueDate: "2025-06-10", Status: "overdue", PolicyID: "eu-b2b"},
		},
		Adjustments: []Adjustment{
			{InvoiceID: "INV-EU1", AdjustmentID: "compensation", Kind: "compensation", Currency: "EUR", Amount: 4_000, At: day("2025-06-11")},
			{InvoiceID: "INV-EU1", AdjustmentID: "interest/45", Kind: "interest", Currency: "EUR", Amount: 13_062, At: day("2025-07-25")},
		},
	}
	st := Compute(d, Options{AsOf: day("2025-07-25"), Since: day("2025-06-01")})
	require.Len(t, st.Currencies, 1)
	sec := st.Currencies[0]
	require.Empty(t, sec.Credits)
	item := sec.OpenItems[0]
	require.Equal(t, []Fee{{Kind: "compensation", Amount: Money{4_000, "EUR"}}}, item.Fees)
	require.Equal(t, int64(13_062), item.Interest.Minor)
	require.Equal(t, int64(1_000_000+4_000+13_062), item.Balance.Minor)
}
