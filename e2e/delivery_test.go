package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/internal/fakeprovider"
	"github.com/dunwell/dunwell/ledger"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// Sending end to end: the real worker process, the real API with its provider
// webhooks, the fakes posting signed callbacks, PostgreSQL and Temporal. The crash
// tests kill the shared worker, so they do not run in parallel.

var phoneSeq atomic.Int64

// uniquePhone returns an E.164 number no other test of this run uses, in the range
// reserved for fiction (555-0100 to 555-0199), which number validation accepts.
func uniquePhone() string {
	return fmt.Sprintf("+1415555%04d", 150+phoneSeq.Add(1))
}

// customerInvoice is invoice(id) with the customer's channels, phone and policy set.
func customerInvoice(id, customer, phone, policy string, channels []string, issuedAgo time.Duration) map[string]any {
	inv := invoice(id)
	c := inv["customer"].(map[string]any)
	if customer != "" {
		c["id"] = customer
	}
	c["phone"], c["channels"] = phone, channels
	inv["policy"] = policy
	inv["issued_at"] = time.Now().UTC().Add(-issuedAgo).Format(time.RFC3339)
	return inv
}

func issueInvoice(t *testing.T, inv map[string]any) {
	t.Helper()
	code, body := call(t, http.MethodPost, "/v1/invoices", inv)
	require.Equal(t, http.StatusCreated, code, body)
}

// sentWithKey counts outbox messages of one notice: SendGrid's by the notice_key
// custom arg, Twilio's by the notice_key of their status callback URL.
func sentWithKey(to, key string) int {
	n := 0
	for _, m := range env.fakes.OutboxFor(to) {
		if m.CustomArgs["notice_key"] == key || strings.HasSuffix(m.StatusCallback, "notice_key="+url.QueryEscape(key)) {
			n++
		}
	}
	return n
}

// waitHeld waits, up to a minute, until the fake providers hold a message (see
// fakeprovider.Server.Hold) and returns it.
func waitHeld(t *testing.T) fakeprovider.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	held, err := env.fakes.WaitHeld(ctx)
	require.NoError(t, err)
	return held
}

// requireRetried checks that the ledger counts at least two send attempts of the
// notice: the activity ran again after the crash.
func requireRetried(t *testing.T, key string, msgAndArgs ...any) {
	t.Helper()
	n, err := env.ledger.GetNotice(context.Background(), key)
	require.NoError(t, err)
	require.GreaterOrEqual(t, n.Attempts, 2, msgAndArgs...)
}

func noticeStatus(id, key string) string {
	n, err := env.ledger.GetNotice(context.Background(), key)
	if err != nil {
		return ""
	}
	return string(n.Status)
}

// signalsOf returns the names of the signals the invoice's workflow received.
func signalsOf(t *testing.T, id string) []string {
	t.Helper()
	var names []string
	for _, ev := range historyOf(t, id) {
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil {
			names = append(names, a.GetSignalName())
		}
	}
	return names
}

func terminate(t *testing.T, ids ...string) {
	t.Helper()
	for _, id := range ids {
		_ = env.client.TerminateWorkflow(context.Background(), invoiceapi.WorkflowID(id), "", "test done")
	}
}

// TestCrashBeforeProviderCallSendsOnce: the worker dies while its send is on the way
// to the provider, which has taken nothing yet. The notice is 'sending' in the
// ledger; the retry asks the provider, finds nothing, and sends it: once.
func TestCrashBeforeProviderCallSendsOnce(t *testing.T) {
	id := "E2E-CRASH-BEFORE"
	email := strings.ToLower(id) + "@example.com"
	_, err := env.fakes.Inject(fakeprovider.Fault{Kind: fakeprovider.FaultStall, To: email})
	require.NoError(t, err)
	issueInvoice(t, invoice(id))

	waitHeld(t)
	env.worker.kill()
	eventually(t, 10*time.Second, "the provider to see the worker go", func() bool { return len(env.fakes.Held()) == 0 })
	require.Empty(t, outboxFor(id), "the provider took nothing")
	key := id + "/first-reminder/email"
	require.Equal(t, "sending", noticeStatus(id, key), "claimed before the call")
	require.NoError(t, env.worker.start())

	eventually(t, 90*time.Second, "the notice sent after the restart", func() bool { return noticeStatus(id, key) == "sent" })
	require.Equal(t, 1, sentWithKey(email, key), "exactly one message")
	requireRetried(t, key)
	terminate(t, id)
}

