package compare_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/xenolith/xenolith/bench"
	"github.com/xenolith/xenolith/bench/compare"
	"github.com/xenolith/xenolith/bench/record"
	"github.com/xenolith/xenolith/bench/record/recordtest"
	"github.com/xenolith/xenolith/bench/stats"
)

type cfg struct {
	Runs       int
	Iterations int
	Progress   any
}

// noisyRuns draws run values the way real ones look: log-normal around
// the median with the given CV, and one run in ten disturbed upwards by up
// to 15% (a noisy neighbour).
func noisyRuns(r *rand.Rand, n int, median, cv float64) []float64 {
	out := recordtest.Noisy(r, n, median, cv)
	for i := range out {
		if r.IntN(10) == 0 {
			out[i] *= 1 + 0.15*r.Float64()
		}
	}
	return out
}

// pairOfRecords makes two records of m metrics with runs values each,
// metric slow (if >= 0) made factor times larger in B.
func pairOfRecords(r *rand.Rand, m, runs int, cv float64, slow int, factor float64) (*record.Record, *record.Record) {
	var ma, mb []bench.Metric
	for i := 0; i < m; i++ {
		median := 1000 * float64(i+1)
		name := fmt.Sprintf("metric %d", i)
		// Only run values matter to Compare; skip the summaries' bootstrap.
		ma = append(ma, bench.Metric{Name: name, Unit: "ns", Runs: noisyRuns(r, runs, median, cv)})
		if i == slow {
			median *= factor
		}
		mb = append(mb, bench.Metric{Name: name, Unit: "ns", Runs: noisyRuns(r, runs, median, cv)})
	}
	c := cfg{Runs: runs, Iterations: 1000}
	return recordtest.Record(recordtest.Result("suite", c, ma...)), recordtest.Record(recordtest.Result("suite", c, mb...))
}

// An A/A comparison: both records drawn from the same distributions. The
// family-wise false-positive rate of the test alone (threshold 0) must
// stay within alpha, and with the 5% threshold no regression is reported.
func TestAAFalsePositives(t *testing.T) {
	const trials, metrics = 200, 8
	r := rand.New(rand.NewPCG(1, 2))
	anySignificant, anyRegression := 0, 0
	for trial := 0; trial < trials; trial++ {
		a, b := pairOfRecords(r, metrics, 10, 0.03, -1, 1)
		strict := compare.DefaultOptions()
		strict.Threshold = 0
		strict.Resamples = 50 // intervals are not under test here
		rep, err := compare.Compare(a, b, strict)
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rep.Rows {
			if row.Verdict != compare.NoChange {
				anySignificant++
				break
			}
		}
		// The threshold changes verdicts only: apply the default one here.
		for _, row := range rep.Rows {
			if row.PAdj < 0.05 && row.Change > 0.05 {
				anyRegression++
				break
			}
		}
	}
	fp := float64(anySignificant) / trials
	t.Logf("A/A: %d of %d trials had a significant metric (rate %.3f); %d had a regression past 5%%", anySignificant, trials, fp, anyRegression)
	if fp > 0.05 {
		t.Errorf("family-wise false-positive rate %.3f > alpha 0.05", fp)
	}
	if float64(anyRegression)/trials > 0.05 {
		t.Errorf("%d of %d A/A trials reported a regression", anyRegression, trials)
	}
}

