package rf

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidKnownReferences(t *testing.T) {
	// The examples of ISO 11649 and the EPC's guidance.
	for _, s := range []string{"RF18539007547034", "RF18000000000539007547034", "RF712348231"} {
		require.True(t, Valid(Normalize(s)), s)
	}
	for _, s := range []string{"RF19539007547034", "RF18 5390 0754 7035", "XX18539007547034", "RF1", "RF18539007547034-", ""} {
		require.False(t, Valid(Normalize(s)), s)
	}
	require.Equal(t, "RF18539007547034", Make("539007547034"))
}

func TestForInvoiceIsDeterministicValidAndDistinct(t *testing.T) {
	a := ForInvoice("INV-1001")
	require.Equal(t, a, ForInvoice("INV-1001"))
	require.True(t, Valid(a))
	require.Len(t, a, 24)
	require.NotEqual(t, a, ForInvoice("INV1001"))
	seen := map[string]string{}
	for i := range 20000 {
		id := "INV-" + string(rune('A'+i%26)) + pad2(i)
		r := ForInvoice(id)
		require.True(t, Valid(r), id)
		if prev, ok := seen[r]; ok && prev != id {
			t.Fatalf("%s and %s share %s", prev, id, r)
		}
		seen[r] = id
	}
	require.Equal(t, "RF18 5390 0754 7034", Format("RF18539007547034"))
}
