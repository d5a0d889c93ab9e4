package api

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"html/template"
	"net/http"
	"slices"
	"time"

	"golang.org/x/text/language"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/reports"
)

// The /reports page: KPIs, aging and step effectiveness for finance, rendered on the
// server (html/template, inline SVG charts; no script, no build step). It needs the
// read scope like the API; a browser authenticates with the session cookie that
// POST /v1/session sets, and without one the page answers 401 with a sign-in form.

//go:embed reportspage.html
var pageFS embed.FS

var pageTemplates = template.Must(template.New("reportspage.html").ParseFS(pageFS, "reportspage.html"))

// pageParams are the query parameters of /reports: lang (a language tag) overrides
// the browser's Accept-Language for the figures' formatting.
var pageParams = []string{"from", "to", "currency", "within_days", "months", "weeks", "lang"}

// Chart geometry, in SVG user units.
const (
	agingWidth, agingHeight = 420, 220
	agingBarWidth           = 56
	agingGap                = 24
	agingTop, agingBottom   = 28, 40 // room for the amounts above and the labels below
	stepsBarMax             = 320
	stepsRowHeight          = 26
	stepsLabelWidth         = 300
)

// pageCell is a figure: Value as people read it, Raw as the API's JSON carries it.
type pageCell struct{ Currency, Value, Raw string }

type pageRow struct {
	Key, Label string
	Cells      []pageCell
}

type pageBar struct {
	Bucket, Amount    string
	Raw               string
	Invoices          int64
	X, Y, W, H, TextX int
	LabelY, AmountY   int
}

type pageAging struct {
	Currency, Total string
	TotalRaw        string
	Invoices        int64
	Width, Height   int
	BaseY           int
	Bars            []pageBar
}

type pageStep struct {
	Label, Rate, Days string
	RateRaw           string
	Sent, PaidWithin  int64
	Y, TextY, W, BarX int
	RateX             int
}

type pageData struct {
	Lang               string
	From, To, Currency string
	FromText, ToText   string
	WithinDays         int
	Currencies         []string
	Errors             map[string]string
	KeyName            string
	KPICurrencies      []string
	KPIRows            []pageRow
	Aging              []pageAging
	AsOf               string
	Steps              []pageStep
	StepsWidth         int
	StepsHeight        int
	Trend              []pageTrend
	TrendFrom, TrendTo string
	Forecast           []pageForecast
	Collectors         []pageCollector
	ForecastFrom       string
	ForecastTo         string
	GeneratedAt        string
}

// pageCollector is one collector's row.
type pageCollector struct {
	Name, Customers, TasksDone, Conversations string
	TasksDoneRaw                              int64
	Promises, Kept, Broken, KeptRate          string
	KeptRateRaw                               string
	Collected                                 []pageCell
}

// reportsPage serves GET /reports behind the read scope; without a valid key or
// session it answers the sign-in form instead of the API's JSON 401.
func (s *Server) reportsPage() http.Handler {
	if s.Auth == nil {
		return scoped{http.HandlerFunc(s.noAuth), auth.ScopeRead}
	}
	inner := s.Auth.Require(auth.ScopeRead)(http.HandlerFunc(s.renderReports))
	return scoped{http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(&signInOn401{ResponseWriter: w, next: r.URL.RequestURI()}, r)
	}), auth.ScopeRead}
}

// signInOn401 replaces the middleware's 401 answer with the sign-in form: a plain
// HTML form that posts the key to POST /v1/session, which answers 303 back to next
// (the page that was asked for: path and query) with the session cookie. It needs no
// script.
type signInOn401 struct {
	http.ResponseWriter
	next      string
	swallowed bool
}

// signInFormData is the sign-in template's data.
type signInFormData struct {
	Next string // where POST /v1/session sends the browser after sign-in
}

