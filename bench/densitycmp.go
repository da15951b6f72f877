package bench

import (
	"fmt"
	"strings"

	"github.com/xenolith/xenolith/bench/stats"
)

// CompareDensity sets, on each metric of a process-per-VM search (perProc)
// that the in-process search (shared) also measured, the in-process figure
// as its floor and the ratio of the two medians, so that tables and the
// report's overhead chart show what a process per VM costs against one
// shared runtime. It also adds a note per compared pair.
func CompareDensity(shared, perProc *Result) {
	if shared == nil || perProc == nil {
		return
	}
	byName := map[string]Metric{}
	for _, m := range shared.Metrics {
		byName[m.Name] = m
	}
	for i := range perProc.Metrics {
		m := &perProc.Metrics[i]
		base, ok := byName[m.Name]
		if !ok || m.Floor != "" || !comparable(m.Unit) || !(base.Summary.P50 > 0) {
			continue
		}
		m.Floor = "in-process: " + base.Name
		if len(m.Runs) > 0 && len(base.Runs) > 0 {
			m.Ratio, m.RatioLo, m.RatioHi = stats.PairedRatio(padRuns(m.Runs, len(base.Runs)), padRuns(base.Runs, len(m.Runs)))
		}
		if !(m.Ratio > 0) {
			m.Ratio = m.Summary.P50 / base.Summary.P50
			m.RatioLo, m.RatioHi = m.Ratio, m.Ratio
		}
		perProc.Notes = append(perProc.Notes, fmt.Sprintf("%s: one process per VM %.3gx the shared runtime", m.Name, m.Ratio))
	}
}

// comparable says whether a metric's unit is a cost worth a ratio.
func comparable(unit string) bool {
	switch unit {
	case "bytes", "ns", "count", "cores":
		return true
	}
	return false
}

// padRuns repeats xs cyclically to n values when it is shorter, so that
// single-valued figures pair with every run of the other side.
func padRuns(xs []float64, n int) []float64 {
	if len(xs) >= n || len(xs) == 0 {
		return xs
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = xs[i%len(xs)]
	}
	return out
}

// LargestFleet returns the most VMs a density result measured at once (at
// least 1).
func LargestFleet(r *Result) int {
	n := 1
	for _, c := range r.Curves {
		for _, s := range c.Series {
			if !strings.HasPrefix(c.Name, "density:") {
				continue
			}
			for _, p := range s.Points {
				n = max(n, int(p[0]))
			}
		}
	}
	return n
}
