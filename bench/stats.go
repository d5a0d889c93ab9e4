package bench

import (
	"math"
	"slices"
	"time"
)

// Latencies summarises a set of request latencies.
type Latencies struct {
	Count  int     `json:"count"`
	Errors int     `json:"errors"`
	P50ms  float64 `json:"p50_ms"`
	P95ms  float64 `json:"p95_ms"`
	P99ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
	// RateHz is the offered rate; AchievedHz what was sent.
	RateHz     float64 `json:"rate_hz"`
	AchievedHz float64 `json:"achieved_hz"`
}

// Percentile returns the p-th percentile (0 < p <= 100) of the samples by the
// nearest-rank method, or 0 when there are none. It sorts samples in place.
func Percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	slices.Sort(samples)
	rank := int(math.Ceil(p / 100 * float64(len(samples))))
	rank = min(max(rank, 1), len(samples))
	return samples[rank-1]
}

// summarize computes the percentiles of samples (successful requests only).
func summarize(samples []time.Duration, errors int) Latencies {
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Millisecond)*100) / 100 }
	l := Latencies{Count: len(samples), Errors: errors}
	if len(samples) == 0 {
		return l
	}
	l.P50ms = ms(Percentile(samples, 50))
	l.P95ms = ms(Percentile(samples, 95))
	l.P99ms = ms(Percentile(samples, 99))
	l.MaxMs = ms(samples[len(samples)-1])
	return l
}

// round2 rounds to two decimals for the report.
func round2(v float64) float64 { return math.Round(v*100) / 100 }
