//go:build cluster

package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/webhooks"
)

// The sizes and durations of the faults: modest, so the suite runs in a few minutes
// on a busy two-core machine.
const (
	spikeInvoices   = 200              // reminded at the same instant, R = sendRate
	timerInvoices   = 100              // asleep on a timer while history is down
	paymentInvoices = 40               // each paid twice (API, webhook) during an outage
	outage          = 30 * time.Second // how long a PostgreSQL stays down
	// reminderAfter is the cluster-spike policy's reminder offset from issue.
	reminderAfter = 30 * time.Second
	// settle bounds how long the suite waits for everything to be done after a fault.
	settle = 4 * time.Minute
)

// figures is one fault's line: what went in, what came out, what was lost or doubled
// and how long it took from the end of the fault until everything was done.
type figures struct {
	fault                       string
	invoices, notices, payments int
	lost, duplicates            int
	recovery                    time.Duration
	start                       time.Time
}

func (f figures) String() string {
	return fmt.Sprintf("cluster fault %-22s invoices %4d  notices %4d  payments applied %4d  lost %d  duplicates %d  recovery %5.1fs  (fault run %.0fs)",
		f.fault, f.invoices, f.notices, f.payments, f.lost, f.duplicates, f.recovery.Seconds(), time.Since(f.start).Seconds())
}

// report prints the line (on stdout, so `make test-cluster` shows it) and fails the
// test on any loss or duplicate.
func report(t *testing.T, f figures) {
	t.Helper()
	fmt.Println(f)
	require.Zero(t, f.lost, "%s: lost", f.fault)
	require.Zero(t, f.duplicates, "%s: duplicates", f.fault)
	require.Empty(t, env.temporal.Exited(), "a Temporal service exited")
}

// TestWorkerKilledInSpike: spikeInvoices invoices are reminded at the same instant,
// the provider taking sendRate a second across both workers; a third of the way
// through, one worker is SIGKILLed. Every reminder goes out, once; the worker is
// started again afterwards.
func TestWorkerKilledInSpike(t *testing.T) {
	f := figures{fault: "worker-sigkill-spike", invoices: spikeInvoices, start: time.Now()}
	issued := time.Now().UTC()
	ids := issueAll(t, "CL-SPIKE", spikeInvoices, "cluster-spike", issued)
	waitNotices(t, "CL-SPIKE", spikeInvoices/3, issued.Add(reminderAfter)) // a third of the spike is out
	env.workers[0].kill()
	killed := time.Now()
	waitNotices(t, "CL-SPIKE", len(ids), killed)
	f.recovery = time.Since(killed)
	require.NoError(t, env.workers[0].start())
	f.notices, f.duplicates = notices("CL-SPIKE")
	f.lost = len(ids) - f.notices
	report(t, f)
}

// TestHistoryRestartedWhileTimersSleep: timerInvoices invoices sleep on their
// reminder timer; the history service is killed (SIGKILL) and stays down until after
// the timers were due, then is started again. Every reminder goes out, once.
func TestHistoryRestartedWhileTimersSleep(t *testing.T) {
	f := figures{fault: "history-kill-timers", invoices: timerInvoices, start: time.Now()}
	issued := time.Now().UTC()
	ids := issueAll(t, "CL-TIMER", timerInvoices, "cluster-spike", issued)
	require.NoError(t, env.temporal.KillService("history"))
	// Down past the moment the timers were due: they fire late, after the restart.
	time.Sleep(time.Until(issued.Add(reminderAfter + 5*time.Second)))
	require.NoError(t, env.temporal.StartService("history"))
	restarted := time.Now()
	waitNotices(t, "CL-TIMER", len(ids), restarted)
	f.recovery = time.Since(restarted)
	f.notices, f.duplicates = notices("CL-TIMER")
	f.lost = len(ids) - f.notices
	report(t, f)
}

