package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTasksCLI(t *testing.T) {
	seen := fakeAPI(t, `{"tasks":[{"id":7,"kind":"call","customer_id":"C-1","invoice_id":"INV-1","status":"open","assignee":"",
		"title":"Call about invoice INV-1","details":{},"due_at":"2026-12-09T10:00:00Z",
		"priority":{"score":5.1,"balance":"1250.00","currency":"USD","days_overdue":6,"band":"slow"}}]}`)
	var out bytes.Buffer
	require.NoError(t, tasksCmd(context.Background(), []string{"-kind", "call", "-assignee", "ann"}, &out))
	require.Equal(t, []string{"/v1/tasks?assignee=ann&kind=call&status=open"}, *seen)
	require.Regexp(t, `7\s+call\s+open\s+C-1\s+INV-1\s+1250\.00 USD\s+6\s+slow\s+5\.10\s+-\s+2026-12-09 10:00\s+Call about invoice INV-1`, out.String())

	seen = fakeAPI(t, `{"id":7,"kind":"call","customer_id":"C-1","invoice_id":"INV-1","status":"done","outcome":"promised",
		"completed_by":"key:ann","details":{"voicemail_script":"This is Acme, please call +1 555 0100."}}`)
	out.Reset()
	require.NoError(t, taskCmd(context.Background(), []string{"complete", "7", "-outcome", "promised", "-note", "Friday",
		"-promise-date", "2026-12-20"}, &out))
	require.Equal(t, []string{"/v1/tasks/7/complete"}, *seen)
	require.Contains(t, out.String(), "task 7 (call, customer C-1, invoice INV-1): done, promised by key:ann")
	require.Contains(t, out.String(), "voicemail script: This is Acme")

	var ue usageError
	for _, args := range [][]string{{"complete", "7"}, {"complete", "x", "-outcome", "reached"}, {"snooze", "7"}, {"fly", "7"}, {"show"}} {
		require.ErrorAs(t, taskCmd(context.Background(), args, &out), &ue, "%v", args)
	}
	require.ErrorAs(t, tasksCmd(context.Background(), []string{"extra"}, &out), &ue)
	// A forgotten -assignee unassigned the task; -limit 0 or -5 listed the default.
	for _, args := range [][]string{{"assign", "7"}, {"assign", "7", "-note", "x"}} {
		require.ErrorAs(t, taskCmd(context.Background(), args, &out), &ue, "%v", args)
	}
	require.ErrorContains(t, taskCmd(context.Background(), []string{"assign", "7"}, &out), "-assignee: is required")
	for _, l := range []string{"0", "-5", "1001"} {
		require.ErrorContains(t, tasksCmd(context.Background(), []string{"-limit", l}, &out), "-limit: must be a whole number from 1 to 1000", l)
	}
	seen = fakeAPI(t, `{"id":7,"kind":"call","customer_id":"C-1","status":"open","assignee":"","details":{}}`)
	require.NoError(t, taskCmd(context.Background(), []string{"assign", "7", "-assignee", ""}, &out), "an explicit empty name gives it to the team")
	require.Equal(t, []string{"/v1/tasks/7/assign"}, *seen)
}
