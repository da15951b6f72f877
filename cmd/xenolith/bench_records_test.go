package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xenolith/xenolith/bench"
	"github.com/xenolith/xenolith/bench/record"
	"github.com/xenolith/xenolith/bench/record/recordtest"
)

// callCLI runs one of the bench record commands and maps its error to an
// exit status the way run does.
func callCLI(f func(args []string, stdout, stderr io.Writer) error, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	st := status(f(args, &out, &errb), &errb)
	return st, out.String(), errb.String()
}

type hcConfig struct {
	Runs       int
	Iterations int
}

// hcRecord writes a hypercall-like record whose null hypercall is slowed by
// factor, with runs run values per metric.
func hcRecord(t *testing.T, dir string, seed uint64, factor float64, runs, iterations int) string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 42))
	raw := recordtest.Metric("raw port-I/O exit, CPL3 (floor)", "ns", recordtest.Noisy(r, runs, 9000, 0.02))
	hc := recordtest.WithFloor(recordtest.Metric("null hypercall, CPL3", "ns", recordtest.Noisy(r, runs, 9500*factor, 0.02)), raw)
	rec := recordtest.Record(recordtest.Result("hypercall", hcConfig{runs, iterations}, raw, hc))
	rec.Created = rec.Created.Add(time.Duration(seed) * time.Second) // distinct file names
	p, err := rec.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBenchCompareCLI(t *testing.T) {
	dir := t.TempDir()
	a := hcRecord(t, dir, 1, 1, 10, 1000)
	same := hcRecord(t, dir, 2, 1, 10, 1000)
	slow := hcRecord(t, dir, 3, 1.2, 10, 1000)
	otherCfg := hcRecord(t, dir, 4, 1, 10, 2000)
	fewRuns := hcRecord(t, dir, 5, 1, 2, 1000)
	notRecord := filepath.Join(dir, "result.json")
	os.WriteFile(notRecord, []byte(`{"suite":"hypercall","metrics":[]}`), 0o644)
	newer := filepath.Join(dir, "newer.json")
	os.WriteFile(newer, []byte(`{"schema": 7}`), 0o644)

	for _, c := range []struct {
		name   string
		args   []string
		status int
		stdout string // substring of stdout
		stderr string // substring of the one-line stderr ("" = empty stderr)
	}{
		{"same", []string{a, same}, 0, "0 regressions", ""},
		{"regression", []string{a, slow}, 1, "regression: hypercall: null hypercall, CPL3: +2", ""},
		{"improvement", []string{slow, a}, 0, "1 improvement", ""},
		{"json", []string{"--json", a, slow}, 1, `"verdict": "regression"`, ""},
		{"huge threshold", []string{"--threshold", "0.5", a, slow}, 0, "below threshold", ""},
		{"missing", []string{a, filepath.Join(dir, "nope.json")}, 2, "", "nope.json: open: no such file or directory"},
		{"not a record", []string{notRecord, a}, 2, "", "result.json: not a xenolith record (schema missing)"},
		{"newer schema", []string{a, newer}, 2, "", "newer.json: schema 7 is newer than this tool supports"},
		{"mismatched", []string{a, otherCfg}, 2, "", "different configurations of suite hypercall: Iterations: 1000 vs 2000"},
		{"too few runs", []string{a, fewRuns}, 2, "", "too few runs (need at least 3 per side): hypercall: raw port-I/O exit, CPL3 (floor) (A 10, B 2)"},
		{"one record", []string{a}, 2, "", "expected two records"},
		{"bad alpha", []string{"--alpha", "2", a, same}, 2, "", "--alpha"},
		{"bad flag", []string{"--bogus", a, same}, 2, "", "unknown flag: --bogus"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, stdout, stderr := callCLI(benchCompare, c.args...)
			if st != c.status {
				t.Errorf("exit status %d, want %d (stdout %q, stderr %q)", st, c.status, stdout, stderr)
			}
			if !strings.Contains(stdout, c.stdout) {
				t.Errorf("stdout lacks %q:\n%s", c.stdout, stdout)
			}
			if c.stderr == "" {
				if stderr != "" {
					t.Errorf("unexpected stderr %q", stderr)
				}
				return
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "xenolith: ") || !strings.Contains(stderr, c.stderr) {
				t.Errorf("stderr %q: want one 'xenolith: ' line containing %q", stderr, c.stderr)
			}
		})
	}
}

