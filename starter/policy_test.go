package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/collection"
)

func starterRun(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func TestPolicyValidateShippedPolicies(t *testing.T) {
	code, out, errOut := starterRun(t, "", "policy", "validate", "../policies")
	require.Equal(t, 0, code, errOut)
	for _, f := range []string{"demo.yaml", "gentle.yaml", "segments.yaml", "standard.yaml", "strict.yaml"} {
		require.Contains(t, out, "OK    "+filepath.Join("../policies", f), out)
	}
	require.Contains(t, out, "standard v2: 4 steps, late fee, interest 8%, agency at +30d with approval")
	require.Contains(t, out, "key-accounts -> gentle")
}

func TestPolicyValidateReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.yaml", "id: bad\nversion: 0\nsteps:\n  - name: a\n    offset: soon\n    channels: [fax]\n    template: nope\nlate_fee:\n  percent: 1.5%\n  every: 30d\n")
	good := writeFile(t, dir, "good.yaml", "id: good\nversion: 1\nsteps:\n  - {name: a, offset: +1d, channels: [email], template: overdue}\n")
	segs := writeFile(t, dir, "segments.yaml", "segments:\n  vip: good\n  smb: missing\n")
	code, out, errOut := starterRun(t, "", "policy", "validate", good, bad, segs)
	require.Equal(t, 1, code)
	require.Contains(t, out, "OK    "+good)
	require.NotContains(t, out, bad)
	for _, want := range []string{
		bad + ":2: version: must be a positive integer",
		bad + `:5: steps[0].offset: "soon" is not an offset`,
		bad + `:6: steps[0].channels[0]: "fax" is not a channel`,
		bad + ":8: late_fee.cap: is required when the fee repeats (every)",
		segs + `:3: segments.smb: unknown policy "missing"`,
		"2 of 3 files invalid",
	} {
		require.Contains(t, errOut, want)
	}
	// A template Dunwell does not have is caught too (when the file is otherwise valid).
	tmpl := writeFile(t, dir, "tmpl.yaml", "id: t\nversion: 1\nsteps:\n  - name: a\n    offset: +1d\n    channels: [email]\n    template: nope\n")
	code, _, errOut = starterRun(t, "", "policy", "validate", tmpl)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, tmpl+`:7: steps[0].template: unknown template "nope"`)

	code, _, errOut = starterRun(t, "", "policy", "validate")
	require.Equal(t, 2, code, errOut)
	code, _, _ = starterRun(t, "", "policy", "validate", filepath.Join(dir, "missing.yaml"))
	require.Equal(t, 1, code)
}

func TestPolicyPreviewStandard(t *testing.T) {
	code, out, errOut := starterRun(t, "", "policy", "preview", "../policies/standard.yaml", "-f", "testdata/invoice.json")
	require.Equal(t, 0, code, errOut)
	for _, want := range []string{
		"Policy standard v2 for invoice INV-1001: 1250.00 USD",
		"Times are the customer's (America/New_York)",
		"2026-12-15 Tue 10:00:00 EST  reminder         due-soon / due_soon",
		"2026-12-24 Thu 00:00:00 EST  late_fee         +18.75",
		"sms, fallback email  18.75  0.64      1269.39  moved from Fri 10:00: 2026-12-25 is a holiday",
		"2027-01-17 Sun 10:00:00 EST  escalation",
		"1275.44  hand-off to agency; waits up to +3d for approval, then approves",
		"at most 2 reminders per customer per day",
	} {
		require.Contains(t, out, want, out)
	}
	// Flags first, a shipped policy by id, and the invoice on standard input.
	data, err := os.ReadFile("testdata/invoice.json")
	require.NoError(t, err)
	code, out, errOut = starterRun(t, string(data), "policy", "preview", "-f", "-", "demo")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "2026-11-20 Fri 10:00:20 EST  late_fee    +25.00")
	require.Contains(t, out, "second-reminder / overdue_firm  sms, fallback email  25.00  0.00      1275.00")
}

