package bench

import (
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

func TestPercentileNearestRank(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {95, 95 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.1, time.Millisecond}} {
		if got := Percentile(s, tc.p); got != tc.want {
			t.Errorf("Percentile(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := Percentile(nil, 99); got != 0 {
		t.Errorf("Percentile(nil) = %v, want 0", got)
	}
	l := summarize([]time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond}, 1)
	if l.P50ms != 2 || l.P99ms != 3 || l.MaxMs != 3 || l.Count != 3 || l.Errors != 1 {
		t.Errorf("summarize = %+v", l)
	}
}

func TestMinimumHistoryIsCountedByHand(t *testing.T) {
	for _, tc := range []struct {
		sc           Scenario
		events, acts int
	}{{ScenarioPaidBeforeDue, 12, 4}, {ScenarioRemindedPaid, 34, 8}, {ScenarioEscalated, 32, 7}} {
		m := minimumFor(tc.sc)
		if len(m.Events) != tc.events || m.Actions != tc.acts {
			t.Errorf("%s: minimum %d events, %d actions; want %d, %d", tc.sc, len(m.Events), m.Actions, tc.events, tc.acts)
		}
	}
}

func TestChangeVersionUpsertBillsNoAction(t *testing.T) {
	upsert := func(keys ...string) *historypb.HistoryEvent {
		fields := map[string]*commonpb.Payload{}
		for _, k := range keys {
			fields[k] = &commonpb.Payload{}
		}
		return &historypb.HistoryEvent{
			EventType: enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
			Attributes: &historypb.HistoryEvent_UpsertWorkflowSearchAttributesEventAttributes{
				UpsertWorkflowSearchAttributesEventAttributes: &historypb.UpsertWorkflowSearchAttributesEventAttributes{
					SearchAttributes: &commonpb.SearchAttributes{IndexedFields: fields},
				},
			},
		}
	}
	if got := actionsOf(upsert("TemporalChangeVersion")); got != 0 {
		t.Errorf("TemporalChangeVersion alone: %d Actions, want 0", got)
	}
	if got := actionsOf(upsert("DunningStatus")); got != 1 {
		t.Errorf("DunningStatus: %d Actions, want 1", got)
	}
	if got := actionsOf(upsert("TemporalChangeVersion", "DunningStatus")); got != 1 {
		t.Errorf("both: %d Actions, want 1", got)
	}
}

func TestDrainOf(t *testing.T) {
	due := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	d := drainOf(due, due.Add(time.Second), due.Add(11*time.Second), 101, 10)
	if d.DrainSec != 11 || d.FirstSendSec != 1 || d.SteadyRatio != 1 || d.RateRatio != 0.92 {
		t.Errorf("drainOf = %+v", d)
	}
	// One instant for every send (or a single send): no steady rate, and nothing
	// infinite that would make the results unencodable as JSON.
	d = drainOf(due, due.Add(time.Second), due.Add(time.Second), 5, 10)
	if d.SteadyRatio != 0 || d.DrainSec != 1 {
		t.Errorf("drainOf at one instant = %+v", d)
	}
	if d := drainOf(due, time.Time{}, time.Time{}, 0, 10); d != (Drain{}) {
		t.Errorf("drainOf with no send = %+v", d)
	}
}