func TestBenchReportCLI(t *testing.T) {
	dir := t.TempDir()
	a := hcRecord(t, dir, 1, 1, 5, 1000)
	out := filepath.Join(t.TempDir(), "html")
	st, stdout, stderr := callCLI(benchReport, "-o", out, a)
	if st != 0 {
		t.Fatalf("status %d, stderr %q", st, stderr)
	}
	base := strings.TrimSuffix(filepath.Base(a), ".json")
	for _, f := range []string{base + ".html", base + "-overhead.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil || !strings.Contains(stdout, f) {
			t.Errorf("%s: %v (stdout %q)", f, err, stdout)
		}
	}
	// Default: beside the record.
	if st, _, stderr := callCLI(benchReport, "--name", "page", a); st != 0 {
		t.Fatalf("status %d, stderr %q", st, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "page.html")); err != nil {
		t.Error(err)
	}
	st, stdout, _ = callCLI(benchReport, "--format", "gobench", a)
	if st != 0 || !strings.Contains(stdout, "cpu: Test CPU @ 2.00GHz\n") || strings.Count(stdout, "BenchmarkHypercall/null_hypercall_CPL3 1 ") != 5 {
		t.Errorf("gobench: status %d, stdout:\n%s", st, stdout)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "expected at least one RECORD.json"},
		{[]string{filepath.Join(dir, "nope.json")}, "nope.json: open: no such file"},
		{[]string{"--format", "pdf", a}, `unknown --format "pdf"`},
		{[]string{a, dir}, "is a directory"},
	} {
		st, _, stderr := callCLI(benchReport, c.args...)
		if st != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: status %d, stderr %q; want 2 and one line containing %q", c.args, st, stderr, c.want)
		}
	}
}

func TestWriteRecord(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results")
	res := recordtest.Result("evtchn", bench.EvtchnOptions{Runs: 3, Iterations: 100},
		recordtest.Metric("notify", "ns", []float64{1, 2, 3}))
	path, err := writeRecord([]*bench.Result{res}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^evtchn-\d{8}-\d{6}-[0-9a-z]+(-dirty)?-[A-Za-z0-9_-]+\.json$`).MatchString(filepath.Base(path)) {
		t.Errorf("record name %q", filepath.Base(path))
	}
	rec, err := record.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Tool.Version != Version || rec.Host.Cores < 1 || len(rec.Command) == 0 || rec.Results[0].Metrics[0].Runs[2] != 3 {
		t.Errorf("record %+v", rec)
	}
	var b bytes.Buffer
	if err := formatGobench(&b, res); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "goos: linux\ngoarch: ") || !strings.Contains(b.String(), "BenchmarkEvtchn/notify 1 3 ns/op\n") {
		t.Errorf("gobench output:\n%s", b.String())
	}
}

// TestRecordFromResultJSON wraps the output of `xenolith bench SUITE
// --json` (one result or a list) in a record, for trying compare and
// report on real measurements: XENOLITH_RESULT_JSON=FILE names the
// output, XENOLITH_RECORD_DIR where the record goes (default results/).
func TestRecordFromResultJSON(t *testing.T) {
	src := os.Getenv("XENOLITH_RESULT_JSON")
	if src == "" {
		t.Skip("set XENOLITH_RESULT_JSON to wrap a suite's --json output in a record")
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var results []*bench.Result
	if err := json.Unmarshal(data, &results); err != nil {
		var one bench.Result
		if err := json.Unmarshal(data, &one); err != nil {
			t.Fatal(err)
		}
		results = []*bench.Result{&one}
	}
	dir := os.Getenv("XENOLITH_RECORD_DIR")
	if dir == "" {
		dir = "results"
	}
	path, err := writeRecord(results, dir)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(path)
}