func TestPolicyPreviewJSON(t *testing.T) {
	code, out, errOut := starterRun(t, "", "policy", "preview", "gentle", "-f", "testdata/invoice.json", "-json")
	require.Equal(t, 0, code, errOut)
	var tl collection.Timeline
	require.NoError(t, json.Unmarshal([]byte(out), &tl))
	require.NotEmpty(t, tl.Events)
	// Issued 2026-11-20: 2% off for paying by the end of 2026-11-30, New York time.
	require.Equal(t, collection.EventDiscountEnds, tl.Events[0].Kind)
	require.Equal(t, "2026-12-01T05:00:00Z", tl.Events[0].At.UTC().Format(time.RFC3339))
	require.Equal(t, int64(0), tl.Events[0].Charges.DiscountOffered)
	for _, e := range tl.Events {
		require.NotEqual(t, collection.EventLateFee, e.Kind, "gentle charges no late fee")
		if e.Kind == collection.EventReminder {
			require.Equal(t, "email", collection.ChannelLabel(e.Channels), "gentle is email only")
		}
	}
	last := tl.Events[len(tl.Events)-1]
	require.Equal(t, collection.EventEscalation, last.Kind)
	require.True(t, last.Approval)
}

func TestPolicyPreviewRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	badInv := writeFile(t, dir, "inv.json", `{"id": "x", "customer": {"id": "c", "name": "n", "timezone": "Mars/Base"},
		"currency": "usd", "amount_due": "-1", "issued_at": "x", "due_date": "2026-02-30"}`)
	code, out, errOut := starterRun(t, "", "policy", "preview", "standard", "-f", badInv)
	require.Equal(t, 1, code)
	require.Empty(t, out)
	for _, f := range []string{"amount_due", "currency", "customer.email", "customer.timezone", "due_date", "issued_at"} {
		require.Contains(t, errOut, badInv+": "+f+": ")
	}
	unknown := writeFile(t, dir, "unknown.json", `{"id": "x", "amount": 1}`)
	code, _, errOut = starterRun(t, "", "policy", "preview", "standard", "-f", unknown)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `unknown field \"amount\"`)

	// A fixed fee in USD only cannot price a JPY invoice.
	usdOnly := writeFile(t, dir, "usd.yaml", "id: usd\nversion: 1\nsteps:\n  - {name: a, offset: +1d, channels: [email], template: overdue}\nlate_fee: {amount: {USD: \"25.00\"}}\n")
	data, err := os.ReadFile("testdata/invoice.json")
	require.NoError(t, err)
	jpy := writeFile(t, dir, "jpy.json", strings.Replace(strings.Replace(string(data), `"USD"`, `"JPY"`, 1), `"1250.00"`, `"125000"`, 1))
	code, _, errOut = starterRun(t, "", "policy", "preview", usdOnly, "-f", jpy)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "currency: policy usd has no late_fee.amount amount for JPY")

	code, _, errOut = starterRun(t, "", "policy", "preview", "nosuch", "-f", jpy)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "nor a shipped policy")
	for _, args := range [][]string{{"preview"}, {"preview", "standard"}, {"preview", "a", "b", "-f", jpy}, {"preview", "-x"}, {"frobnicate"}, {}} {
		code, _, _ = starterRun(t, "", append([]string{"policy"}, args...)...)
		require.Equal(t, 2, code, "args %q", args)
	}
}

