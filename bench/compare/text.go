package compare

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/xenolith/xenolith/bench/record"
)

// WriteText prints the report for people: one table per suite (A and B
// medians with their intervals and run counts, the change with its
// interval, the corrected p-value and the verdict), the notes, a summary
// line, and one "regression: ..." line per regressed metric.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	suite := ""
	var tw *tabwriter.Writer
	flush := func() {
		if tw != nil {
			tw.Flush()
		}
	}
	for i := range r.Rows {
		row := &r.Rows[i]
		if row.Suite != suite || tw == nil {
			flush()
			if suite != "" {
				fmt.Fprintln(bw)
			}
			suite = row.Suite
			tw = tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "%s\tA: p50 [95%% CI]\tB: p50 [95%% CI]\tchange [95%% CI]\tp\tverdict\n", suite)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", row.Metric, sideText(row.Unit, row.A), sideText(row.Unit, row.B),
			changeText(row), pText(row.PAdj), row.Verdict)
	}
	flush()
	fmt.Fprintln(bw)
	for _, k := range r.OnlyA {
		fmt.Fprintf(bw, "only in A (not compared): %s\n", k)
	}
	for _, k := range r.OnlyB {
		fmt.Fprintf(bw, "only in B (not compared): %s\n", k)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(bw, "note: %s\n", n)
	}
	counts := map[Verdict]int{}
	for _, row := range r.Rows {
		counts[row.Verdict]++
	}
	tested := fmt.Sprintf("%d metrics", len(r.Rows))
	if u := counts[Untested]; u > 0 {
		tested = fmt.Sprintf("%d of %d metrics", len(r.Rows)-u, len(r.Rows))
	}
	fmt.Fprintf(bw, "%s tested on run values (Mann-Whitney U, Holm-corrected, alpha %g, threshold %g%%): %s, %s, %s\n",
		tested, r.Options.Alpha, r.Options.Threshold*100,
		plural(counts[Regression], "regression"), plural(counts[Improvement], "improvement"), plural(counts[Changed], "change of unknown direction"))
	for _, row := range r.Regressions() {
		p := "= " + pText(row.PAdj)
		if row.PAdj < 0.001 {
			p = "< 0.001"
		}
		fmt.Fprintf(bw, "regression: %s: %s (corrected p %s)\n", row.Name(), changeText(&row), p)
	}
	return bw.Flush()
}

func sideText(unit string, s Side) string {
	u := strings.SplitN(unit, "|", 2)[0]
	if s.Lo == s.Hi && s.N <= 1 {
		return fmt.Sprintf("%s n=%d", record.FormatValue(u, s.Median), s.N)
	}
	return fmt.Sprintf("%s [%s, %s] n=%d", record.FormatValue(u, s.Median), record.FormatValue(u, s.Lo), record.FormatValue(u, s.Hi), s.N)
}

func changeText(row *Row) string {
	c := pct(row.Change)
	if math.IsNaN(row.ChangeLo) || math.IsNaN(row.ChangeHi) {
		return c
	}
	return fmt.Sprintf("%s [%s, %s]", c, pct(row.ChangeLo), pct(row.ChangeHi))
}

func pct(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+inf"
	case math.IsInf(v, -1):
		return "-inf"
	case math.IsNaN(v):
		return "?"
	}
	return fmt.Sprintf("%+.1f%%", v*100)
}

func pText(p float64) string {
	if math.IsNaN(p) {
		return "-"
	}
	if p < 0.001 {
		return "<0.001"
	}
	return fmt.Sprintf("%.3f", p)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	if strings.HasPrefix(what, "change ") {
		return fmt.Sprintf("%d changes%s", n, strings.TrimPrefix(what, "change"))
	}
	return fmt.Sprintf("%d %ss", n, what)
}
