package policy

import (
	"strings"
	"testing"
	"time"
)

func TestParseOffset(t *testing.T) {
	cases := map[string]Offset{
		"-3d": {Days: -3, InDays: true}, "0d": {InDays: true}, "+7d": {Days: 7, InDays: true},
		"30d": {Days: 30, InDays: true}, "+20s": {Exact: 20 * time.Second},
		"+5m": {Exact: 5 * time.Minute}, "-2h": {Exact: -2 * time.Hour},
	}
	for in, want := range cases {
		got, err := ParseOffset(in)
		if err != nil || got != want {
			t.Errorf("ParseOffset(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "3", "+3w", "d", "++3d", "1.5d", "99999d", "+3 d"} {
		if _, err := ParseOffset(bad); err == nil {
			t.Errorf("ParseOffset(%q) succeeded, want error", bad)
		}
	}
}

func TestParseReportsEveryBadField(t *testing.T) {
	src := `
id: Bad Id
version: 0
send_at: "25:00"
steps:
  - name: a
    offset: +1d
    channels: [fax, email, email]
    template: ""
  - name: a
    offset: -1d
    channels: []
    template: t
escalation:
  after: -5d
  to: police
`
	_, err := Parse("bad.yaml", []byte(src))
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{
		"line 2: id:", "line 3: version:", "line 8: steps[0].channels[0]", "line 12: steps[1].channels", "line 11: steps[1].offset",
		"bad.yaml", "id:", "version:", "send_at:", "steps[0].channels[0]", "steps[0].channels[2]",
		"steps[0].template", "steps[1].name", "steps[1].channels", "steps[1].offset",
		"escalation.to", "escalation.after",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestParseRejectsUnknownFieldsAndBadOffsets(t *testing.T) {
	for name, src := range map[string]string{
		"unknown field": "id: x\nversion: 1\nstepz: []\n",
		"bad offset":    "id: x\nversion: 1\nsteps:\n  - name: a\n    offset: soon\n    channels: [email]\n    template: t\n",
		"not yaml":      "id: [",
	} {
		if _, err := Parse(name, []byte(src)); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
}
