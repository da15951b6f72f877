package bench

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/xenolith/xenolith/bench/probe"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/internal/require"
)

// needTrace skips (or fails under XENOLITH_REQUIRE) unless eBPF runs here.
func needTrace(t *testing.T) *kvm.System {
	t.Helper()
	require.KVM(t)
	require.Root(t)
	if ok, why := probe.Available(); !ok {
		t.Skipf("skipping: %s", why)
	}
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close() })
	return sys
}

// TestTraceOverheadRuns checks the overhead measurement's shape on a tiny
// run (speed itself belongs to the benchmark record, not to a test).
func TestTraceOverheadRuns(t *testing.T) {
	sys := needTrace(t)
	res, err := TraceOverhead(sys, TraceOverheadOptions{Runs: 2, Exits: 2000})
	if errors.Is(err, probe.ErrUnavailable) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Metrics) != 3 || res.Metrics[2].Ratio <= 0 || res.Metrics[2].Floor != res.Metrics[0].Name {
		t.Fatalf("metrics %+v", res.Metrics)
	}
	into := &Result{Suite: "overhead"}
	MergeTraceOverhead(into, res)
	if into.Metrics[2].Name != "eBPF probes: exit rate with/without" || into.Metrics[2].Floor != "eBPF probes: exit rate without probes" {
		t.Errorf("merged %q floor %q", into.Metrics[2].Name, into.Metrics[2].Floor)
	}
}

// TestTracedSuite runs a short traced hypercall suite and checks that the
// record carries the trace's metrics, tables and notes, and that the eBPF
// exit counts agree with the monitor's.
func TestTracedSuite(t *testing.T) {
	sys := needTrace(t)
	tr, err := StartTrace()
	if errors.Is(err, probe.ErrUnavailable) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	res, err := Hypercall(sys, HypercallOptions{Runs: 1, Iterations: 100, Boots: 2, Trace: tr})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Finish(res); err != nil {
		t.Fatal(err)
	}
	metrics := map[string]bool{}
	for _, m := range res.Metrics {
		metrics[m.Name] = true
	}
	for _, want := range []string{"eBPF: userspace exits per VM", "eBPF: time in monitor per exit p99 per VM (bucket bound)"} {
		if !metrics[want] {
			t.Errorf("no metric %q", want)
		}
	}
	tables := map[string]Table{}
	for _, tb := range res.Tables {
		tables[tb.Title] = tb
	}
	ex, ok := tables["eBPF: userspace exits per VM by reason"]
	if !ok || len(ex.Rows) != 2 || ex.Rows[0][0] != "hcbench run 1" || !strings.Contains(strings.Join(ex.Columns, ","), "exit: io") {
		t.Errorf("exit table %+v", ex)
	}
	for _, want := range []string{"eBPF: time in the monitor per exit and vCPU run-queue delay per VM", "eBPF: tracepoints used", "eBPF against the monitor's and KVM's own counts"} {
		if _, ok := tables[want]; !ok {
			t.Errorf("no table %q", want)
		}
	}
	notes := strings.Join(res.Notes, "\n")
	if !strings.Contains(notes, "exit counts of all 2 VMs agree") {
		t.Errorf("cross-check: %s\n%+v", notes, tables["eBPF against the monitor's and KVM's own counts"])
	}
}

// TestNilTrace: suites call a nil Trace's methods unconditionally.
func TestNilTrace(t *testing.T) {
	var tr *Trace
	if tr.Hook("x") != nil {
		t.Error("nil trace gave a hook")
	}
	tr.Account("x", 1, nil)
	tr.AccountVM("x", nil)
	tr.step(0, 1, nil, nil)
	tr.Close()
	if tr.snapshot() != nil {
		t.Error("nil trace gave a snapshot")
	}
	res := &Result{}
	if err := tr.Finish(res); err != nil || len(res.Tables) != 0 {
		t.Errorf("finish: %v %+v", err, res)
	}
	if _, err := tr.Stop(); err == nil {
		t.Error("nil trace stopped")
	}
}

// TestStepResults: per-step per-VM figures become a table with medians and
// spread, and heatmaps that group VMs when there are many.
func TestStepResults(t *testing.T) {
	cases := []struct {
		name     string
		vms      int
		wantRows int // heatmap rows
	}{
		{"few VMs, one row each", 3, 3},
		{"many VMs, grouped", 100, 34},
		{"exactly the row limit", maxHeatRows, maxHeatRows},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var steps []traceStep
			for _, n := range []int{1, tc.vms / 2, tc.vms, tc.vms / 2} { // a bisection revisits a count
				if n < 1 {
					n = 1
				}
				st := traceStep{vms: n, secs: 1}
				for v := 0; v < n; v++ {
					st.perVM = append(st.perVM, stepVM{name: "d" + string(rune('A'+v%26)) + strings.Repeat("x", v/26),
						exitsPerS: float64(100 + v), rqWaits: uint64(v), rqP50: 1024, rqP99: 4096, monitorP99: 2048})
				}
				steps = append(steps, st)
			}
			res := &Result{}
			stepResults(res, steps)
			if len(res.Tables) != 1 || len(res.Tables[0].Rows) != 4 {
				t.Fatalf("tables %+v", res.Tables)
			}
			row := res.Tables[0].Rows[2]
			if row[1] != strconv.Itoa(tc.vms) || !strings.Contains(row[3], "[100, ") {
				t.Errorf("step row %v", row)
			}
			if len(res.Curves) != 2 || res.Curves[0].Kind != KindHeatmap {
				t.Fatalf("curves %+v", res.Curves)
			}
			if got := len(res.Curves[0].Series); got != tc.wantRows {
				t.Errorf("heatmap rows %d, want %d", got, tc.wantRows)
			}
			for _, s := range res.Curves[0].Series {
				for i := 1; i < len(s.Points); i++ {
					if s.Points[i][0] <= s.Points[i-1][0] {
						t.Fatalf("row %s: x not increasing: %v", s.Label, s.Points)
					}
				}
			}
		})
	}
	res := &Result{}
	stepResults(res, nil)
	if len(res.Tables)+len(res.Curves) != 0 {
		t.Error("no steps gave output")
	}
}

// TestCrossCheck: agreement and disagreement between eBPF, the monitor's
// count and KVM's fpu_reload are told apart.
func TestCrossCheck(t *testing.T) {
	d := &probe.Snapshot{VMs: map[probe.VMID]*probe.VMStats{
		1: {ID: 1, Name: "good", Total: probe.Counters{Exits: [probe.NumReasons]uint64{2: 10}, ExitErrors: 2}},
		2: {ID: 2, Name: "bad", Total: probe.Counters{Exits: [probe.NumReasons]uint64{2: 10}}},
	}}
	checks := map[string]*exitCheck{
		"good": {monitor: 12, kvm: map[string]uint64{"fpu_reload": 12}}, // 10 exits + 2 interrupted
		"bad":  {monitor: 12},
		"lost": {monitor: 5},
	}
	res := &Result{}
	crossCheck(res, d, checks)
	if len(res.Tables) != 1 || len(res.Tables[0].Rows) != 3 {
		t.Fatalf("%+v", res.Tables)
	}
	verdict := map[string]string{}
	for _, r := range res.Tables[0].Rows {
		verdict[r[0]] = r[len(r)-1]
	}
	if verdict["good"] != "yes" || verdict["bad"] != "no" || verdict["lost"] != "no" {
		t.Errorf("verdicts %v", verdict)
	}
	if !strings.Contains(strings.Join(res.Notes, " "), "2 of 3 VMs disagree") {
		t.Errorf("notes %v", res.Notes)
	}
}