// TestLedgerDown: the ledger's PostgreSQL is stopped for 30 s while each of
// paymentInvoices invoices is paid part through the API and the rest by a webhook
// (sent again once accepted, as providers do). Clients retry until they get a 2xx;
// every payment answered 2xx is applied exactly once.
func TestLedgerDown(t *testing.T) {
	paymentsDuring(t, "ledger-postgres-30s", "CL-LEDGER", env.pg.StopServer, func() error {
		return env.pg.StartServer(context.Background())
	})
}

// TestTemporalPostgresDown: the same with Temporal's own PostgreSQL stopped for 30 s.
func TestTemporalPostgresDown(t *testing.T) {
	paymentsDuring(t, "temporal-postgres-30s", "CL-TDB", env.temporal.StopPostgres, func() error {
		return env.temporal.StartPostgres(context.Background())
	})
}

// paymentsDuring issues paymentInvoices invoices of 100.00, stops a database with
// stop, spreads over the outage one API payment of 40.00 and one webhook payment of
// 60.00 per invoice (each retried until answered 2xx), starts the database again after
// the outage and waits until every invoice is paid: balance and credit zero, two
// payments in its state and in the ledger.
func paymentsDuring(t *testing.T, fault, prefix string, stop, start func() error) {
	f := figures{fault: fault, invoices: paymentInvoices, start: time.Now()}
	ids := issueAll(t, prefix, paymentInvoices, "cluster-quiet", time.Now().UTC())
	require.NoError(t, stop())
	stopped := time.Now()
	restarted := false
	defer func() {
		if !restarted {
			_ = start()
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(ids))
	for i, id := range ids {
		at := stopped.Add(time.Duration(i) * (outage - time.Second) / time.Duration(len(ids)))
		wg.Add(2)
		go func() {
			defer wg.Done()
			time.Sleep(time.Until(at))
			errs <- untilOK(i, http.MethodPost, "/v1/invoices/"+id+"/payments",
				map[string]any{"payment_id": id + "-api", "amount": "40.00", "currency": "USD"}, nil)
		}()
		go func() {
			defer wg.Done()
			time.Sleep(time.Until(at))
			errs <- sendWebhook(i+1, id)
		}()
	}
	time.Sleep(time.Until(stopped.Add(outage)))
	require.NoError(t, start())
	restarted = true
	back := time.Now()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	deadline := time.Now().Add(settle)
	for _, id := range ids {
		for !settled(t, id) {
			require.True(t, time.Now().Before(deadline), "%s: not paid within %v of the restart", id, settle)
			time.Sleep(250 * time.Millisecond)
		}
	}
	f.recovery = time.Since(back)
	for _, id := range ids {
		st := state(t, id)
		pays, err := env.ledger.ListPayments(context.Background(), id)
		require.NoError(t, err)
		f.payments += len(pays)
		if st["credit"] != "0.00" || len(pays) > 2 {
			f.duplicates++
		}
		if len(pays) < 2 {
			f.lost += 2 - len(pays)
		}
	}
	report(t, f)
}

// settled reports whether the invoice is paid in full with nothing over.
func settled(t *testing.T, id string) bool {
	t.Helper()
	st := state(t, id)
	pays, _ := st["payments"].([]any)
	return st["status"] == "paid" && st["balance"] == "0.00" && len(pays) >= 2
}

// sendWebhook posts the invoice's signed payment.succeeded webhook for 60.00 until it
// is accepted, then once more (a provider's redelivery), which must be a duplicate.
func sendWebhook(api int, id string) error {
	body, _ := json.Marshal(map[string]any{"type": "payment.succeeded", "timestamp": time.Now().UTC().Format(time.RFC3339),
		"data": map[string]any{"invoice_id": id, "payment_id": id + "-hook", "amount": "60.00", "currency": "USD"}})
	msgID := "msg_" + strings.ToLower(id)
	sign := func() (http.Header, error) {
		now := time.Now()
		sig, err := webhooks.SignStandard(msgID, now, body, paymentsSecret)
		if err != nil {
			return nil, err
		}
		h := http.Header{}
		h.Set(webhooks.HeaderWebhookID, msgID)
		h.Set(webhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
		h.Set(webhooks.HeaderWebhookSignature, sig)
		return h, nil
	}
	for range 2 {
		if err := untilOK(api, http.MethodPost, "/v1/webhooks/payments", body, sign); err != nil {
			return err
		}
	}
	return nil
}

// issueAll issues n invoices of 100.00 on the policy, dated issued, through both APIs
// (eight at a time), and returns their ids.
func issueAll(t *testing.T, prefix string, n int, policy string, issued time.Time) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%04d", prefix, i)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs <- untilOK(i, http.MethodPost, "/v1/invoices", map[string]any{
				"id":       id,
				"customer": map[string]any{"id": "C-" + id, "name": "Ada Lovelace", "email": strings.ToLower(id) + "@example.com", "timezone": "UTC"},
				"currency": "USD", "amount_due": "100.00", "issued_at": issued.Format(time.RFC3339),
				"due_date": issued.AddDate(0, 0, 30).Format(time.DateOnly), "policy": policy,
			}, nil)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	return ids
}

