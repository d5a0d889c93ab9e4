package api

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/dunwell/dunwell/reports"
)

// The trend and forecast charts of /reports: inline SVG laid out here, each with a
// table of the same figures beside it (the accessible fallback, and what a screen
// reader reads).

// Chart geometry, in SVG user units.
const (
	chartWidth, chartHeight = 680, 250
	chartLeft, chartRight   = 56, 56 // room for the axis labels
	chartTop, chartBottom   = 24, 44 // room for the legend above and the labels below
)

// pageText is a label placed on a chart.
type pageText struct {
	X, Y   int
	Anchor string
	Text   string
}

// pageRect is a bar (or part of one) with its tooltip.
type pageRect struct {
	X, Y, W, H int
	Fill       string
	Title      string
}

// pageDot is a point of a line with its tooltip.
type pageDot struct {
	X, Y  int
	Title string
}

// pageTrendRow is one month of the trend's table.
type pageTrendRow struct {
	Key, Month                  string
	DSO, DSORaw, Rate, RateRaw  string
	Receivables, ReceivablesRaw string
	Issued, Due, Collected      string
	Partial                     bool
}

type pageTrend struct {
	Currency             string
	Width, Height, BaseY int
	PlotLeft, PlotRight  int
	Bars                 []pageRect
	Lines                []string // polyline points, one per run of months with a DSO
	Dots                 []pageDot
	Labels               []pageText
	Rows                 []pageTrendRow
	Summary              string
}

// trendChart draws one currency's months: the collection rate as bars on a 0–100%
// scale (right axis), DSO as a line on a scale of days from 0 (left axis).
func trendChart(f reports.Format, t reports.Trend) pageTrend {
	c := pageTrend{Currency: t.Currency, Width: chartWidth, Height: chartHeight, BaseY: chartHeight - chartBottom,
		PlotLeft: chartLeft, PlotRight: chartWidth - chartRight}
	plotH := float64(c.BaseY - chartTop)
	slot := float64(c.PlotRight-c.PlotLeft) / float64(len(t.Months))
	top := 0.0
	for _, m := range t.Months {
		if m.DSO != nil {
			top = math.Max(top, *m.DSO)
		}
	}
	top = niceCeil(top)
	var run []string
	flush := func() {
		if len(run) > 0 {
			c.Lines = append(c.Lines, strings.Join(run, " "))
			run = nil
		}
	}
	for i, m := range t.Months {
		month, _ := time.Parse("2006-01", m.Month)
		x := float64(c.PlotLeft) + slot*(float64(i)+0.5)
		name := f.Month(month)
		if m.Partial {
			name += " (" + f.DateText(m.From) + " – " + f.DateText(m.To) + ")"
		}
		row := pageTrendRow{Key: t.Currency + "/" + m.Month, Month: name, Partial: m.Partial,
			DSO: f.Number(m.DSO, 2), DSORaw: reports.FloatText(m.DSO),
			Rate: f.Percent(m.CollectionRate), RateRaw: reports.FloatText(m.CollectionRate),
			Receivables: f.Money(m.ClosingReceivables), ReceivablesRaw: m.ClosingReceivables.String(),
			Issued: f.Money(m.AmountIssued), Due: f.Money(m.AmountDue), Collected: f.Money(m.CollectedOnDue)}
		c.Rows = append(c.Rows, row)
		if m.CollectionRate != nil {
			h := int(math.Min(1, math.Max(0, *m.CollectionRate)) * plotH)
			w := int(slot * 0.6)
			c.Bars = append(c.Bars, pageRect{X: int(x) - w/2, Y: c.BaseY - h, W: w, H: h, Fill: "#9cc3f0",
				Title: fmt.Sprintf("%s: collection rate %s (%s of %s due)", name, row.Rate, row.Collected, row.Due)})
		}
		if m.DSO != nil {
			y := c.BaseY
			if top > 0 {
				y = c.BaseY - int(*m.DSO/top*plotH)
			}
			run = append(run, fmt.Sprintf("%d,%d", int(x), y))
			c.Dots = append(c.Dots, pageDot{X: int(x), Y: y, Title: fmt.Sprintf("%s: DSO %s days", name, row.DSO)})
		} else {
			flush()
		}
		label := f.MonthShort(month)
		c.Labels = append(c.Labels, pageText{X: int(x), Y: c.BaseY + 16, Anchor: "middle", Text: label})
		if i == 0 || month.Month() == time.January {
			c.Labels = append(c.Labels, pageText{X: int(x), Y: c.BaseY + 32, Anchor: "middle", Text: month.Format("2006")})
		}
	}
	flush()
	zero, hundred := 0.0, 1.0
	c.Labels = append(c.Labels,
		pageText{X: c.PlotLeft - 6, Y: c.BaseY + 4, Anchor: "end", Text: f.Number(&zero, 0)},
		pageText{X: c.PlotLeft - 6, Y: chartTop + 4, Anchor: "end", Text: f.Number(&top, 0) + " d"},
		pageText{X: c.PlotRight + 6, Y: c.BaseY + 4, Anchor: "start", Text: f.Percent(&zero)},
		pageText{X: c.PlotRight + 6, Y: chartTop + 4, Anchor: "start", Text: f.Percent(&hundred)},
	)
	c.Summary = fmt.Sprintf("%s: DSO (line, days, left scale) and collection rate (bars, right scale) by month", t.Currency)
	return c
}

