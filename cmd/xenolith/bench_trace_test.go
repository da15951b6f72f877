package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenolith/xenolith/bench/probe"
	"github.com/xenolith/xenolith/bench/record"
	"github.com/xenolith/xenolith/internal/require"
)

// hcArgs is a very short hypercall suite.
var hcArgs = []string{"--runs", "1", "--iterations", "100", "--boots", "1", "--process-boots", "0"}

// TestBenchTraceUnavailable: without eBPF (simulated), --trace prints one
// notice line and the suite still runs and saves its record; --trace=false
// prints none.
func TestBenchTraceUnavailable(t *testing.T) {
	require.KVM(t)
	saved := traceAvailable
	traceAvailable = func() (bool, string) { return false, "simulated: needs root (CAP_BPF and CAP_PERFMON)" }
	defer func() { traceAvailable = saved }()
	cases := []struct {
		name    string
		flags   []string
		notices int
	}{
		{"default on", nil, 1},
		{"explicit", []string{"--trace"}, 1},
		{"off", []string{"--trace=false"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append(append([]string{"--results", dir, "--format", "json"}, hcArgs...), tc.flags...)
			st, stdout, stderr := callCLI(benchHypercall, args...)
			if st != 0 {
				t.Fatalf("status %d: %s", st, stderr)
			}
			if n := strings.Count(stderr, "--trace:"); n != tc.notices {
				t.Errorf("%d notices, want %d:\n%s", n, tc.notices, stderr)
			}
			if tc.notices > 0 && !strings.Contains(stderr, "simulated: needs root") {
				t.Errorf("notice does not say why:\n%s", stderr)
			}
			if !strings.Contains(stdout, `"suite": "hypercall"`) || strings.Contains(stdout, "eBPF") {
				t.Errorf("result without tracing expected:\n%s", stdout)
			}
		})
	}
}

// TestBenchTraced: with eBPF here, a traced suite's saved record carries
// the per-VM trace tables and metrics.
func TestBenchTraced(t *testing.T) {
	require.KVM(t)
	require.Root(t)
	if ok, why := probe.Available(); !ok {
		t.Skipf("skipping: %s", why)
	}
	dir := t.TempDir()
	args := append([]string{"--results", dir, "--format", "json", "--trace-overhead=false"}, hcArgs...)
	st, _, stderr := callCLI(benchHypercall, args...)
	if st != 0 {
		t.Fatalf("status %d: %s", st, stderr)
	}
	if strings.Contains(stderr, "--trace:") {
		t.Errorf("unexpected notice: %s", stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 1 {
		t.Fatalf("records %v", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var rec record.Record
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Results) != 1 {
		t.Fatalf("results %d", len(rec.Results))
	}
	var titles []string
	for _, tb := range rec.Results[0].Tables {
		titles = append(titles, tb.Title)
	}
	all := strings.Join(titles, "|")
	for _, want := range []string{"eBPF: userspace exits per VM by reason", "eBPF: tracepoints used", "eBPF against the monitor's and KVM's own counts"} {
		if !strings.Contains(all, want) {
			t.Errorf("record lacks table %q (has %v)", want, titles)
		}
	}
}
