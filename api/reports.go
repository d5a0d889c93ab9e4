package api

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/reports"
)

// reportTimeout bounds one report request.
const reportTimeout = 30 * time.Second

// reportQuery is a report request's parameters, validated.
type reportQuery struct {
	period     reports.Period
	asOf       time.Time
	filter     reports.Filter
	withinDays int
	months     int // the trend's
	weeks      int // the forecast's
}

// Which query parameters each report takes.
var (
	kpiParams   = []string{"from", "to", "currency", "segment", "policy"}
	agingParams = []string{"as_of", "currency", "segment", "policy"}
	stepParams  = []string{"from", "to", "currency", "segment", "policy", "within_days"}
	trendParams = []string{"to", "months", "currency", "segment", "policy"}
	castParams  = []string{"weeks", "currency", "segment", "policy"}
	teamParams  = []string{"from", "to", "within_days"}
)

// parseReportQuery validates q against the parameters a report takes; the map names
// every bad parameter (unknown, repeated or malformed). Dates are YYYY-MM-DD; the
// period defaults to the 30 days ending today, as_of to today (UTC).
func parseReportQuery(q url.Values, allowed []string, today time.Time) (reportQuery, map[string]string) {
	bad := map[string]string{}
	get := func(name string) string {
		if !slices.Contains(allowed, name) {
			return "" // answered as unknown below
		}
		v := q[name]
		if len(v) > 1 {
			bad[name] = "must be given at most once"
		}
		if len(v) == 0 {
			return ""
		}
		return strings.TrimSpace(v[0])
	}
	for name := range q {
		if !slices.Contains(allowed, name) {
			bad[name] = "is not a parameter of this report (known: " + strings.Join(allowed, ", ") + ")"
		}
	}
	dateParam := func(name string, def time.Time) time.Time {
		s := get(name)
		if s == "" {
			return def
		}
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			bad[name] = "must be a date like 2026-01-31"
			return def
		}
		return d
	}
	var rq reportQuery
	to := dateParam("to", today)
	rq.period = reports.Period{From: dateParam("from", to.AddDate(0, 0, 1-reports.DefaultPeriodDays)), To: to}
	if _, fromBad := bad["from"]; !fromBad {
		if _, toBad := bad["to"]; !toBad {
			for k, v := range rq.period.Validate() {
				bad[k] = v
			}
		}
	}
	rq.asOf = dateParam("as_of", today)
	rq.filter = reports.Filter{Currency: get("currency"), Segment: get("segment"), Policy: get("policy")}
	for k, v := range rq.filter.Validate() {
		bad[k] = v
	}
	count := func(name string, def, most int, unit string) int {
		s := get(name)
		if s == "" {
			return def
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > most {
			bad[name] = "must be a whole number of " + unit + " from 1 to " + strconv.Itoa(most)
			return def
		}
		return n
	}
	rq.withinDays = count("within_days", reports.DefaultWithinDays, reports.MaxWithinDays, "days")
	rq.months = count("months", reports.DefaultTrendMonths, reports.MaxTrendMonths, "months")
	rq.weeks = count("weeks", reports.DefaultForecastWeeks, reports.MaxForecastWeeks, "weeks")
	return rq, bad
}

// reporter returns the reports over the ledger, on the server's clock.
func (s *Server) reporter() *reports.Reporter {
	rep := reports.New(s.Ledger.Pool())
	rep.Now = s.now
	return rep
}

// report parses the query for allowed parameters, runs run and answers its result.
func (s *Server) report(allowed []string, what string, run func(context.Context, *reports.Reporter, reportQuery) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rep := s.reporter()
		rq, bad := parseReportQuery(r.URL.Query(), allowed, rep.Today())
		if len(bad) > 0 {
			writeError(w, http.StatusBadRequest, "invalid report parameters: "+describe(bad), bad)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
		defer cancel()
		out, err := run(ctx, rep, rq)
		if err != nil {
			s.fail(w, r, "computing the "+what+" report", err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// getKPIs answers GET /v1/reports/kpis.
func (s *Server) getKPIs() http.HandlerFunc {
	return s.report(kpiParams, "KPI", func(ctx context.Context, rep *reports.Reporter, rq reportQuery) (any, error) {
		return rep.KPIs(ctx, rq.period, rq.filter)
	})
}

// getAging answers GET /v1/reports/aging.
func (s *Server) getAging() http.HandlerFunc {
	return s.report(agingParams, "aging", func(ctx context.Context, rep *reports.Reporter, rq reportQuery) (any, error) {
		return rep.Aging(ctx, rq.asOf, rq.filter)
	})
}

// getSteps answers GET /v1/reports/steps.
func (s *Server) getSteps() http.HandlerFunc {
	return s.report(stepParams, "step effectiveness", func(ctx context.Context, rep *reports.Reporter, rq reportQuery) (any, error) {
		return rep.Steps(ctx, rq.period, rq.filter, rq.withinDays)
	})
}

// getTrend answers GET /v1/reports/trend.
func (s *Server) getTrend() http.HandlerFunc {
	return s.report(trendParams, "trend", func(ctx context.Context, rep *reports.Reporter, rq reportQuery) (any, error) {
		return rep.Trend(ctx, rq.period.To, rq.months, rq.filter)
	})
}

// getForecast answers GET /v1/reports/forecast.
func (s *Server) getForecast() http.HandlerFunc {
	return s.report(castParams, "cash-in forecast", func(ctx context.Context, rep *reports.Reporter, rq reportQuery) (any, error) {
		return rep.Forecast(ctx, rq.weeks, rq.filter)
	})
}

// getCollectors answers GET /v1/reports/collectors.
func (s *Server) getCollectors() http.HandlerFunc {
	return s.report(teamParams, "collectors", func(ctx context.Context, rep *reports.Reporter, rq reportQuery) (any, error) {
		return rep.Collectors(ctx, rq.period, rq.withinDays)
	})
}

// describe lists the bad parameters in order: "currency: must be ...; to: ...".
func describe(bad map[string]string) string {
	names := make([]string, 0, len(bad))
	for k := range bad {
		names = append(names, k)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + ": " + bad[n]
	}
	return strings.Join(parts, "; ")
}

// reportRoutes registers the reports, the customer view and the /reports page, all
// behind the read scope.
func (s *Server) reportRoutes(mux *routeMux) {
	mux.Handle("GET /v1/reports/kpis", s.require(auth.ScopeRead, s.getKPIs()))
	mux.Handle("GET /v1/reports/aging", s.require(auth.ScopeRead, s.getAging()))
	mux.Handle("GET /v1/reports/steps", s.require(auth.ScopeRead, s.getSteps()))
	mux.Handle("GET /v1/reports/trend", s.require(auth.ScopeRead, s.getTrend()))
	mux.Handle("GET /v1/reports/forecast", s.require(auth.ScopeRead, s.getForecast()))
	mux.Handle("GET /v1/reports/collectors", s.require(auth.ScopeRead, s.getCollectors()))
	mux.Handle("GET /v1/customers/{id}", s.require(auth.ScopeRead, s.getCustomer))
	mux.Handle("GET /reports", s.reportsPage())
}