// untilOK sends the request to API process api%2 until it is answered 2xx, as a
// client that retries would, for up to settle. body is JSON-encoded unless it is
// []byte; header, if not nil, makes each attempt's extra headers. Answers other than
// 2xx, 5xx, 429 and (the key check needs the ledger) 401 end it with an error.
func untilOK(api int, method, path string, body any, header func() (http.Header, error)) error {
	data, ok := body.([]byte)
	if !ok {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return err
		}
	}
	c := &http.Client{Timeout: 30 * time.Second}
	deadline := time.Now().Add(settle)
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequest(method, env.apiURLs[(api+attempt)%2]+path, bytes.NewReader(data))
		if err != nil {
			return err
		}
		if header != nil {
			h, err := header()
			if err != nil {
				return err
			}
			req.Header = h
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+env.apiKey)
		code, answer := 0, ""
		resp, err := c.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			code, answer = resp.StatusCode, string(b)
			switch {
			case code >= 200 && code < 300:
				return nil
			case code < 500 && code != http.StatusTooManyRequests && code != http.StatusUnauthorized:
				return fmt.Errorf("%s %s: %d %s", method, path, code, answer)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s %s: no 2xx within %v (last: %d %s %v)", method, path, settle, code, answer, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// state is the invoice's state from the first API.
func state(t *testing.T, id string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, env.apiURLs[0]+"/v1/invoices/"+id, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+env.apiKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out := map[string]any{}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Equal(t, http.StatusOK, resp.StatusCode, out)
	return out
}

// notices counts the distinct notices of invoices with the prefix (each invoice is
// its customer's only one, so one message per invoice) that the fake SendGrid
// accepted, and the extra copies of any accepted more than once.
func notices(prefix string) (distinct, duplicates int) {
	seen := map[string]int{}
	for _, m := range env.fakes.Outbox() {
		// An account message's key starts with its customer's id, C-<invoice id>.
		if k := m.CustomArgs["notice_key"]; strings.HasPrefix(k, prefix) || strings.HasPrefix(k, "C-"+prefix) {
			seen[k]++
		}
	}
	for _, n := range seen {
		duplicates += n - 1
	}
	return len(seen), duplicates
}

// waitNotices waits until at least n distinct notices of the prefix were accepted,
// for up to settle after from.
func waitNotices(t *testing.T, prefix string, n int, from time.Time) {
	t.Helper()
	deadline := from.Add(settle)
	for {
		got, _ := notices(prefix)
		if got >= n {
			return
		}
		require.True(t, time.Now().Before(deadline), "%s: %d of %d notices sent within %v", prefix, got, n, settle)
		time.Sleep(100 * time.Millisecond)
	}
}
