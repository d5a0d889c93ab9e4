package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron"
	"gopkg.in/yaml.v3"
)

// StatementsFile is the name of the file, beside the policies, that says when
// customers are sent their statements. It is not a policy itself.
const StatementsFile = "statements.yaml"

// Statement periods: a customer gets at most one scheduled statement per period.
const (
	PeriodDay   = "day"
	PeriodWeek  = "week" // Monday to Sunday
	PeriodMonth = "month"
)

// StatementSchedule is one entry of statements.yaml: when a statement run starts and
// whom it covers. Either Day and At (monthly, the period is the month) or Cron with
// Period; times are in Timezone.
type StatementSchedule struct {
	Name string `yaml:"-"`
	// Day of the month, 1-28 (every month has it), with At the local time.
	Day int    `yaml:"day,omitempty"`
	At  string `yaml:"at,omitempty"`
	// Cron is a standard five-field cron expression (minute hour day month weekday).
	Cron string `yaml:"cron,omitempty"`
	// Timezone is the IANA zone of Day/At or Cron and of the statement date (UTC).
	Timezone string `yaml:"timezone,omitempty"`
	// Period is day, week or month: at most one statement per customer in it. A Day
	// schedule's period is the month.
	Period string `yaml:"period,omitempty"`
	// Segments and Customers select the customers with open invoices; neither: all.
	Segments  []string `yaml:"segments,omitempty"`
	Customers []string `yaml:"customers,omitempty"`
}

// Zone is the schedule's time zone name, UTC when none is set.
func (s StatementSchedule) Zone() string {
	if s.Timezone == "" {
		return "UTC"
	}
	return s.Timezone
}

// EffectivePeriod is the period a customer gets at most one statement in.
func (s StatementSchedule) EffectivePeriod() string {
	if s.Period == "" && s.Day > 0 {
		return PeriodMonth
	}
	return s.Period
}

// Clock returns At as hour and minute.
func (s StatementSchedule) Clock() (hour, minute int) {
	if m := clockRE.FindStringSubmatch(s.At); m != nil {
		fmt.Sscanf(m[1]+" "+m[2], "%d %d", &hour, &minute)
	}
	return hour, minute
}

// Describe says when the schedule runs, for people ("monthly on day 1 at 08:00 Europe/Berlin").
func (s StatementSchedule) Describe() string {
	if s.Cron != "" {
		return fmt.Sprintf("cron %q in %s, one statement per %s", s.Cron, s.Zone(), s.EffectivePeriod())
	}
	return fmt.Sprintf("monthly on day %d at %s %s", s.Day, s.At, s.Zone())
}

// statementsDoc is the file's format: schedules by name under "statements".
type statementsDoc struct {
	Statements map[string]StatementSchedule `yaml:"statements"`
}

// scheduleNameRE: the name becomes the Temporal schedule id statements-<name>.
var scheduleNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,47}$`)

// ParseStatementSchedules decodes and checks a statements file. Errors are a
// *ValidationError naming the file, line and field of every problem. The schedules
// come sorted by name.
func ParseStatementSchedules(source string, data []byte) ([]StatementSchedule, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, withWhat(decodeError(source, nil, err))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc statementsDoc
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, withWhat(decodeError(source, &root, err))
	}
	var errs []FieldError
	out := make([]StatementSchedule, 0, len(doc.Statements))
	for _, name := range slices.Sorted(maps.Keys(doc.Statements)) {
		s := doc.Statements[name]
		s.Name = name
		errs = append(errs, s.validate("statements."+name)...)
		out = append(out, s)
	}
	if len(errs) > 0 {
		for i := range errs {
			errs[i].Line = lineOf(&root, errs[i].Field)
		}
		return nil, &ValidationError{Source: source, Fields: errs, What: "statement schedules"}
	}
	return out, nil
}

func withWhat(err error) error {
	var ve *ValidationError
	if errors.As(err, &ve) {
		ve.What = "statement schedules"
	}
	return err
}

// Validate checks one schedule; errors name its fields under "statements.<name>".
func (s StatementSchedule) Validate() error {
	if errs := s.validate("statements." + s.Name); len(errs) > 0 {
		return &ValidationError{Fields: errs, What: "statement schedules"}
	}
	return nil
}

func (s StatementSchedule) validate(f string) []FieldError {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: f + field, Problem: fmt.Sprintf(format, args...)})
	}
	if !scheduleNameRE.MatchString(s.Name) {
		add("", "a schedule name is 1-48 lower-case letters, digits or '-' (it becomes the Temporal schedule id statements-<name>)")
	}
	switch {
	case s.Cron == "" && s.Day == 0:
		add("", "needs day (with at) for a monthly run, or cron (with period)")
	case s.Cron != "" && (s.Day != 0 || s.At != ""):
		add(".cron", "give either cron or day and at, not both")
	case s.Cron != "":
		if strings.Contains(s.Cron, "TZ=") {
			add(".cron", "put the zone in timezone, not in the expression")
		} else if len(strings.Fields(s.Cron)) != 5 {
			add(".cron", "must have five fields: minute hour day-of-month month day-of-week (e.g. \"0 7 * * MON\")")
		} else if _, err := cron.ParseStandard(s.Cron); err != nil {
			add(".cron", "%v", err)
		}
		switch s.Period {
		case PeriodDay, PeriodWeek, PeriodMonth:
		case "":
			add(".period", "is required with cron: day, week or month (a customer gets at most one statement in it)")
		default:
			add(".period", "%q is not day, week or month", s.Period)
		}
	default:
		if s.Day < 1 || s.Day > 28 {
			add(".day", "must be 1-28, a day every month has (got %d)", s.Day)
		}
		if !clockRE.MatchString(s.At) {
			add(".at", "must be a local time HH:MM, e.g. \"08:00\" (got %q)", s.At)
		}
		if s.Period != "" && s.Period != PeriodMonth {
			add(".period", "a monthly schedule's period is month (got %q)", s.Period)
		}
	}
	if s.Timezone != "" {
		if _, err := time.LoadLocation(s.Timezone); err != nil || s.Timezone == "Local" {
			add(".timezone", "%q is not an IANA time zone such as Europe/Berlin", s.Timezone)
		}
	}
	for i, seg := range s.Segments {
		if strings.TrimSpace(seg) == "" || len(seg) > 64 {
			add(fmt.Sprintf(".segments[%d]", i), "a segment is 1-64 bytes, as customer.segment in an invoice")
		}
	}
	for i, c := range s.Customers {
		if strings.TrimSpace(c) == "" || len(c) > 100 {
			add(fmt.Sprintf(".customers[%d]", i), "a customer id is 1-100 bytes, as customer.id in an invoice")
		}
	}
	return errs
}

// PeriodStart is the first day of the period (day, week from Monday, month) that the
// date day is in; day's clock and zone are kept as given (a local date at midnight).
func PeriodStart(period string, day time.Time) time.Time {
	y, m, d := day.Date()
	switch period {
	case PeriodMonth:
		return time.Date(y, m, 1, 0, 0, 0, 0, day.Location())
	case PeriodWeek:
		back := (int(day.Weekday()) + 6) % 7 // days since Monday
		return time.Date(y, m, d-back, 0, 0, 0, 0, day.Location())
	}
	return time.Date(y, m, d, 0, 0, 0, 0, day.Location())
}
