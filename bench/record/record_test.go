package record_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/xenolith/xenolith/bench"
	"github.com/xenolith/xenolith/bench/record"
	"github.com/xenolith/xenolith/bench/record/recordtest"
)

type fakeConfig struct {
	Runs       int
	Iterations int
}

func sample() *record.Record {
	floor := recordtest.Metric("raw exit (floor)", "ns", []float64{100, 101, 99, 100, 102})
	hc := recordtest.WithFloor(recordtest.Metric("null hypercall, CPL3", "ns", []float64{150, 151, 149, 152, 150}), floor)
	r := recordtest.Record(
		recordtest.Result("hypercall", fakeConfig{5, 1000}, floor, hc),
		recordtest.Result("evtchn", fakeConfig{5, 2000}, recordtest.Metric("exits per notify", "count", []float64{0, 0, 0})),
	)
	return r
}

func TestWriteRead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results")
	r := sample()
	r.Tool.GitDirty = true
	path, err := r.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := "hypercall+evtchn-20250102-030405-0123456-dirty-testhost.json"
	if filepath.Base(path) != want {
		t.Errorf("file name %q, want %q", filepath.Base(path), want)
	}
	got, err := record.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Schema != record.SchemaVersion || got.Tool != r.Tool || got.Host != r.Host || !got.Created.Equal(r.Created) {
		t.Errorf("metadata changed: %+v", got)
	}
	if len(got.Results) != 2 || got.Results[0].Metrics[1].Ratio != r.Results[0].Metrics[1].Ratio {
		t.Fatalf("results changed: %+v", got.Results)
	}
	if runs := got.Results[0].Metrics[0].Runs; len(runs) != 5 || runs[4] != 102 {
		t.Errorf("runs %v", runs)
	}
	cfg, ok := got.Results[1].Config.(map[string]any)
	if !ok || cfg["Iterations"] != 2000.0 {
		t.Errorf("config %#v", got.Results[1].Config)
	}
	// A second write of the same record never overwrites the first.
	path2, err := r.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	if path2 == path || !strings.HasSuffix(path2, "-testhost-2.json") {
		t.Errorf("second write went to %s", path2)
	}
}

