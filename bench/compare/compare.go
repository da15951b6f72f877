// Package compare decides whether one benchmark record regressed against
// another. For every metric both records hold (matched by suite and
// name), it compares the run-level values (one value per run, e.g. a run's
// median round trip) of A and B: medians with 95% bootstrap intervals, the
// relative change of medians with its bootstrap interval, and a two-sided
// Mann-Whitney U test whose p-values are Holm-Bonferroni corrected across
// all compared metrics. A change is a regression only when it is both
// significant (corrected p < alpha) and practically relevant (the change of
// medians exceeds a threshold, 5% by default, in the metric's bad
// direction).
//
// Run-level values, not raw samples, are tested: samples within one run
// share that run's conditions (placement, host noise), so they are not
// independent and would make any difference between two runs look
// significant.
package compare

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/xenolith/xenolith/bench"
	"github.com/xenolith/xenolith/bench/record"
	"github.com/xenolith/xenolith/bench/stats"
)

// Options tune a comparison.
type Options struct {
	// Threshold is the relative change of medians below which a
	// significant change is not reported as a regression or improvement
	// (0.05 = 5%). It is used as given: 0 counts every significant change.
	Threshold float64 `json:"threshold"`
	// Alpha is the family-wise significance level (0 means 0.05).
	Alpha float64 `json:"alpha"`
	// MinRuns is the fewest run values per side a compared metric may have
	// (0 means 3).
	MinRuns int `json:"min_runs"`
	// IgnoreConfig lists top-level configuration keys that are not
	// compared (nil means DefaultIgnoreConfig).
	IgnoreConfig []string `json:"ignore_config"`
	// Resamples is the bootstrap resample count of the intervals (0 means
	// 1000). The test does not depend on it.
	Resamples int `json:"resamples"`
}

// DefaultIgnoreConfig are configuration keys that do not change what one
// run measures: where progress lines went, and how many runs or boots
// there were (which only changes how many run values the test gets).
var DefaultIgnoreConfig = []string{"Progress", "Runs", "Boots", "ProcBoots"}

// DefaultOptions returns a 5% threshold, alpha 0.05, at least 3 runs per
// side, DefaultIgnoreConfig and 1000 bootstrap resamples.
func DefaultOptions() Options {
	return Options{Threshold: 0.05, Alpha: 0.05, MinRuns: 3, IgnoreConfig: DefaultIgnoreConfig, Resamples: 1000}
}

func (o Options) withDefaults() Options {
	if o.Alpha == 0 {
		o.Alpha = 0.05
	}
	if o.MinRuns == 0 {
		o.MinRuns = 3
	}
	if o.IgnoreConfig == nil {
		o.IgnoreConfig = DefaultIgnoreConfig
	}
	if o.Resamples <= 0 {
		o.Resamples = 1000
	}
	return o
}

// Verdict classifies one metric's change.
type Verdict string

// Verdicts, from the corrected p-value, the change of medians, the
// threshold and the metric's direction.
const (
	Regression  Verdict = "regression"      // significant, beyond the threshold, worse
	Improvement Verdict = "improvement"     // significant, beyond the threshold, better
	Changed     Verdict = "changed"         // significant, beyond the threshold, unknown direction
	Small       Verdict = "below threshold" // significant but within the threshold
	NoChange    Verdict = "~"               // not significant
	Untested    Verdict = "untested"        // one value per record: shown, not tested
)

// Side summarises one record's run values of a metric.
type Side struct {
	N      int     `json:"n"`      // run values
	Median float64 `json:"median"` // median of the run values
	Lo     float64 `json:"lo"`     // 95% bootstrap interval of the median
	Hi     float64 `json:"hi"`
}

// Row is one metric's comparison.
type Row struct {
	Suite     string    `json:"suite"`
	Metric    string    `json:"metric"`
	Unit      string    `json:"unit"`
	Direction Direction `json:"direction"`
	A         Side      `json:"a"`
	B         Side      `json:"b"`
	// Change is B's median relative to A's minus one (+0.10 = 10% higher);
	// 0 when both are 0, ±Inf when only A's is (null in JSON).
	Change float64 `json:"change"`
	// ChangeLo and ChangeHi bound Change with 95% (bootstrap over runs);
	// NaN when A's median is 0 (null in JSON).
	ChangeLo float64 `json:"change_lo"`
	ChangeHi float64 `json:"change_hi"`
	MWU              // the test on run values
	PAdj     float64 `json:"p_holm"` // Holm-corrected p-value
	MinP     float64 `json:"min_p"`  // smallest p-value these run counts allow
	Verdict  Verdict `json:"verdict"`
}

// Name returns "suite: metric".
func (r *Row) Name() string { return r.Suite + ": " + r.Metric }

// Report is the outcome of a comparison.
type Report struct {
	Rows    []Row    `json:"rows"`    // metrics in both records, in A's order
	OnlyA   []string `json:"only_a"`  // "suite: metric" found only in A
	OnlyB   []string `json:"only_b"`  // ... only in B
	Notes   []string `json:"notes"`   // caveats: underpowered metrics, different hosts
	Options Options  `json:"options"` // the options used, defaults filled in
}

