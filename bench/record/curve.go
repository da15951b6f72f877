package record

import (
	"errors"
	"fmt"

	"github.com/xenolith/xenolith/bench"
)

// Curve kinds: how a report draws a curve.
const (
	// KindLine draws each series as a line through its points, in x order.
	KindLine = "line"
	// KindCDF draws each series' empirical distribution: the x values of
	// its points are the samples (y is ignored) and the report plots the
	// fraction of samples <= x.
	KindCDF = "cdf"
	// KindStacked draws one bar per distinct x, each series a segment
	// stacked on the previous ones (a memory breakdown); an x missing from
	// a series counts as zero there, a negative segment is drawn as zero.
	KindStacked = "stacked"
	// KindHeatmap draws a heat map: each series is a row (labelled on the
	// y axis, first at the top), each point (x, value) a cell at column x;
	// a missing cell is left blank.
	KindHeatmap = "heatmap"
)

// Curve is a set of series over a common x axis, for reports: the SLO
// metric against VMs running, creation latency against VMs running, memory
// per VM by component, a boot-time CDF.
type Curve struct {
	Name   string   `json:"name"`            // title, unique within a record
	Suite  string   `json:"suite,omitempty"` // suite that measured it
	Kind   string   `json:"kind,omitempty"`  // KindLine (default), KindCDF or KindStacked
	XLabel string   `json:"x_label"`         // x axis title with its unit
	YLabel string   `json:"y_label"`         // y axis title with its unit
	Series []Series `json:"series"`
	// HLines are horizontal reference lines: an SLO, a floor.
	HLines []HLine `json:"hlines,omitempty"`
	// VLines are vertical reference lines: where a ramp stopped (not
	// drawn on stacked bars, whose x axis is categorical).
	VLines []VLine `json:"vlines,omitempty"`
	// LogY draws the y axis of a line curve on a log scale (when every y
	// and HLine is > 0); other kinds ignore it.
	LogY bool `json:"log_y,omitempty"`
}

// Series is one labelled sequence of (x, y) points.
type Series struct {
	Label  string       `json:"label"`
	Points [][2]float64 `json:"points"`
}

// HLine is a labelled horizontal line at Y.
type HLine struct {
	Label string  `json:"label"`
	Y     float64 `json:"y"`
}

// VLine is a labelled vertical line at X.
type VLine struct {
	Label string  `json:"label"`
	X     float64 `json:"x"`
}

// EffectiveKind returns the curve's kind, KindLine when unset.
func (c *Curve) EffectiveKind() string {
	if c.Kind == "" {
		return KindLine
	}
	return c.Kind
}

// Validate checks what a reader relies on: a name, a known kind and
// finite coordinates. What only affects drawing (a y <= 0 on a log axis,
// a negative stacked segment, no points) is the report's to handle.
func (c *Curve) Validate() error {
	if c.Name == "" {
		return errors.New("no name")
	}
	switch c.EffectiveKind() {
	case KindLine, KindCDF, KindStacked, KindHeatmap:
	default:
		return fmt.Errorf("%q: unknown kind %q (want line, cdf, stacked or heatmap)", c.Name, c.Kind)
	}
	for _, s := range c.Series {
		for i, p := range s.Points {
			if !finite(p[0]) || !finite(p[1]) {
				return fmt.Errorf("%q: series %q: point %d is not finite", c.Name, s.Label, i)
			}
		}
	}
	for _, h := range c.HLines {
		if !finite(h.Y) {
			return fmt.Errorf("%q: line %q is not finite", c.Name, h.Label)
		}
	}
	for _, v := range c.VLines {
		if !finite(v.X) {
			return fmt.Errorf("%q: line %q is not finite", c.Name, v.Label)
		}
	}
	return nil
}

// FromBench converts a suite's curve: its vertical lines carry their x
// position in HLine.Y.
func FromBench(suite string, c bench.Curve) Curve {
	out := Curve{Name: c.Name, Suite: suite, Kind: c.Kind, XLabel: c.XLabel, YLabel: c.YLabel}
	for _, s := range c.Series {
		out.Series = append(out.Series, Series{Label: s.Label, Points: s.Points})
	}
	for _, h := range c.HLines {
		out.HLines = append(out.HLines, HLine{Label: h.Label, Y: h.Y})
	}
	for _, v := range c.VLines {
		out.VLines = append(out.VLines, VLine{Label: v.Label, X: v.Y})
	}
	return out
}

// AllCurves returns the curves of every result, in order, then the
// record's own.
func (r *Record) AllCurves() []Curve {
	var out []Curve
	for _, res := range r.Results {
		if res == nil {
			continue
		}
		for _, c := range res.Curves {
			out = append(out, FromBench(res.Suite, c))
		}
	}
	return append(out, r.Curves...)
}
