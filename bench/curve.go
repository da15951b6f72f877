package bench

import "github.com/xenolith/xenolith/bench/stats"

// Curve is a chart's worth of data a suite produces, e.g. the SLO metric
// against VMs running. Reports draw it; records keep it.
type Curve struct {
	Name   string   `json:"name"`
	Kind   string   `json:"kind"` // "line", "cdf" or "stacked"
	XLabel string   `json:"x_label"`
	YLabel string   `json:"y_label"`
	Series []Series `json:"series"`
	HLines []HLine  `json:"hlines,omitempty"` // e.g. the SLO limit
	VLines []HLine  `json:"vlines,omitempty"` // e.g. the stop point (Y holds the x value)
}

// Series is one labelled set of (x, y) points.
type Series struct {
	Label  string       `json:"label"`
	Points [][2]float64 `json:"points"`
}

// HLine is a labelled reference line at Y.
type HLine struct {
	Label string  `json:"label"`
	Y     float64 `json:"y"`
}

// batchMedians groups xs in consecutive batches of k and returns each
// batch's median: the run-level values of metrics sampled one event at a
// time (boots), so that comparisons between records test batches rather
// than single, drift-correlated events.
func batchMedians(xs []float64, k int) []float64 {
	var out []float64
	for i := 0; i+k <= len(xs); i += k {
		out = append(out, stats.Median(xs[i:i+k]))
	}
	if len(out) == 0 && len(xs) > 0 {
		out = append(out, stats.Median(xs))
	}
	return out
}

// batchSize picks a batch of at least 2 samples giving about 10 batches.
func batchSize(n int) int { return max(2, n/10) }

// ratioMetric is the per-run ratio of a metric to its floor as a metric of
// its own (unit "ratio"): ratios travel between hosts and drift far less
// between runs than absolute times, so comparisons test them.
func ratioMetric(name string, num, den []float64) Metric {
	var rs []float64
	for i := 0; i < len(num) && i < len(den); i++ {
		if den[i] != 0 {
			rs = append(rs, num[i]/den[i])
		}
	}
	return Metric{Name: name + " / floor", Unit: "ratio", Summary: stats.Summarize(rs), Runs: rs}
}