// The "done when": a EUR 10,000 invoice 45 days late across 30 June / 1 July
// shows the EUR 40 compensation and the interest of each half-year at its own rate.
func TestPolicyPreviewStatutory(t *testing.T) {
	// The example of docs/statements.md, whose running state and statement show the same
	// lines (workflows: TestStatutoryPreviewStateAndStatementAgree).
	code, out, errOut := starterRun(t, "", "policy", "preview", "eu-b2b", "-f", "../docs/examples/invoice-eu-b2b.json", "-at", "2025-07-25")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "interest 2025-H2  2025-07-01 to 2025-07-25, 25 days, ecb_mro 2.15% + 8% = 10.15%           69.52 EUR")
	require.Contains(t, out, "total                                                                                   10170.62 EUR")

	code, out, errOut = starterRun(t, "", "policy", "preview", "eu-b2b", "-f", "testdata/invoice-eu.json", "-at", "2025-07-25")
	require.Equal(t, 0, code, errOut)
	require.Empty(t, errOut)
	for _, want := range []string{
		"compensation                                          40.00  3.05      10043.05  fixed compensation for recovery costs, charged once",
		"Owed on 2025-07-25, 45 days late, if nothing is paid:",
		"compensation      fixed, charged 2025-06-11                                                40.00 EUR",
		"interest 2025-H1  2025-06-11 to 2025-06-30, 20 days, ecb_mro 3.15% + 8% = 11.15%           61.10 EUR",
		"interest 2025-H2  2025-07-01 to 2025-07-25, 25 days, ecb_mro 2.15% + 8% = 10.15%           69.52 EUR",
		"total                                                                                   10170.62 EUR",
	} {
		require.Contains(t, out, want, out)
	}

	// JSON: the same figures in the timeline's final charges.
	code, out, errOut = starterRun(t, "", "policy", "preview", "eu-b2b", "-f", "testdata/invoice-eu.json", "-at", "2025-07-25", "-json")
	require.Equal(t, 0, code, errOut)
	var tl collection.Timeline
	require.NoError(t, json.Unmarshal([]byte(out), &tl))
	require.Equal(t, int64(4000), tl.Final.Compensation)
	require.Len(t, tl.Final.InterestLines, 2)
	require.Equal(t, int64(6110), tl.Final.InterestLines[0].Amount)
	require.Equal(t, int64(6952), tl.Final.InterestLines[1].Amount)

	// UK: one rate for the whole debt (Bank Rate at the close of 31 December 2024)
	// and the GBP 70 tier for a debt of 1,000 to 10,000.
	data, err := os.ReadFile("testdata/invoice-eu.json")
	require.NoError(t, err)
	uk := strings.NewReplacer(`"EUR"`, `"GBP"`, `"10000.00"`, `"9999.99"`, "Europe/Berlin", "Europe/London").Replace(string(data))
	code, out, errOut = starterRun(t, uk, "policy", "preview", "uk-b2b", "-f", "-", "-at", "2025-07-25")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "compensation      fixed, charged 2025-06-11                                                 70.00 GBP")
	require.Contains(t, out, "interest 2025-H1  2025-06-11 to 2025-07-25, 45 days, boe_base 4.75% + 8% = 12.75%          157.19 GBP")

	// A half-year the rates file does not cover: warned, and no interest charged.
	late := strings.ReplaceAll(string(data), "2025-", "2026-")
	code, out, errOut = starterRun(t, late, "policy", "preview", "eu-b2b", "-f", "-", "-at", "2026-07-25")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "warning: the API refuses this invoice (due_date): policy eu-b2b needs the ecb_mro rate for 2026-H1")
	require.Contains(t, errOut, "warning: no ecb_mro rate for 2026-H2 in rates/ecb_mro.yaml: no interest is charged for its 25 days late")
	require.Contains(t, out, "2026-H1  2026-06-11 to 2026-06-30, 20 days, no ecb_mro rate: none charged")

	// A bad day for -at.
	code, _, errOut = starterRun(t, "", "policy", "preview", "eu-b2b", "-f", "testdata/invoice-eu.json", "-at", "25.07.2025")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `-at: "25.07.2025" is not a date`)

	// A GBP invoice under eu-b2b is refused: its compensation is in EUR only.
	code, _, errOut = starterRun(t, uk, "policy", "preview", "eu-b2b", "-f", "-")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "currency: policy eu-b2b has no compensation amount for GBP")
}