// Regressions returns the rows whose verdict is Regression.
func (r *Report) Regressions() []Row {
	var out []Row
	for _, row := range r.Rows {
		if row.Verdict == Regression {
			out = append(out, row)
		}
	}
	return out
}

// Compare compares record b (new) against a (old). A metric with at most
// one run value in each record (a figure measured once per invocation) is
// shown but not tested. Compare fails with an ErrUnusable error when the
// records hold no metric in common, when a compared suite ran with a
// different configuration, when any other metric has fewer than MinRuns
// run values on a side, when no metric is left to test, or when no metric
// could be significant with the run counts given.
func Compare(a, b *record.Record, opts Options) (*Report, error) {
	opts = opts.withDefaults()
	if opts.Alpha <= 0 || opts.Alpha >= 1 || opts.Threshold < 0 || math.IsNaN(opts.Threshold) {
		return nil, fmt.Errorf("compare: alpha must be in (0, 1) and threshold >= 0")
	}
	ia, err := index(a, "A")
	if err != nil {
		return nil, err
	}
	ib, err := index(b, "B")
	if err != nil {
		return nil, err
	}
	rep := &Report{Options: opts}
	type pair struct{ ma, mb *bench.Metric }
	var pairs []pair
	var suites []string
	for _, k := range ia.order {
		mb, ok := ib.metrics[k]
		if !ok {
			rep.OnlyA = append(rep.OnlyA, k.String())
			continue
		}
		pairs = append(pairs, pair{ia.metrics[k], mb})
		rep.Rows = append(rep.Rows, Row{Suite: k.suite, Metric: k.name})
		if !slices.Contains(suites, k.suite) {
			suites = append(suites, k.suite)
		}
	}
	for _, k := range ib.order {
		if _, ok := ia.metrics[k]; !ok {
			rep.OnlyB = append(rep.OnlyB, k.String())
		}
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("%w (A: %s; B: %s)", ErrNoCommonMetrics, suiteList(a), suiteList(b))
	}
	for _, s := range suites {
		if diffs := configDiff(ia.results[s].Config, ib.results[s].Config, opts.IgnoreConfig); len(diffs) > 0 {
			return nil, &ConfigError{Suite: s, Diffs: diffs}
		}
	}
	var few, single []string
	var tested []int
	for i, p := range pairs {
		row := &rep.Rows[i]
		na, nb := len(p.ma.Runs), len(p.mb.Runs)
		switch {
		case na <= 1 && nb <= 1:
			// A figure measured once per invocation: shown, not tested.
			untested(row, p.ma, p.mb)
			single = append(single, row.Name())
		case na < opts.MinRuns || nb < opts.MinRuns:
			few = append(few, fmt.Sprintf("%s (A %d, B %d)", row.Name(), na, nb))
		default:
			fill(row, p.ma, p.mb, opts.Resamples)
			tested = append(tested, i)
		}
	}
	if len(few) > 0 {
		return nil, &TooFewRunsError{Min: opts.MinRuns, Metrics: few}
	}
	if len(tested) == 0 {
		return nil, &TooFewRunsError{Min: opts.MinRuns, Metrics: single, Single: true}
	}
	ps := make([]float64, len(tested))
	for j, i := range tested {
		ps[j] = rep.Rows[i].P
	}
	for j, adj := range Holm(ps) {
		row := &rep.Rows[tested[j]]
		row.PAdj = adj
		row.Verdict = verdict(row, opts)
	}
	if err := checkPower(rep, tested); err != nil {
		return nil, err
	}
	if len(single) > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("not tested, one value per record: %s", strings.Join(single, "; ")))
	}
	rep.Notes = append(rep.Notes, hostNotes(a.Host, b.Host)...)
	return rep, nil
}

// untested fills a row of single values without a test.
func untested(row *Row, ma, mb *bench.Metric) {
	row.Unit, row.Direction = unitOf(ma, mb)
	one := func(m *bench.Metric) Side {
		v := m.Summary.P50
		if len(m.Runs) == 1 {
			v = m.Runs[0]
		}
		return Side{N: len(m.Runs), Median: v, Lo: v, Hi: v}
	}
	row.A, row.B = one(ma), one(mb)
	row.Change = change(row.A.Median, row.B.Median)
	row.ChangeLo, row.ChangeHi = math.NaN(), math.NaN()
	row.P, row.PAdj, row.MinP = math.NaN(), math.NaN(), math.NaN()
	row.Verdict = Untested
}

// unitOf returns the pair's unit ("a|b" when they differ) and direction.
func unitOf(ma, mb *bench.Metric) (string, Direction) {
	if mb.Unit != ma.Unit {
		return ma.Unit + "|" + mb.Unit, UnknownDirection
	}
	return ma.Unit, DirectionOf(ma.Unit)
}