// TestCrashAfterLedgerWriteSendsOnce: the provider accepted, the ledger says sent,
// and the worker dies before Temporal hears that the activity finished (its link to
// Temporal is cut first, so the completion cannot slip through). Temporal retries
// the activity after its timeout; the retry reads 'sent' and sends nothing.
func TestCrashAfterLedgerWriteSendsOnce(t *testing.T) {
	id := "E2E-CRASH-AFTER"
	email := strings.ToLower(id) + "@example.com"
	key := id + "/first-reminder/email"
	require.NoError(t, env.fakes.Hold(fakeprovider.SendGrid, email))
	issueInvoice(t, invoice(id))

	waitHeld(t)
	env.temporalProxy.cut()
	env.fakes.Release()
	eventually(t, 20*time.Second, "the ledger write", func() bool { return noticeStatus(id, key) == "sent" })
	env.worker.kill()
	env.temporalProxy.heal()
	require.NoError(t, env.worker.start())

	var state map[string]any
	eventually(t, 90*time.Second, "the workflow to record the notice", func() bool {
		_, state = call(t, http.MethodGet, "/v1/invoices/"+id, nil)
		notices, _ := state["notices"].([]any)
		return len(notices) > 0 && notices[0].(map[string]any)["status"] == "sent"
	})
	requireRetried(t, key, "the activity ran again after the crash")
	require.Equal(t, 1, sentWithKey(email, key), "exactly one message")
	terminate(t, id)
}

// TestCrashAfterSMSAcceptedSendsOnce is the middle window for Twilio, which takes no
// correlation id: the retry finds the message by recipient, sender and text.
func TestCrashAfterSMSAcceptedSendsOnce(t *testing.T) {
	id := "E2E-CRASH-SMS"
	phone := uniquePhone()
	require.NoError(t, env.fakes.Hold(fakeprovider.Twilio, phone))
	issueInvoice(t, customerInvoice(id, "", phone, "e2e-fallback", []string{"sms"}, 14*time.Second))

	waitHeld(t)
	env.worker.kill()
	env.fakes.Release()
	require.NoError(t, env.worker.start())

	key := id + "/first-reminder/sms"
	eventually(t, 90*time.Second, "the notice recorded as sent", func() bool { return noticeStatus(id, key) == "sent" })
	require.Equal(t, 1, sentWithKey(phone, key), "exactly one text")
	requireRetried(t, key)
	terminate(t, id)
}