func TestFileName(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(r *record.Record)
		want string
	}{
		{"clean", func(r *record.Record) {}, "hypercall+evtchn-20250102-030405-0123456-testhost.json"},
		{"fqdn host", func(r *record.Record) { r.Host.Hostname = "bench-1.example.org" }, "hypercall+evtchn-20250102-030405-0123456-bench-1.json"},
		{"odd suite", func(r *record.Record) { r.Results = r.Results[:1]; r.Results[0].Suite = "a b/c" }, "a_b_c-20250102-030405-0123456-testhost.json"},
		{"no revision", func(r *record.Record) { r.Tool.GitRevision = "unknown" }, "hypercall+evtchn-20250102-030405-unknown-testhost.json"},
		{"only curves", func(r *record.Record) {
			r.Results = nil
			r.Curves = []record.Curve{{Name: "c", Suite: "density", Series: []record.Series{{Label: "s"}}}}
		}, "density-20250102-030405-0123456-testhost.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := sample()
			r.Tool.GitDirty = false
			c.edit(r)
			if got := r.FileName(); got != c.want {
				t.Errorf("FileName() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestWriteRejectsInvalid(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(r *record.Record)
		want string
	}{
		{"NaN ratio", func(r *record.Record) { r.Results[0].Metrics[1].Ratio = math.NaN() }, `metric "null hypercall, CPL3": ratio is not a finite number`},
		{"Inf run", func(r *record.Record) { r.Results[0].Metrics[0].Runs[2] = math.Inf(1) }, "runs[2]"},
		{"duplicate suite", func(r *record.Record) { r.Results[1].Suite = "hypercall" }, `suite "hypercall" appears twice`},
		{"duplicate metric", func(r *record.Record) { r.Results[0].Metrics[1].Name = "raw exit (floor)" }, "appears twice"},
		{"nil result", func(r *record.Record) { r.Results[1] = nil }, "result 1 is null"},
		{"bad suite curve", func(r *record.Record) {
			r.Results[0].Curves = []bench.Curve{{Name: "c", Series: []bench.Series{{Label: "s", Points: [][2]float64{{1, math.NaN()}}}}}}
		}, `suite "hypercall": curve 0: "c": series "s": point 0 is not finite`},
		{"bad curve", func(r *record.Record) {
			r.Curves = []record.Curve{{Name: "c", Kind: "pie", Series: []record.Series{{}}}}
		}, `unknown kind "pie"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := sample()
			c.edit(r)
			_, err := r.Write(t.TempDir())
			if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, record.ErrInvalid) {
				t.Errorf("Write: %v, want an ErrInvalid containing %q", err, c.want)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	file := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, err := sample().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	newer := strings.Replace(string(good), `"schema": 1`, `"schema": 7`, 1)
	for _, c := range []struct {
		name string
		path string
		want string
		is   error
	}{
		{"missing", filepath.Join(dir, "nope.json"), "nope.json: open: no such file or directory", nil},
		{"directory", dir, "is a directory", nil},
		{"empty", file("empty.json", ""), "not a xenolith record (invalid JSON: unexpected end of JSON input)", record.ErrNotRecord},
		{"text", file("text.json", "hello\n"), "not a xenolith record (invalid JSON", record.ErrNotRecord},
		{"array", file("array.json", "[1,2]"), "not a xenolith record (not a JSON object)", record.ErrNotRecord},
		{"result JSON", file("result.json", `{"suite":"evtchn","metrics":[]}`), "not a xenolith record (schema missing)", record.ErrNotRecord},
		{"newer", file("newer.json", newer), "schema 7 is newer than this tool supports", record.ErrSchemaNewer},
		{"string schema", file("str.json", `{"schema":"1"}`), `schema "1" is not an integer`, record.ErrInvalid},
		{"zero schema", file("zero.json", `{"schema":0,"tool":{"name":"xenolith"}}`), "invalid record: schema 0", record.ErrInvalid},
		{"other tool", file("other.json", `{"schema":1,"tool":{"name":"fio"}}`), `not a xenolith record (tool "fio")`, record.ErrNotRecord},
		{"bad field type", file("type.json", `{"schema":1,"tool":{"name":"xenolith"},"results":[{"suite":3}]}`), "invalid record", record.ErrInvalid},
		{"no suite", file("nosuite.json", `{"schema":1,"tool":{"name":"xenolith"},"results":[{"metrics":[]}]}`), "result 0 has no suite name", record.ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := record.Read(c.path)
			if err == nil {
				t.Fatal("Read succeeded")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "record "+c.path+": ") || !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line starting with the path and containing %q", msg, c.want)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v is not %v", err, c.is)
			}
		})
	}
}

func TestGobench(t *testing.T) {
	r := sample()
	r.Results[0].Metrics = append(r.Results[0].Metrics,
		bench.Metric{Name: "guest -> backend -> guest", Unit: "ns", Summary: r.Results[0].Metrics[0].Summary},
		bench.Metric{Name: "null hypercall; CPL3", Unit: "ops/s", Runs: []float64{1e6, 2.5e6}})
	var b strings.Builder
	if err := record.WriteGobench(&b, r.Host, r.Results...); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	header := []string{"goos: linux", "goarch: amd64", "pkg: github.com/xenolith/xenolith/bench", "cpu: Test CPU @ 2.00GHz"}
	for i, h := range header {
		if lines[i] != h {
			t.Errorf("header line %d = %q, want %q", i, lines[i], h)
		}
	}
	line := regexp.MustCompile(`^Benchmark[A-Z][A-Za-z0-9_]*/[A-Za-z0-9_]+ 1 [-+.e0-9]+ [^ ]+$`)
	count := map[string]int{}
	for _, l := range lines[len(header):] {
		if !line.MatchString(l) {
			t.Errorf("line %q is not a benchmark line", l)
		}
		count[strings.Fields(l)[0]]++
	}
	want := map[string]int{
		"BenchmarkHypercall/raw_exit_floor":            5,
		"BenchmarkHypercall/null_hypercall_CPL3":       5,
		"BenchmarkHypercall/guest_to_backend_to_guest": 1, // no runs: the median once
		"BenchmarkHypercall/null_hypercall_CPL3_2":     2, // same identifier as another metric
		"BenchmarkEvtchn/exits_per_notify":             3,
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%s: %d lines, want %d (all: %v)", k, count[k], n, count)
		}
	}
	if !strings.Contains(b.String(), "BenchmarkHypercall/null_hypercall_CPL3_2 1 2.5e+06 ops/s\n") {
		t.Errorf("rate line missing:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "BenchmarkHypercall/raw_exit_floor 1 102 ns/op\n") {
		t.Errorf("ns/op line missing:\n%s", b.String())
	}
}

func TestGobenchName(t *testing.T) {
	for in, want := range map[string]string{
		"null hypercall, CPL3":                            "null_hypercall_CPL3",
		"guest -> backend -> guest round trip":            "guest_to_backend_to_guest_round_trip",
		"`xenolith run hello.elf` process, start to exit": "xenolith_run_hello_elf_process_start_to_exit",
		"user-space exits per notify":                     "user_space_exits_per_notify",
		"p99 µs":                                          "p99_s",
		"---":                                             "unnamed",
	} {
		if got := record.GobenchName(in); got != want {
			t.Errorf("GobenchName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatValue(t *testing.T) {
	for _, c := range []struct {
		unit string
		v    float64
		want string
	}{
		{"ns", 512, "512ns"}, {"ns", 1234.5, "1.23us"}, {"ns", 999.7, "1000ns"}, {"ns", 2.5e6, "2.50ms"},
		{"ns", 12.3e9, "12.3s"}, {"count", 0.5, "0.500"}, {"count", 0, "0"}, {"ops/s", 123456, "1.23e+05 ops/s"},
		{"VMs", 1000, "1000 VMs"}, {"ns", math.NaN(), "NaN"},
		{"bytes", 1000, "1000 B"}, {"bytes", 3 << 20, "3.00 MiB"}, {"B", 1536, "1.50 KiB"}, {"bytes", 5 << 30, "5.00 GiB"},
	} {
		if got := record.FormatValue(c.unit, c.v); got != c.want {
			t.Errorf("FormatValue(%q, %v) = %q, want %q", c.unit, c.v, got, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	good, err := sample().Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"schema":1,"tool":{"name":"xenolith"},"results":[{"suite":"s","metrics":[{"name":"m","runs":[1,2]}]}],"curves":[{"name":"c","kind":"cdf","series":[{"points":[[1,2]]}]}]}`))
	f.Add([]byte(`{"schema":99}`))
	f.Add([]byte(`{"schema":1e400}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Add([]byte("{\"schema\": [\n]}"))
	f.Add([]byte("{\"schema\":1,\"tool\":{\"name\":\"xenolith\"},\"results\":[{\"suite\":\"a\\nb\",\"metrics\":[{}]}]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := record.Parse(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		// Whatever parses must write and parse again.
		out, err := r.Marshal()
		if err != nil {
			t.Fatalf("parsed record does not marshal: %v", err)
		}
		if _, err := record.Parse(out); err != nil {
			t.Fatalf("marshalled record does not parse: %v", err)
		}
	})
}