// An injected 10% slowdown of one metric among 8, with 3% CV noise and 10
// runs per side, must be caught in at least 95% of trials, and no other
// metric blamed beyond alpha.
func TestSlowdownCaught(t *testing.T) {
	const trials, metrics = 200, 8
	r := rand.New(rand.NewPCG(3, 4))
	caught, blamed := 0, 0
	for trial := 0; trial < trials; trial++ {
		slow := trial % metrics
		a, b := pairOfRecords(r, metrics, 10, 0.03, slow, 1.10)
		opts := compare.DefaultOptions()
		opts.Resamples = 50 // intervals are not under test here
		rep, err := compare.Compare(a, b, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rep.Regressions() {
			if row.Metric == fmt.Sprintf("metric %d", slow) {
				caught++
			} else {
				blamed++
			}
		}
	}
	t.Logf("10%% slowdown caught in %d of %d trials; %d innocent metrics blamed", caught, trials, blamed)
	if float64(caught)/trials < 0.95 {
		t.Errorf("caught %d of %d slowdowns, want >= 95%%", caught, trials)
	}
	if float64(blamed)/trials > 0.05 {
		t.Errorf("%d innocent metrics reported as regressions", blamed)
	}
}

func TestDirections(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	mk := func(unit string, f float64) (*record.Record, *record.Record) {
		a := recordtest.Metric("m", unit, noisyRuns(r, 10, 100, 0.01))
		b := recordtest.Metric("m", unit, noisyRuns(r, 10, 100*f, 0.01))
		return recordtest.Record(recordtest.Result("s", nil, a)), recordtest.Record(recordtest.Result("s", nil, b))
	}
	for _, c := range []struct {
		unit   string
		factor float64
		want   compare.Verdict
	}{
		{"ns", 1.2, compare.Regression},
		{"ns", 0.8, compare.Improvement},
		{"count", 1.2, compare.Regression},
		{"ops/s", 0.8, compare.Regression},
		{"MB/s", 1.2, compare.Improvement},
		{"VMs", 0.8, compare.Regression},
		{"widgets", 1.2, compare.Changed},
		{"exits/s", 1.2, compare.Regression},
		{"cores", 0.8, compare.Improvement},
		{"bytes", 1.2, compare.Regression},
		{"furlongs/s", 1.2, compare.Changed},
		{"ns", 1.03, compare.Small},
		{"ns", 1.0, compare.NoChange},
	} {
		a, b := mk(c.unit, c.factor)
		rep, err := compare.Compare(a, b, compare.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		row := rep.Rows[0]
		if row.Verdict != c.want {
			t.Errorf("%s x%.2f: verdict %q, want %q (row %+v)", c.unit, c.factor, row.Verdict, c.want, row)
		}
		if !(row.A.Lo <= row.A.Median && row.A.Median <= row.A.Hi && row.ChangeLo <= row.Change && row.Change <= row.ChangeHi) {
			t.Errorf("%s x%.2f: estimate outside its interval: %+v", c.unit, c.factor, row)
		}
	}
}

func TestUnusable(t *testing.T) {
	runs := func(n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(100 + i)
		}
		return out
	}
	base := func() *record.Record {
		return recordtest.Record(
			recordtest.Result("hypercall", cfg{Runs: 5, Iterations: 1000, Progress: map[string]any{}},
				recordtest.Metric("null hypercall", "ns", runs(10)), recordtest.Metric("raw exit", "ns", runs(10))),
			recordtest.Result("evtchn", map[string]any{"Runs": 5.0}, recordtest.Metric("notify", "ns", runs(10))),
		)
	}
	for _, c := range []struct {
		name string
		edit func(a, b *record.Record)
		want string // substring of the error; "" = no error
		is   error
	}{
		{"same", func(a, b *record.Record) {}, "", nil},
		{"progress ignored", func(a, b *record.Record) { b.Results[0].Config = cfg{Runs: 5, Iterations: 1000} }, "", nil},
		{"suite only in B is fine", func(a, b *record.Record) { a.Results = a.Results[:1] }, "", nil},
		{"nothing in common", func(a, b *record.Record) { b.Results[0].Suite, b.Results[1].Suite = "x", "y" }, "no metric in common (A: hypercall, evtchn; B: x, y)", compare.ErrNoCommonMetrics},
		{"config", func(a, b *record.Record) { b.Results[0].Config = cfg{Runs: 5, Iterations: 2000} },
			"different configurations of suite hypercall: Iterations: 1000 vs 2000", nil},
		{"config key absent", func(a, b *record.Record) { b.Results[1].Config = map[string]any{"Runs": 5.0, "Depth": 2.0} },
			"different configurations of suite evtchn: Depth: absent vs 2", nil},
		{"config of unshared suite ignored", func(a, b *record.Record) {
			a.Results = a.Results[:1]
			b.Results[1].Config = "other"
		}, "", nil},
		{"too few runs", func(a, b *record.Record) { b.Results[0].Metrics[1].Runs = runs(2) },
			"too few runs (need at least 3 per side): hypercall: raw exit (A 10, B 2)", nil},
		{"no runs", func(a, b *record.Record) { a.Results[1].Metrics[0].Runs = nil },
			"evtchn: notify (A 0, B 10)", nil},
		{"duplicate suite", func(a, b *record.Record) { b.Results[1].Suite = "hypercall" }, "record B holds suite hypercall twice", nil},
		{"single values only", func(a, b *record.Record) {
			for _, r := range []*record.Record{a, b} {
				for _, res := range r.Results {
					for i := range res.Metrics {
						res.Metrics[i].Runs = runs(1)
					}
				}
			}
		}, "too few runs: every metric in common has one value per record, nothing to test (hypercall: null hypercall; hypercall: raw exit; evtchn: notify)", nil},
		{"one value against several", func(a, b *record.Record) { b.Results[1].Metrics[0].Runs = runs(1) },
			"too few runs (need at least 3 per side): evtchn: notify (A 10, B 1)", nil},
		{"underpowered", func(a, b *record.Record) {
			for _, r := range []*record.Record{a, b} {
				for _, res := range r.Results {
					for i := range res.Metrics {
						res.Metrics[i].Runs = runs(3)
					}
				}
			}
		}, "too few runs: with 3 metrics compared and 3 vs 3 runs no change can reach p < 0.05 after Holm correction; record at least 5 runs per side", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := base(), base()
			c.edit(a, b)
			rep, err := compare.Compare(a, b, compare.DefaultOptions())
			if c.want == "" {
				if err != nil {
					t.Fatalf("Compare: %v", err)
				}
				if len(rep.Regressions()) != 0 {
					t.Errorf("regressions in identical records: %+v", rep.Regressions())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Compare: %v, want an error containing %q", err, c.want)
			}
			if !errors.Is(err, compare.ErrUnusable) {
				t.Errorf("%v is not ErrUnusable", err)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("%v is not %v", err, c.is)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
		})
	}
}

func TestPowerNote(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	// Two metrics with 20 runs can be significant, one with 3 cannot.
	mk := func(f float64) *record.Record {
		return recordtest.Record(recordtest.Result("s", nil,
			recordtest.Metric("boot", "ns", noisyRuns(r, 20, 1e6*f, 0.03)),
			recordtest.Metric("spawn", "ns", noisyRuns(r, 20, 2e6, 0.03)),
			recordtest.Metric("rare", "ns", noisyRuns(r, 3, 100*f, 0.03))))
	}
	rep, err := compare.Compare(mk(1), mk(1.2), compare.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "s: rare (A 3, B 3)") {
		t.Errorf("notes %q", rep.Notes)
	}
	if reg := rep.Regressions(); len(reg) != 1 || reg[0].Metric != "boot" {
		t.Errorf("regressions %+v", reg)
	}
}

func TestWriteText(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	a, b := pairOfRecords(r, 3, 10, 0.02, 1, 1.25)
	b.Host.Hostname = "otherhost"
	a.Results[0].Metrics = append(a.Results[0].Metrics, recordtest.Metric("gone", "ns", []float64{1, 2, 3}))
	rep, err := compare.Compare(a, b, compare.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	if err := rep.WriteText(&sb); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	for _, want := range []string{
		"suite", "A: p50 [95% CI]", "n=10", "regression\n",
		"only in A (not compared): suite: gone",
		`note: the records come from different machines: host "testhost" vs "otherhost"`,
		"3 metrics tested on run values (Mann-Whitney U, Holm-corrected, alpha 0.05, threshold 5%): 1 regression, 0 improvements",
		"\nregression: suite: metric 1: +2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestReportJSON(t *testing.T) {
	a := recordtest.Record(recordtest.Result("s", nil,
		recordtest.Metric("zero", "count", []float64{0, 0, 0, 0, 0, 0, 0, 0}),
		recordtest.Metric("t", "ns", []float64{1, 2, 3, 4, 5, 6, 7, 8})))
	b := recordtest.Record(recordtest.Result("s", nil,
		recordtest.Metric("zero", "count", []float64{1, 1, 1, 1, 1, 1, 1, 1}),
		recordtest.Metric("t", "ns", []float64{1, 2, 3, 4, 5, 6, 7, 8})))
	rep, err := compare.Compare(a, b, compare.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(rep.Rows[0].Change, 1) || rep.Rows[0].Verdict != compare.Regression {
		t.Errorf("0 -> 1 count: %+v", rep.Rows[0])
	}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	r0 := back.Rows[0]
	if r0["change"] != nil || r0["direction"] != "lower is better" || r0["verdict"] != "regression" || r0["p_holm"].(float64) >= 0.05 || r0["exact"] != true {
		t.Errorf("row 0 as JSON: %v", r0)
	}
	if back.Rows[1]["change"] != 0.0 {
		t.Errorf("row 1 as JSON: %v", back.Rows[1])
	}
}

// A figure measured once per invocation (the density suite's memory per
// VM) is shown with its change but neither tested nor counted in the
// correction.
func TestUntested(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 13))
	mk := func(f float64, rss float64) *record.Record {
		return recordtest.Record(recordtest.Result("density", nil,
			bench.Metric{Name: "VMs at SLO", Unit: "VMs", Runs: noisyRuns(r, 8, 1000*f, 0.01)},
			bench.Metric{Name: "RSS per VM", Unit: "bytes", Runs: []float64{rss}},
			bench.Metric{Name: "old figure", Unit: "bytes", Summary: stats.Summary{P50: 7}}))
	}
	rep, err := compare.Compare(mk(1, 1000), mk(0.8, 2000), compare.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	rows := rep.Rows
	if rows[0].Verdict != compare.Regression || rows[1].Verdict != compare.Untested || rows[2].Verdict != compare.Untested {
		t.Fatalf("verdicts %q %q %q", rows[0].Verdict, rows[1].Verdict, rows[2].Verdict)
	}
	if rows[1].Change != 1 || rows[1].A.Median != 1000 || rows[2].A.Median != 7 || rows[2].A.N != 0 {
		t.Errorf("untested rows %+v %+v", rows[1], rows[2])
	}
	// Holm over the one tested metric: the corrected p is the raw p.
	if rows[0].PAdj != rows[0].P {
		t.Errorf("p %v corrected to %v with one tested metric", rows[0].P, rows[0].PAdj)
	}
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "not tested, one value per record: density: RSS per VM; density: old figure") {
		t.Errorf("notes %q", rep.Notes)
	}
	var sb strings.Builder
	if err := rep.WriteText(&sb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), "1000 B n=1") || !strings.Contains(sb.String(), "+100.0%") || !strings.Contains(sb.String(), "untested") ||
		!strings.Contains(sb.String(), "1 of 3 metrics tested on run values") {
		t.Errorf("text:\n%s", sb.String())
	}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"p":null,"p_holm":null,"min_p":null`) {
		t.Errorf("JSON of an untested row: %s", data)
	}
}
