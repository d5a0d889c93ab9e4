package main

import (
	"strings"
	"testing"
)

// Standard input beyond the limit is refused, not cut short into a different document.
func TestReadInputRefusesOversizedStdin(t *testing.T) {
	data, err := readInput("-", strings.NewReader(`{"id": "INV-1"}`))
	if err != nil || string(data) != `{"id": "INV-1"}` {
		t.Fatalf("readInput = %q, %v", data, err)
	}
	_, err = readInput("-", strings.NewReader(strings.Repeat("x", maxStdin+1)))
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("readInput(oversized) = %v, want an error saying it is too large", err)
	}
	if _, err := readInput("-", strings.NewReader(strings.Repeat("x", maxStdin))); err != nil {
		t.Fatalf("readInput(exactly the limit) = %v", err)
	}
}
