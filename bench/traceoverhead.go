package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/xenolith/xenolith/bench/probe"
	"github.com/xenolith/xenolith/bench/stats"
	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
)

// TraceOverheadOptions configure TraceOverhead.
type TraceOverheadOptions struct {
	Runs  int `json:"runs"`  // pairs of runs with and without probes, interleaved (default 9)
	Exits int `json:"exits"` // raw exits per run (default 20000)
}

// ProbeOverheadLimit is the probe overhead on the exit rate the project
// accepts (5%).
const ProbeOverheadLimit = 0.05

// TraceOverhead measures the exit rate of an exit-heavy guest (tracecount
// raw=N: OUT to the raw-exit port at CPL3) with and without the probes
// attached and its vCPU thread registered, in interleaved pairs whose
// order alternates (after one discarded warm-up run), and reports the
// median of the paired ratios with a 95% interval. No other Trace may be
// open meanwhile: its probes would count the "without" runs too.
func TraceOverhead(sys *kvm.System, o TraceOverheadOptions) (*Result, error) {
	if o.Runs == 0 {
		o.Runs = 9
	}
	if o.Exits == 0 {
		o.Exits = 20000
	}
	if _, err := exitRate(sys, min(o.Exits, 5000), nil); err != nil { // warm-up
		return nil, err
	}
	traced := func() (float64, error) {
		t, err := probe.Open(probe.Options{})
		if err != nil {
			return 0, err
		}
		defer t.Close()
		id, err := t.AddVM("tracecount")
		if err != nil {
			return 0, err
		}
		return exitRate(sys, o.Exits, t.Hook(id))
	}
	var off, on []float64
	for run := 0; run < o.Runs; run++ {
		var a, b float64
		var err error
		if run%2 == 0 {
			if a, err = exitRate(sys, o.Exits, nil); err == nil {
				b, err = traced()
			}
		} else {
			if b, err = traced(); err == nil {
				a, err = exitRate(sys, o.Exits, nil)
			}
		}
		if err != nil {
			return nil, err
		}
		off, on = append(off, a), append(on, b)
	}
	res := &Result{Suite: "trace-overhead", Config: o}
	mOff := Metric{Name: "exit rate without probes", Unit: "exits/s", Summary: stats.Summarize(off), Runs: off}
	mOn := Metric{Name: "exit rate with probes", Unit: "exits/s", Summary: stats.Summarize(on), Runs: on}
	var rs []float64
	for i := range on {
		rs = append(rs, on[i]/off[i])
	}
	mRatio := Metric{Name: "exit rate with/without", Unit: "ratio", Summary: stats.Summarize(rs), Runs: rs, Floor: mOff.Name}
	mRatio.Ratio, mRatio.RatioLo, mRatio.RatioHi = stats.PairedRatio(on, off)
	res.Metrics = append(res.Metrics, mOff, mOn, mRatio)
	verdict := "within"
	if 1-mRatio.Ratio > ProbeOverheadLimit {
		verdict = "over"
	}
	res.Notes = append(res.Notes, fmt.Sprintf("probe overhead on the exit rate: %.1f%% [%.1f%%, %.1f%%] (with/without %.3f, %d interleaved pairs of %d exits), %s the %.0f%% limit",
		(1-mRatio.Ratio)*100, (1-mRatio.RatioHi)*100, (1-mRatio.RatioLo)*100, mRatio.Ratio, o.Runs, o.Exits, verdict, ProbeOverheadLimit*100))
	return res, nil
}

// MergeTraceOverhead adds a TraceOverhead result to a suite's result as
// rows "eBPF probes: ..." (the with/without ratio against its floor) and
// its note.
func MergeTraceOverhead(res, ov *Result) {
	if res == nil || ov == nil {
		return
	}
	const part = "eBPF probes: "
	for _, m := range ov.Metrics {
		m.Name = part + m.Name
		if m.Floor != "" {
			m.Floor = part + m.Floor
		}
		res.Metrics = append(res.Metrics, m)
	}
	for _, n := range ov.Notes {
		if !strings.HasPrefix(n, "eBPF") {
			n = "eBPF " + n
		}
		res.Notes = append(res.Notes, n)
	}
}

// exitRate runs tracecount raw=n and returns exits per second between its
// start and end marks.
func exitRate(sys *kvm.System, n int, hook func(vcpu, tid int, start bool)) (float64, error) {
	img, err := guestkit.Program("tracecount")
	if err != nil {
		return 0, err
	}
	var (
		mu    sync.Mutex
		marks = map[string]time.Time{}
	)
	m, err := vm.New(sys, vm.Config{Name: "tracecount", MemBytes: 16 << 20, VCPUs: 1, Kernel: img,
		Cmdline: fmt.Sprintf("tracecount hc=0 raw=%d", n), OnVCPUThread: hook,
		OnReport: func(r vm.Report) {
			if r.Kind == vm.ReportMark {
				mu.Lock()
				marks[r.Msg] = r.Time
				mu.Unlock()
			}
		}})
	if err != nil {
		return 0, err
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := m.Run(ctx)
	if err != nil {
		return 0, err
	}
	mu.Lock()
	defer mu.Unlock()
	d := marks["end"].Sub(marks["start"])
	if res.Reason != vm.ReasonPoweroff || d <= 0 {
		return 0, fmt.Errorf("tracecount ended with %s and no timed loop", res)
	}
	return float64(n) / d.Seconds(), nil
}