// TestMonthEndSpikeDrainsAtProviderLimit reminds many invoices at one instant with
// SendGrid limited to e2eRate sends per second, the worker's configured rate: the
// task queue's rate limit drains them at the provider's pace, no message is refused
// twice in a row and none is sent twice.
func TestMonthEndSpikeDrainsAtProviderLimit(t *testing.T) {
	const n = 60
	var (
		mu       sync.Mutex
		accepted []time.Time
	)
	env.limiter.ResetStats()
	env.limiter.SetLimit(fakeprovider.SendGrid, e2eRate)
	env.limiter.OnSend(func(o fakeprovider.SendOutcome) {
		if o.Provider == fakeprovider.SendGrid && o.Status == http.StatusAccepted && strings.Contains(o.Key, "E2E-SPIKE-") {
			mu.Lock()
			accepted = append(accepted, o.At)
			mu.Unlock()
		}
	})
	defer func() {
		env.limiter.SetLimit(fakeprovider.SendGrid, 0)
		env.limiter.OnSend(nil)
	}()

	issued := time.Now().UTC().Truncate(time.Second)
	due := issued.Add(20 * time.Second)
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("E2E-SPIKE-%03d", i)
		inv := invoice(ids[i])
		inv["policy"], inv["issued_at"] = "e2e-spike", issued.Format(time.RFC3339)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, body := call(t, http.MethodPost, "/v1/invoices", inv); code != http.StatusCreated {
				errs <- fmt.Errorf("issue: %d %v", code, body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.True(t, time.Now().Before(due), "issuing took longer than the lead time")

	eventually(t, 90*time.Second, "every spike reminder accepted", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(accepted) >= n
	})
	// Every workflow has recorded its notice: each send activity has finished, so no
	// attempt is left that could deliver a duplicate.
	recorded := map[string]bool{}
	eventually(t, 60*time.Second, "every spike notice recorded by its workflow", func() bool {
		for _, id := range ids {
			if !recorded[id] && slices.Contains(noticeSteps(state(t, id)), "spike-reminder") {
				recorded[id] = true
			}
		}
		return len(recorded) == n
	})
	mu.Lock()
	first, last := accepted[0], accepted[len(accepted)-1]
	got := len(accepted)
	mu.Unlock()
	st := env.limiter.Stats(fakeprovider.SendGrid)
	drain := last.Sub(due).Seconds()
	rate := float64(got) / max(drain, 0.001)
	// From the first acceptance on, the queue's pace alone (the timers firing and the
	// workflow tasks before it are not the rate limit's doing).
	steady := float64(got-1) / max(last.Sub(first).Seconds(), 0.001)
	t.Logf("spike: %d reminders due at once, provider limit %d/s: drained in %.2fs = %.1f/s (%.2f of the limit); "+
		"first send %.2fs after the due instant, then %.1f/s (%.2f of the limit); 429s %d, repeated 429s %d",
		n, e2eRate, drain, rate, rate/e2eRate, first.Sub(due).Seconds(), steady, steady/e2eRate, st.Limited, st.RepeatLimited)
	require.Equal(t, n, got, "every reminder sent exactly once")
	require.Zero(t, st.RepeatLimited, "no message was refused twice in a row")
	require.GreaterOrEqual(t, drain, float64(n)/e2eRate-1.5, "not faster than the provider allows")
	for _, id := range ids {
		require.Equal(t, 1, sentWithKey(strings.ToLower(id)+"@example.com", id+"/spike-reminder/email"), id)
	}
	terminate(t, ids...)
}

// TestStopEndsSMSAndEmailTakesOver: the customer texts STOP (a signed inbound
// webhook from the fake Twilio). The number is opted out in the ledger, the
// customer's open invoice is told, and the next reminder that would go by SMS goes
// by email instead.
func TestStopEndsSMSAndEmailTakesOver(t *testing.T) {
	t.Parallel()
	customer, phone := "C-E2E-STOP", uniquePhone()
	first, second := "E2E-STOP-1", "E2E-STOP-2"
	// Issued 40 s ago: the demo's SMS reminder (+30 s) is due at once.
	issueInvoice(t, customerInvoice(first, customer, phone, "demo", []string{"email", "sms"}, 40*time.Second))
	eventually(t, 60*time.Second, "the first invoice's SMS", func() bool { return len(env.fakes.OutboxFor(phone)) == 1 })

	status, err := env.fakes.InboundSMS(phone, "", "STOP")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	o, out, err := env.ledger.OptedOut(context.Background(), ledger.ChannelSMS, phone)
	require.NoError(t, err)
	require.True(t, out)
	require.Equal(t, customer, o.CustomerID, "the number maps back to the customer")
	eventually(t, 10*time.Second, "the opt-out signal", func() bool {
		return strings.Contains(strings.Join(signalsOf(t, first), ","), invoiceapi.SignalOptOut)
	})

	issueInvoice(t, customerInvoice(second, customer, phone, "demo", []string{"email", "sms"}, 40*time.Second))
	emailKey := second + "/second-reminder/email"
	eventually(t, 60*time.Second, "the reminder by email instead", func() bool { return noticeStatus(second, emailKey) == "sent" })
	require.Len(t, env.fakes.OutboxFor(phone), 1, "no SMS after STOP")
	require.Equal(t, 1, sentWithKey(strings.ToLower(second)+"@example.com", emailKey))
	n, err := env.ledger.GetNotice(context.Background(), second+"/second-reminder/sms")
	require.NoError(t, err)
	require.Equal(t, ledger.NoticeFailed, n.Status)
	require.Contains(t, n.Error, "opted out of sms (stop)")
	terminate(t, first, second)
}

// TestBounceOptsOutEmailAndFallsBackToSMS: the first reminder's email bounces (a
// signed SendGrid event from the fake). The address is opted out, the workflow is
// told, and the next reminder falls back to SMS.
func TestBounceOptsOutEmailAndFallsBackToSMS(t *testing.T) {
	t.Parallel()
	id, phone := "E2E-BOUNCE", uniquePhone()
	email := strings.ToLower(id) + "@example.com"
	env.fakes.SetBounce(email)
	defer env.fakes.SetBounce()
	issueInvoice(t, customerInvoice(id, "", phone, "e2e-fallback", []string{"email", "sms"}, 14*time.Second))

	firstKey := id + "/first-reminder/email"
	// The webhook records the delivery status, then the opt-out: wait for both.
	var (
		o   ledger.OptOut
		out bool
	)
	eventually(t, 60*time.Second, "the bounce and the opt-out recorded", func() bool {
		d, err := env.ledger.GetDelivery(context.Background(), firstKey)
		if err != nil || d.Status != ledger.DeliveryBounced {
			return false
		}
		o, out, err = env.ledger.OptedOut(context.Background(), ledger.ChannelEmail, email)
		require.NoError(t, err)
		return out
	})
	require.True(t, out)
	require.Equal(t, ledger.SourceBounce, o.Source)

	// The workflow hears the bounce (delivery signal) and sends the same step again by
	// SMS; the next step skips the opted-out email and goes by SMS too.
	eventually(t, 60*time.Second, "the first reminder again by SMS", func() bool {
		return noticeStatus(id, id+"/first-reminder/sms") == "sent"
	})
	eventually(t, 60*time.Second, "the second reminder by SMS", func() bool {
		return noticeStatus(id, id+"/second-reminder/sms") == "sent"
	})
	require.Equal(t, 1, sentWithKey(email, firstKey))
	require.Zero(t, sentWithKey(email, id+"/second-reminder/email"), "no email to a bounced address")
	signals := strings.Join(signalsOf(t, id), ",")
	require.Contains(t, signals, invoiceapi.SignalDelivery)
	require.Contains(t, signals, invoiceapi.SignalOptOut)
	terminate(t, id)
}

// TestForgedWebhooksChangeNothing: no signature, or a wrong one, is 401 with a JSON
// error, and nothing is recorded.
func TestForgedWebhooksChangeNothing(t *testing.T) {
	t.Parallel()
	phone := uniquePhone()
	form := url.Values{"MessageSid": {"SM" + strings.Repeat("a", 32)}, "From": {phone}, "Body": {"STOP"}}
	for _, sig := range []string{"", "forged", fakeprovider.TwilioSignature("wrong-token", env.api.URL+"/v1/webhooks/twilio", form)} {
		req, err := http.NewRequest(http.MethodPost, env.api.URL+"/v1/webhooks/twilio", strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig != "" {
			req.Header.Set("X-Twilio-Signature", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	}
	body := fmt.Sprintf(`[{"event":"unsubscribe","email":"forged@example.com","timestamp":%d,"sg_event_id":"forged"}]`, time.Now().Unix())
	req, err := http.NewRequest(http.MethodPost, env.api.URL+"/v1/webhooks/sendgrid", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("X-Twilio-Email-Event-Webhook-Signature", "MEUCIQ==")
	req.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", fmt.Sprint(time.Now().Unix()))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	for ch, addr := range map[string]string{ledger.ChannelSMS: phone, ledger.ChannelEmail: "forged@example.com"} {
		_, out, err := env.ledger.OptedOut(context.Background(), ch, addr)
		require.NoError(t, err)
		require.False(t, out, ch)
	}
}