// change is b relative to a minus one, 0 when equal, ±Inf when a is 0.
func change(a, b float64) float64 {
	switch {
	case a == b:
		return 0
	case a == 0:
		return math.Inf(int(math.Copysign(1, b)))
	}
	return b/a - 1
}

// fill computes a row's summaries, change and test from the run values.
func fill(row *Row, ma, mb *bench.Metric, resamples int) {
	row.Unit, row.Direction = unitOf(ma, mb)
	row.A = side(ma.Runs, resamples)
	row.B = side(mb.Runs, resamples)
	row.Change = change(row.A.Median, row.B.Median)
	row.ChangeLo, row.ChangeHi = math.NaN(), math.NaN()
	if row.A.Median != 0 {
		_, lo, hi := stats.RatioCI(mb.Runs, ma.Runs, resamples)
		row.ChangeLo, row.ChangeHi = lo-1, hi-1
	}
	row.MWU = MannWhitney(ma.Runs, mb.Runs)
	row.MinP = MinP(len(ma.Runs), len(mb.Runs))
}

func side(runs []float64, resamples int) Side {
	lo, hi := stats.BootstrapMedianCI(runs, 0.95, resamples)
	return Side{N: len(runs), Median: stats.Median(runs), Lo: lo, Hi: hi}
}

// verdict classifies a row whose PAdj is set.
func verdict(row *Row, o Options) Verdict {
	if !(row.PAdj < o.Alpha) {
		return NoChange
	}
	if math.Abs(row.Change) <= o.Threshold {
		return Small
	}
	worse := row.Change > 0
	switch row.Direction {
	case HigherIsBetter:
		worse = !worse
	case UnknownDirection:
		return Changed
	}
	if worse {
		return Regression
	}
	return Improvement
}

// checkPower notes tested metrics whose run counts cannot reach
// significance on their own after correction, and fails when none can.
func checkPower(rep *Report, tested []int) error {
	m := len(tested)
	alpha := rep.Options.Alpha
	var weak, counts []string
	for _, i := range tested {
		row := &rep.Rows[i]
		if row.MinP*float64(m) >= alpha {
			weak = append(weak, fmt.Sprintf("%s (A %d, B %d)", row.Name(), row.A.N, row.B.N))
			if c := fmt.Sprintf("%d vs %d", row.A.N, row.B.N); !slices.Contains(counts, c) {
				counts = append(counts, c)
			}
		}
	}
	if len(weak) == 0 {
		return nil
	}
	need := 2
	for MinP(need, need)*float64(m) >= alpha && need < 1000 {
		need++
	}
	if len(weak) == m {
		return &TooFewRunsError{Min: rep.Options.MinRuns, Metrics: counts, Power: true, Need: need, M: m, Alpha: alpha}
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("too few runs for a change of these metrics alone to reach p < %g after correcting for %d metrics (record at least %d runs per side): %s",
		alpha, m, need, strings.Join(weak, "; ")))
	return nil
}

// hostNotes says how the hosts of two records differ.
func hostNotes(a, b record.Host) []string {
	var d []string
	add := func(what, x, y string) {
		if x != y {
			d = append(d, fmt.Sprintf("%s %q vs %q", what, x, y))
		}
	}
	add("host", a.Hostname, b.Hostname)
	add("kernel", a.Kernel, b.Kernel)
	add("CPU", a.CPUModel, b.CPUModel)
	add("KVM backend", a.KVMBackend, b.KVMBackend)
	if a.Cores != b.Cores {
		d = append(d, fmt.Sprintf("cores %d vs %d", a.Cores, b.Cores))
	}
	if len(d) == 0 {
		return nil
	}
	return []string{"the records come from different machines: " + strings.Join(d, ", ")}
}

// key names a metric within a record.
type key struct{ suite, name string }

func (k key) String() string { return k.suite + ": " + k.name }

// recordIndex maps a record's metrics by suite and name.
type recordIndex struct {
	order   []key
	metrics map[key]*bench.Metric
	results map[string]*bench.Result
}

func index(r *record.Record, side string) (*recordIndex, error) {
	ix := &recordIndex{metrics: map[key]*bench.Metric{}, results: map[string]*bench.Result{}}
	for _, res := range r.Results {
		if res == nil {
			continue
		}
		if _, dup := ix.results[res.Suite]; dup {
			return nil, fmt.Errorf("%w: record %s holds suite %s twice", ErrUnusable, side, res.Suite)
		}
		ix.results[res.Suite] = res
		for i := range res.Metrics {
			k := key{res.Suite, res.Metrics[i].Name}
			if _, dup := ix.metrics[k]; dup {
				return nil, fmt.Errorf("%w: record %s holds metric %s twice", ErrUnusable, side, k)
			}
			ix.metrics[k] = &res.Metrics[i]
			ix.order = append(ix.order, k)
		}
	}
	return ix, nil
}

// suiteList names a record's suites for messages.
func suiteList(r *record.Record) string {
	if s := r.Suites(); len(s) > 0 {
		return strings.Join(s, ", ")
	}
	return "no suite"
}
