package bench

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/xenolith/xenolith/bench/probe"
	"github.com/xenolith/xenolith/bench/stats"
	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
)

// Trace collects eBPF counters for the VMs of a suite run (--trace).
type Trace struct {
	tr    *probe.Tracer
	mu    sync.Mutex // protects names
	names map[string]probe.VMID
	start *probe.Snapshot
}

// StartTrace loads the probes. When eBPF cannot run here it returns an
// error wrapping probe.ErrUnavailable whose text is a one-line notice: the
// caller prints it and runs the suite without tracing.
func StartTrace() (*Trace, error) {
	tr, err := probe.Open(probe.Options{})
	if err != nil {
		return nil, err
	}
	s, err := tr.Snapshot()
	if err != nil {
		tr.Close()
		return nil, err
	}
	return &Trace{tr: tr, names: map[string]probe.VMID{}, start: s}, nil
}

// Hook returns the vm.Config.OnVCPUThread function for the VM called name.
// A nil Trace returns nil (no tracing).
func (t *Trace) Hook(name string) func(vcpu, tid int, start bool) {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	id, ok := t.names[name]
	if !ok {
		var err error
		if id, err = t.tr.AddVM(name); err != nil {
			return nil
		}
		t.names[name] = id
	}
	return t.tr.Hook(id)
}

// Stop detaches the probes and returns the counters since StartTrace as a
// per-VM table, notes naming the tracepoints used, and summary metrics.
func (t *Trace) Stop() ([]Metric, Table, []string, error) {
	defer t.tr.Close()
	end, err := t.tr.Snapshot()
	if err != nil {
		return nil, Table{}, nil, err
	}
	d := end.Sub(t.start)
	tab := Table{Title: "eBPF counters per VM", Columns: []string{"vm", "userspace exits", "port: monitor", "port: kernel",
		"mmio: kernel", "emulated insns", "MSIs", "halt wakeups", "monitor time p50 (ns, <=)", "monitor time p99 (ns, <=)", "run-queue p99 (ns, <=)"}}
	var exits, p99 []float64
	for _, id := range d.IDs() {
		v := d.VMs[id]
		c := &v.Total
		u := func(n uint64) string { return strconv.FormatUint(n, 10) }
		tab.Rows = append(tab.Rows, []string{v.Name, u(c.UserspaceExits()), u(c.PIOUser), u(c.PIOKernel), u(c.MMIOKernel),
			u(c.Emulations), u(c.Injections), u(c.Wakeups), u(uint64(v.Monitor.Percentile(0.5))),
			u(uint64(v.Monitor.Percentile(0.99))), u(uint64(v.RunQueue.Percentile(0.99)))})
		exits = append(exits, float64(c.UserspaceExits()))
		if v.Monitor.Count() > 0 {
			p99 = append(p99, float64(v.Monitor.Percentile(0.99)))
		}
	}
	var metrics []Metric
	if len(exits) > 0 {
		metrics = append(metrics, Metric{Name: "userspace exits per VM (eBPF)", Unit: "count", Summary: stats.Summarize(exits), Runs: exits})
	}
	if len(p99) > 0 {
		metrics = append(metrics, Metric{Name: "time in monitor per exit, p99 bucket bound per VM (eBPF)", Unit: "ns", Summary: stats.Summarize(p99), Runs: p99})
	}
	metrics = append(metrics, Metric{Name: "monitor non-vCPU thread CPU (eBPF)", Unit: "ns", Summary: stats.Summarize([]float64{float64(d.MonitorCPUNs)})})
	var notes []string
	for _, tp := range t.tr.Tracepoints() {
		if tp.Attached {
			notes = append(notes, fmt.Sprintf("eBPF: %s attached, fired %d times", tp.Name, tp.Fired))
		}
	}
	sort.Strings(notes)
	return metrics, tab, notes, nil
}

// TraceOverheadOptions configure TraceOverhead.
type TraceOverheadOptions struct {
	Runs  int // runs with and without probes, interleaved (default 5)
	Exits int // raw exits per run (default 200000)
}

// TraceOverhead measures the exit rate of an exit-heavy guest (tracecount
// raw=N: OUT to the raw-exit port at CPL3) with and without the probes
// attached, its vCPU thread registered, and reports the slowdown ratio.
func TraceOverhead(sys *kvm.System, o TraceOverheadOptions) (*Result, error) {
	if o.Runs == 0 {
		o.Runs = 5
	}
	if o.Exits == 0 {
		o.Exits = 200000
	}
	var off, on []float64
	for run := 0; run < o.Runs; run++ {
		r, err := exitRate(sys, o.Exits, nil)
		if err != nil {
			return nil, err
		}
		off = append(off, r)
		t, err := probe.Open(probe.Options{})
		if err != nil {
			return nil, err
		}
		id, err := t.AddVM("tracecount")
		if err == nil {
			r, err = exitRate(sys, o.Exits, t.Hook(id))
		}
		t.Close()
		if err != nil {
			return nil, err
		}
		on = append(on, r)
	}
	res := &Result{Suite: "trace-overhead", Config: o}
	mOff := Metric{Name: "exit rate without probes", Unit: "exits/s", Summary: stats.Summarize(off), Runs: off}
	mOn := Metric{Name: "exit rate with probes", Unit: "exits/s", Summary: stats.Summarize(on), Runs: on, Floor: mOff.Name}
	mOn.Ratio, mOn.RatioLo, mOn.RatioHi = stats.PairedRatio(on, off)
	res.Metrics = append(res.Metrics, mOff, mOn)
	res.Notes = append(res.Notes, fmt.Sprintf("probe overhead on the exit rate: %.1f%% (with/without %.3f)", (1-mOn.Ratio)*100, mOn.Ratio))
	return res, nil
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
