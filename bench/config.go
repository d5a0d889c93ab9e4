package bench

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/dunwell/dunwell/internal/config"
)

// Config sizes every measurement. Defaults(short, cluster) gives the `make bench` sizes.
type Config struct {
	// Short marks the quick sizes (about 2 minutes); it is recorded in the results.
	Short bool `json:"short"`
	// Invoices is how many invoices the ceiling and the Dunwell throughput runs each
	// push through the whole shape (issue, two reminders, payment, close).
	Invoices int `json:"invoices"`
	// Concurrency is how many clients issue invoices (and payments) at once.
	Concurrency int `json:"concurrency"`
	// Reminder1 and Reminder2 are the compressed policy's reminder offsets from issue.
	Reminder1 time.Duration `json:"reminder1"`
	Reminder2 time.Duration `json:"reminder2"`
	// PaymentInvoices is how many open invoices (and as many bare accounts) the
	// payments are spread over; PaymentRateFrom is the payment ladder's first rate
	// (req/s), which rises by half each LadderStep until p99 passes LadderP99.
	PaymentInvoices int           `json:"payment_invoices"`
	PaymentRateFrom float64       `json:"payment_rate_from"`
	LadderStep      time.Duration `json:"ladder_step"`
	LadderP99       time.Duration `json:"ladder_p99"`
	// SpikeInvoices are due at the same instant with the fake SendGrid limited to
	// SpikeRate sends per second.
	SpikeInvoices int `json:"spike_invoices"`
	SpikeRate     int `json:"spike_rate"`
	// OpenWorkflows is how many invoice workflows sleep on timers while the worker's
	// memory is read; the target is stated for 10 000.
	OpenWorkflows int `json:"open_workflows"`
	// WorkflowCache is the worker's sticky workflow cache size, as the worker sets it
	// from WORKER_WORKFLOW_CACHE_SIZE (default config.DefaultWorkflowCacheSize).
	WorkflowCache int `json:"workflow_cache"`
	// ReportRows is the size of the ledger the reports are timed over (about that many
	// rows across invoices, payments, adjustments, notices, escalations and events).
	ReportRows int `json:"report_rows"`
	// Cluster runs every step on a Temporal cluster (internal/testenv's, as `make
	// cluster` runs it) instead of the dev server.
	Cluster bool `json:"cluster"`
	// Only, when set, names the steps to run (see Steps); empty runs them all.
	Only []string `json:"only,omitempty"`
	// Out is where the JSON results are written; ProfileDir where the pprof files go.
	Out        string `json:"-"`
	ProfileDir string `json:"-"`
	// Logger receives progress; nil means slog.Default().
	Logger *slog.Logger `json:"-"`
}

// clusterSpikeRateDivisor lowers the spike's provider limit on a cluster: a cluster's
// four services and its PostgreSQL on the same two cores as the worker produce the
// spike's messages at a few per second (its bare ceiling measures it), and the spike
// on a cluster is there to show the one-partition send queue pacing sends at R, which
// it can only show with R below the rate messages are produced at.
const clusterSpikeRateDivisor = 25

// Defaults returns the sizes of `make bench` (short: `make bench SHORT=1`; cluster:
// `make bench CLUSTER=1`).
func Defaults(short, cluster bool) Config {
	c := defaults(short)
	c.Cluster = cluster
	if cluster {
		c.SpikeRate = max(1, c.SpikeRate/clusterSpikeRateDivisor)
	}
	return c
}

func defaults(short bool) Config {
	c := Config{
		Short: short, Concurrency: 32, Reminder1: 2 * time.Second, Reminder2: 4 * time.Second,
		PaymentRateFrom: 5, LadderP99: 100 * time.Millisecond, WorkflowCache: config.DefaultWorkflowCacheSize,
		Out: "bench/results/latest.json", ProfileDir: "bench/results",
	}
	if short {
		c.Invoices = 300
		c.PaymentInvoices, c.LadderStep = 200, 4*time.Second
		c.SpikeInvoices, c.SpikeRate = 300, 50
		c.OpenWorkflows = 2000
		c.ReportRows = 100_000
		return c
	}
	c.Invoices = 2000
	c.PaymentInvoices, c.LadderStep = 600, 10*time.Second
	c.SpikeInvoices, c.SpikeRate = 2000, 100
	c.OpenWorkflows = 10_000
	c.ReportRows = 1_000_000
	return c
}

// Steps are the measurements in the order Run takes them; -only picks among them.
var Steps = []string{"ceiling", "dunwell", "cost", "payments", "spike", "memory", "reports"}

// Runs reports whether step is to be measured.
func (c Config) Runs(step string) bool {
	return len(c.Only) == 0 || slices.Contains(c.Only, step)
}

// ParseSteps reads a comma-separated list of Steps.
func ParseSteps(list string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if !slices.Contains(Steps, f) {
			return nil, fmt.Errorf("%q is not a step; the steps are %s", f, strings.Join(Steps, ", "))
		}
		out = append(out, f)
	}
	return out, nil
}
