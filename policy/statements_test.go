package policy

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseStatementSchedules(t *testing.T) {
	scheds, err := ParseStatementSchedules("statements.yaml", []byte(`
statements:
  monthly:
    day: 1
    at: "08:00"
    timezone: Europe/Berlin
    segments: [smb, b2b-eu]
  weekly-keys:
    cron: "0 7 * * MON"
    period: week
    customers: [C-42]
`))
	require.NoError(t, err)
	require.Len(t, scheds, 2)
	require.Equal(t, StatementSchedule{Name: "monthly", Day: 1, At: "08:00", Timezone: "Europe/Berlin", Segments: []string{"smb", "b2b-eu"}}, scheds[0])
	require.Equal(t, PeriodMonth, scheds[0].EffectivePeriod())
	h, m := scheds[0].Clock()
	require.Equal(t, [2]int{8, 0}, [2]int{h, m})
	require.Equal(t, "UTC", scheds[1].Zone())
	require.Equal(t, PeriodWeek, scheds[1].EffectivePeriod())

	empty, err := ParseStatementSchedules("statements.yaml", nil)
	require.NoError(t, err)
	require.Empty(t, empty)
}

func TestStatementSchedulesRefused(t *testing.T) {
	_, err := ParseStatementSchedules("dir/statements.yaml", []byte(`statements:
  Bad_Name:
    day: 1
    at: "08:00"
  late:
    day: 31
    at: "25:00"
    timezone: Mars/Olympus
  both:
    day: 2
    cron: "0 7 * * *"
  cron-no-period:
    cron: "0 7 * *"
  neither:
    segments: [""]
  monthly-weekly:
    day: 3
    at: "09:00"
    period: week
`))
	var ve *ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	require.Equal(t, "dir/statements.yaml", ve.Source)
	got := map[string]int{}
	for _, f := range ve.Fields {
		got[f.Field] = f.Line
	}
	require.Equal(t, map[string]int{
		"statements.Bad_Name":              2,
		"statements.late.day":              6,
		"statements.late.at":               7,
		"statements.late.timezone":         8,
		"statements.both.cron":             11,
		"statements.cron-no-period.cron":   13,
		"statements.cron-no-period.period": 12,
		"statements.neither":               14,
		"statements.neither.segments[0]":   15,
		"statements.monthly-weekly.period": 19,
	}, got, "%v", err)
	require.Contains(t, err.Error(), "dir/statements.yaml: invalid statement schedules: ")

	_, err = ParseStatementSchedules("statements.yaml", []byte("statements:\n  x:\n    dai: 1\n"))
	require.ErrorContains(t, err, "line 3: statements.x.dai: unknown field")
}

func TestPeriodStart(t *testing.T) {
	day := time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC) // a Thursday
	require.Equal(t, "2026-12-01", PeriodStart(PeriodMonth, day).Format(time.DateOnly))
	require.Equal(t, "2026-12-07", PeriodStart(PeriodWeek, day).Format(time.DateOnly))
	require.Equal(t, "2026-12-10", PeriodStart(PeriodDay, day).Format(time.DateOnly))
	sunday := time.Date(2027, 1, 3, 0, 0, 0, 0, time.UTC)
	require.Equal(t, "2026-12-28", PeriodStart(PeriodWeek, sunday).Format(time.DateOnly), "a week starts on Monday, across the year")
}
