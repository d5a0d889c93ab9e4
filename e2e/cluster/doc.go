// Package cluster is Dunwell's fault suite on a real Temporal cluster (`make
// test-cluster`): two workers and two API processes against the server built from
// its Go module (frontend, history, matching and worker as separate processes on
// PostgreSQL, see internal/testenv.StartTemporalCluster), with the fake providers
// and the ledger on a PostgreSQL of its own. Each test injects one fault (a worker
// SIGKILLed in a month-end spike, the history service killed and restarted while
// invoices sleep on timers, the ledger's PostgreSQL or Temporal's stopped for 30 s
// while payments and webhooks arrive), prints one line of figures and fails on any
// loss or duplicate.
//
// Its tests build only with the cluster tag: go test -tags cluster ./e2e/cluster/.
package cluster
