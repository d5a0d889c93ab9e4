package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCallStepParses(t *testing.T) {
	src := `
id: calls
version: 1
steps:
  - name: call
    offset: +1d
    channels: [call, email]
    template: overdue
    timeout: 2d
    on_timeout: escalate
  - name: call-only
    offset: +5d
    channels: [call]
    timeout: +30m
escalation:
  after: +30d
  to: agency
calls:
  voicemail_script: "This is {business}, please call {phone}."
`
	p, err := Parse("calls.yaml", []byte(src))
	require.NoError(t, err)
	require.True(t, p.Steps[0].IsCall())
	require.Equal(t, 48*time.Hour, p.Steps[0].Timeout.Duration())
	require.Equal(t, OnTimeoutEscalate, p.Steps[0].TimeoutAction())
	require.Equal(t, OnTimeoutNext, p.Steps[1].TimeoutAction(), "the default")
	require.Equal(t, "This is Acme, please call +1 555 0100.", RenderVoicemail(p.Voicemail(), "Acme", "+1 555 0100"))
	require.Equal(t, DefaultVoicemailScript, (&Policy{}).Voicemail())
}

// A call step without its timeout, a call listed after another channel, an unknown
// on_timeout, a timeout on a step that calls nobody and a voicemail that says more
// than the business and the number are each refused with their line and field.
func TestCallStepRefusals(t *testing.T) {
	src := `
id: calls
version: 1
steps:
  - name: no-timeout
    offset: +1d
    channels: [call]
  - name: call-second
    offset: +2d
    channels: [email, call]
    template: overdue
  - name: bad-on-timeout
    offset: +3d
    channels: [call, sms]
    template: overdue
    timeout: 1d
    on_timeout: retry
  - name: escalate-nowhere
    offset: +4d
    channels: [call]
    timeout: 1d
    on_timeout: escalate
  - name: email
    offset: +5d
    channels: [email]
    template: overdue
    timeout: 1d
  - name: short
    offset: +6d
    channels: [call]
    timeout: +10s
calls:
  voicemail_script: "{business} about your invoice {invoice}: call {phone}"
`
	_, err := Parse("calls.yaml", []byte(src))
	require.Error(t, err)
	for _, want := range []string{
		"calls.yaml", "line 5: steps[0].timeout: is required on a call step",
		"line 10: steps[1].channels[1]: call must be the step's first channel",
		"line 17: steps[2].on_timeout: must be \"next\" or \"escalate\"",
		"line 22: steps[3].on_timeout: escalate needs the policy's escalation section",
		"line 27: steps[4].timeout: applies only to a step whose first channel is call",
		"line 31: steps[5].timeout: must be from 1m0s to 90 days",
		"calls.voicemail_script: {invoice} is not allowed",
	} {
		require.Contains(t, err.Error(), want)
	}
	require.False(t, strings.Contains(err.Error(), "steps[0].template"), "a call-only step needs no template")
}