func (w *signInOn401) WriteHeader(code int) {
	if code != http.StatusUnauthorized {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.swallowed = true
	h := w.ResponseWriter.Header()
	h.Del("Content-Length")
	setPageHeaders(h)
	w.ResponseWriter.WriteHeader(http.StatusUnauthorized)
	next := w.next
	if !auth.SafeNext(next) {
		next = auth.DefaultNext
	}
	_ = pageTemplates.ExecuteTemplate(w.ResponseWriter, "signin", signInFormData{Next: next})
}

func (w *signInOn401) Write(b []byte) (int, error) {
	if w.swallowed {
		return len(b), nil // the middleware's JSON error
	}
	return w.ResponseWriter.Write(b)
}

// setPageHeaders sets the headers of the server-rendered pages: HTML without script,
// whose forms post only to this server.
func setPageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
}

func (s *Server) renderReports(w http.ResponseWriter, r *http.Request) {
	rep := s.reporter()
	rq, bad := parseReportQuery(r.URL.Query(), pageParams, rep.Today())
	var lang string
	if v := r.URL.Query()["lang"]; len(v) > 1 {
		bad["lang"] = "must be given at most once"
	} else if len(v) == 1 {
		if _, err := language.Parse(v[0]); err != nil {
			bad["lang"] = "must be a language tag like de-DE"
		} else {
			lang = v[0]
		}
	}
	f := reports.FormatFor(lang, r.Header.Get("Accept-Language"))
	d := pageData{Lang: f.Lang(), From: rq.period.From.Format(time.DateOnly), To: rq.period.To.Format(time.DateOnly),
		FromText: f.Date(rq.period.From), ToText: f.Date(rq.period.To),
		Currency: rq.filter.Currency, WithinDays: rq.withinDays, Errors: bad,
		GeneratedAt: s.now().UTC().Format(time.RFC3339)}
	if key, ok := auth.KeyFrom(r.Context()); ok {
		d.KeyName = key.Name
	}
	code := http.StatusOK
	if len(bad) > 0 {
		code = http.StatusBadRequest
	} else {
		ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
		defer cancel()
		if err := s.fillPage(ctx, rep, rq, f, &d); err != nil {
			s.fail(w, r, "computing the reports page", err)
			return
		}
	}
	var buf bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&buf, "page", d); err != nil {
		s.fail(w, r, "rendering the reports page", err)
		return
	}
	setPageHeaders(w.Header())
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// fillPage runs the three reports. KPIs and aging are per currency anyway, so the
// currency picker selects their columns; step effectiveness is filtered by it.
func (s *Server) fillPage(ctx context.Context, rep *reports.Reporter, rq reportQuery, f reports.Format, d *pageData) error {
	kpis, err := rep.KPIs(ctx, rq.period, reports.Filter{})
	if err != nil {
		return err
	}
	aging, err := rep.Aging(ctx, rq.period.To, reports.Filter{})
	if err != nil {
		return err
	}
	steps, err := rep.Steps(ctx, rq.period, rq.filter, rq.withinDays)
	if err != nil {
		return err
	}
	trend, err := rep.Trend(ctx, rq.period.To, rq.months, reports.Filter{})
	if err != nil {
		return err
	}
	forecast, err := rep.Forecast(ctx, rq.weeks, reports.Filter{})
	if err != nil {
		return err
	}
	d.AsOf = f.DateText(aging.AsOf)
	for _, k := range kpis.Currencies {
		d.Currencies = append(d.Currencies, k.Currency)
	}
	for _, a := range aging.Currencies {
		if !slices.Contains(d.Currencies, a.Currency) {
			d.Currencies = append(d.Currencies, a.Currency)
		}
	}
	slices.Sort(d.Currencies)
	shown := func(c string) bool { return d.Currency == "" || d.Currency == c }
	team, err := rep.Collectors(ctx, rq.period, rq.withinDays)
	if err != nil {
		return err
	}
	for _, c := range team.Collectors {
		pc := pageCollector{Name: c.Collector, Customers: f.Count(c.Customers), TasksDone: f.Count(c.TasksDone),
			TasksDoneRaw: c.TasksDone, Conversations: f.Count(c.Conversations), Promises: f.Count(c.PromisesObtained),
			Kept: f.Count(c.PromisesKept), Broken: f.Count(c.PromisesBroken), KeptRate: f.Percent(c.PromiseKeptRate),
			KeptRateRaw: reports.FloatText(c.PromiseKeptRate)}
		for _, m := range c.Collected {
			if shown(m.Currency) {
				pc.Collected = append(pc.Collected, pageCell{Currency: m.Currency, Value: f.Money(m.Amount), Raw: m.Amount.String()})
			}
		}
		d.Collectors = append(d.Collectors, pc)
	}

	var cols []reports.KPI
	for _, k := range kpis.Currencies {
		if shown(k.Currency) {
			cols = append(cols, k)
			d.KPICurrencies = append(d.KPICurrencies, k.Currency)
		}
	}
	for _, m := range reports.Measures {
		row := pageRow{Key: m.Name, Label: m.Label}
		for _, k := range cols {
			row.Cells = append(row.Cells, pageCell{Currency: k.Currency, Value: m.Human(f, k), Raw: m.Value(k)})
		}
		d.KPIRows = append(d.KPIRows, row)
	}
	for _, a := range aging.Currencies {
		if shown(a.Currency) {
			d.Aging = append(d.Aging, agingChart(f, a))
		}
	}
	d.StepsWidth = stepsLabelWidth + stepsBarMax + 140
	for i, st := range steps.Steps {
		y := 8 + i*stepsRowHeight
		ps := pageStep{
			Label: st.Policy + " · " + st.Step + " · " + st.Channel + " · " + cmp.Or(st.Segment, "no segment"),
			Rate:  f.Percent(st.PaidWithinRate), RateRaw: reports.FloatText(st.PaidWithinRate),
			Days: f.Number(st.AverageDaysToPay, 2),
			Sent: st.Sent, PaidWithin: st.PaidWithin, Y: y, TextY: y + 15, BarX: stepsLabelWidth,
		}
		if st.PaidWithinRate != nil {
			ps.W = int(*st.PaidWithinRate * stepsBarMax)
		}
		ps.RateX = ps.BarX + ps.W + 6
		d.Steps = append(d.Steps, ps)
	}
	d.StepsHeight = 16 + len(d.Steps)*stepsRowHeight
	d.TrendFrom, d.TrendTo = f.DateText(trend.From), f.DateText(trend.To)
	for _, t := range trend.Currencies {
		if shown(t.Currency) {
			d.Trend = append(d.Trend, trendChart(f, t))
		}
	}
	d.ForecastFrom, d.ForecastTo = f.DateText(forecast.From), f.DateText(forecast.To)
	for _, fc := range forecast.Currencies {
		if shown(fc.Currency) {
			d.Forecast = append(d.Forecast, forecastChart(f, fc))
		}
	}
	return nil
}