// niceCeil rounds a positive scale maximum up to 1, 2 or 5 times a power of ten (10
// when there is nothing to show).
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 10
	}
	p := math.Pow10(int(math.Floor(math.Log10(v))))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// pageForecastRow is one week of the forecast's table.
type pageForecastRow struct {
	Key, Week, Dates            string
	Promises, Plans, Due, Total string
	TotalRaw                    string
}

type pageForecast struct {
	Currency             string
	Width, Height, BaseY int
	Bars                 []pageRect
	Labels               []pageText
	Rows                 []pageForecastRow
	InWeeks, InWeeksRaw  string
	AfterWeeks           string
	PastExpected         string
	PromiseDiscount      string
	Held, Open           string
}

// The forecast's colours, by source.
const (
	colourPromise = "#2f9e6e"
	colourPlan    = "#e0a526"
	colourDue     = "#2456c9"
)

// forecastChart stacks each week's promises, plan installments and expected
// payments, scaled to the largest week.
func forecastChart(f reports.Format, fc reports.Forecast) pageForecast {
	c := pageForecast{Currency: fc.Currency, Width: chartWidth, Height: chartHeight, BaseY: chartHeight - chartBottom,
		InWeeks: f.Money(fc.InWeeks), InWeeksRaw: fc.InWeeks.String(), AfterWeeks: f.Money(fc.AfterWeeks),
		PastExpected: f.Money(fc.PastExpected), PromiseDiscount: f.Money(fc.PromiseDiscount),
		Held: f.Money(fc.Held), Open: f.Money(fc.Open)}
	plotH := float64(c.BaseY - chartTop)
	slot := float64(chartWidth-chartLeft-chartRight) / float64(max(1, len(fc.Weeks)))
	var top int64
	for _, w := range fc.Weeks {
		top = max(top, w.Total.Minor)
	}
	for i, w := range fc.Weeks {
		x := float64(chartLeft) + slot*float64(i) + slot*0.2
		width := int(slot * 0.6)
		dates := f.DateText(w.From) + " – " + f.DateText(w.To)
		c.Rows = append(c.Rows, pageForecastRow{Key: fmt.Sprintf("%s/%d", fc.Currency, w.Week), Week: f.Count(int64(w.Week)),
			Dates: dates, Promises: f.Money(w.Promises), Plans: f.Money(w.Plans), Due: f.Money(w.Due),
			Total: f.Money(w.Total), TotalRaw: w.Total.String()})
		y := c.BaseY
		for _, part := range []struct {
			m            reports.Money
			fill, source string
		}{{w.Due, colourDue, "expected by due date"}, {w.Plans, colourPlan, "plan installments"}, {w.Promises, colourPromise, "promises"}} {
			if part.m.Minor <= 0 || top == 0 {
				continue
			}
			h := max(1, int(float64(part.m.Minor)/float64(top)*plotH))
			y -= h
			c.Bars = append(c.Bars, pageRect{X: int(x), Y: y, W: width, H: h, Fill: part.fill,
				Title: fmt.Sprintf("week %d (%s): %s %s", w.Week, dates, part.source, f.Money(part.m))})
		}
		c.Labels = append(c.Labels, pageText{X: int(x) + width/2, Y: c.BaseY + 16, Anchor: "middle", Text: f.Count(int64(w.Week))})
	}
	if top > 0 {
		c.Labels = append(c.Labels, pageText{X: chartLeft, Y: chartTop - 10, Anchor: "start",
			Text: "↑ " + f.Money(reports.Money{Minor: top, Currency: fc.Currency})})
	}
	return c
}
