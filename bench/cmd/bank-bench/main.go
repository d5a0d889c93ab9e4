// Command bank-bench measures cash-application matching: the pure matcher on a
// statement of 100 000 credits against 100 000 open invoices (bench.BankMatching),
// printed as rows of the benchmark table. `make bench` runs it after dunwell-bench.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dunwell/dunwell/bench"
)

func main() {
	n := flag.Int("transactions", 100_000, "credits in the statement, and open invoices")
	short := flag.Bool("short", false, "a tenth of the size")
	out := flag.String("out", "bench/results/bank.json", "where the JSON goes (empty: nowhere)")
	flag.Parse()
	if *short {
		*n /= 10
	}
	if *n < 10 {
		fmt.Fprintln(os.Stderr, "-transactions: must be at least 10")
		os.Exit(2)
	}
	res := bench.BankMatching(*n)
	fmt.Println("| measurement | figure | target | result |\n|---|---|---|---|")
	for _, r := range res.Rows() {
		fmt.Printf("| %s | %s | %s | %s |\n", r.Measurement, r.Figure, r.Target, r.Verdict)
	}
	if *out != "" {
		if err := os.MkdirAll(filepath.Dir(*out), 0o755); err == nil {
			b, _ := json.MarshalIndent(res, "", "  ") // plain data
			if err := os.WriteFile(*out, b, 0o644); err != nil {
				fmt.Fprintln(os.Stderr, "writing", *out+":", err)
			}
		}
	}
	for _, r := range res.Rows() {
		if r.Verdict == "MISS" {
			os.Exit(1)
		}
	}
}