// bucketLabels are the aging buckets as the chart labels them.
var bucketLabels = map[string]string{"current": "current", "1_30": "1–30", "31_60": "31–60", "61_90": "61–90", "90_plus": "90+"}

// agingChart lays out one currency's bars, scaled to its largest bucket.
func agingChart(f reports.Format, a reports.Aging) pageAging {
	c := pageAging{Currency: a.Currency, Total: f.Money(a.Total), TotalRaw: a.Total.String(), Invoices: a.Invoices,
		Width: agingWidth, Height: agingHeight,
		BaseY: agingHeight - agingBottom}
	var top int64
	for _, b := range a.Buckets {
		top = max(top, b.Amount.Minor)
	}
	plot := agingHeight - agingTop - agingBottom
	for i, b := range a.Buckets {
		h := 0
		if top > 0 {
			h = int(float64(b.Amount.Minor) / float64(top) * float64(plot))
		}
		if b.Amount.Minor > 0 && h < 2 {
			h = 2 // a non-zero bucket stays visible
		}
		x := agingGap + i*(agingBarWidth+agingGap)
		c.Bars = append(c.Bars, pageBar{Bucket: bucketLabels[b.Bucket], Amount: f.Money(b.Amount), Raw: b.Amount.String(),
			Invoices: b.Invoices, X: x, W: agingBarWidth, H: h, Y: c.BaseY - h, TextX: x + agingBarWidth/2,
			LabelY: c.BaseY + 16, AmountY: c.BaseY - h - 6})
	}
	return c
}
