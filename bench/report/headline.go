package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/xenolith/xenolith/bench"
	"github.com/xenolith/xenolith/bench/record"
)

// HeadlineRow is one line of a report's headline table: a figure a person
// reads first, with its ratio to the floor where it has one.
type HeadlineRow struct {
	Suite  string
	Metric string
	P50    string // median with its 95% interval
	P99    string
	Ratio  string // "1.23x [1.20, 1.30]", or "" without a floor
}

// headlinePrefixes are the figures of suites without floors that still
// make the headline (density).
var headlinePrefixes = []string{"VMs at SLO", "process RSS per VM", "kernel memory per VM", "VM creation to main"}

// Headline picks the headline figures of results: every metric compared
// with a floor, and each density search's VMs at SLO, memory per VM and
// creation latency.
func Headline(results []*bench.Result) []HeadlineRow {
	var out []HeadlineRow
	for _, res := range results {
		if res == nil {
			continue
		}
		for _, m := range res.Metrics {
			if strings.HasSuffix(m.Name, " / floor") {
				continue
			}
			pick := m.Floor != ""
			for _, p := range headlinePrefixes {
				if strings.HasPrefix(m.Name, p) {
					pick = true
				}
			}
			if !pick {
				continue
			}
			f := func(v float64) string { return record.FormatValue(m.Unit, v) }
			s := m.Summary
			row := HeadlineRow{Suite: res.Suite, Metric: m.Name, P50: fmt.Sprintf("%s [%s, %s]", f(s.P50), f(s.P50Lo), f(s.P50Hi)), P99: f(s.P99)}
			if m.Floor != "" && m.Ratio > 0 {
				row.Ratio = fmt.Sprintf("%.2fx [%.2f, %.2f]", m.Ratio, m.RatioLo, m.RatioHi)
			}
			out = append(out, row)
		}
	}
	return out
}

// WriteHeadline prints the headline table as aligned text.
func WriteHeadline(w io.Writer, rows []HeadlineRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "suite\tmetric\tp50 [95%% CI]\tp99\tratio to floor [95%% CI]\n")
	for _, r := range rows {
		ratio := r.Ratio
		if ratio == "" {
			ratio = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Suite, r.Metric, r.P50, r.P99, ratio)
	}
	return tw.Flush()
}
