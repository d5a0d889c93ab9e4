package ledger

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/internal/testenv"
)

// The package shares one PostgreSQL database; tests use unique ids so they can run
// in parallel against it.
var (
	testPG    *testenv.Postgres
	testStore *Store
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	start := time.Now()
	return testenv.RunWithPostgres(m, "ledger", func(ctx context.Context, pg *testenv.Postgres) (func(), error) {
		testPG = pg
		var err error
		if testStore, err = Open(ctx, pg.URL(), quiet); err != nil {
			return nil, err
		}
		if testing.Verbose() {
			fmt.Printf("ledger tests: postgres ready and migrated in %v\n", time.Since(start))
		}
		return testStore.Close, nil
	})
}

// quiet keeps migration logs out of test output.
var quiet = WithLogger(slog.New(slog.DiscardHandler))

// uid returns an id unique to this run, for rows in the shared database.
func uid(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func invoiceRecord(id, body string) InvoiceRecord {
	sum := sha256.Sum256([]byte(body))
	return InvoiceRecord{
		InvoiceID:     id,
		CustomerID:    "cust-" + id,
		Currency:      "EUR",
		AmountDue:     12_345,
		IssuedAt:      t0,
		DueDate:       "2026-03-31",
		PolicyID:      "standard",
		PolicyVersion: 3,
		Segment:       "smb",
		BodySHA256:    sum[:],
	}
}

// issue stores a new invoice and returns its id.
func issue(t *testing.T) string {
	t.Helper()
	id := uid("inv")
	out, err := testStore.IssueInvoice(context.Background(), invoiceRecord(id, "body"))
	require.NoError(t, err)
	require.Equal(t, IssueCreated, out)
	return id
}

// parallel marks the test parallel, which the unique ids allow, and returns the
// context its ledger calls run under.
func parallel(t *testing.T) context.Context {
	t.Parallel()
	return t.Context()
}
