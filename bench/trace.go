package bench

import (
	"errors"
	"fmt"
	"sync"

	"github.com/xenolith/xenolith/bench/probe"
	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
)

// Trace collects eBPF counters for the VMs of a suite run (--trace). A nil
// *Trace is valid and traces nothing, so suites call its methods
// unconditionally.
type Trace struct {
	tr    *probe.Tracer
	start *probe.Snapshot

	mu     sync.Mutex            // protects the fields below
	names  map[string]probe.VMID // VM name -> tracer id
	checks map[string]*exitCheck // VM name -> monitor and KVM counts
	live   map[string]int        // VM name -> vCPU threads running now
	steps  []traceStep           // density steps measured under the probes
	warned bool                  // a registration failure was noted
	notes  []string              // findings to carry into the record
}

// exitCheck is what the monitor and KVM's binary statistics counted for
// one VM (summed over its runs), to set beside the eBPF counts.
type exitCheck struct {
	monitor uint64            // KVM_RUN returns the monitor handled
	kvm     map[string]uint64 // KVM binary stats summed over vCPUs; nil if unread
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
	return &Trace{tr: tr, start: s, names: map[string]probe.VMID{}, checks: map[string]*exitCheck{}, live: map[string]int{}}, nil
}

// Hook returns the vm.Config.OnVCPUThread function for the VM called name;
// VMs given the same name are counted together. A nil Trace returns nil
// (no tracing).
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
			if !t.warned {
				t.warned = true
				t.notes = append(t.notes, fmt.Sprintf("eBPF: VM %q and later ones not traced: %v", name, err))
			}
			return nil
		}
		t.names[name] = id
	}
	hook := t.tr.Hook(id)
	return func(vcpu, tid int, start bool) {
		t.mu.Lock()
		if start {
			t.live[name]++
		} else if t.live[name]--; t.live[name] <= 0 {
			delete(t.live, name)
		}
		t.mu.Unlock()
		hook(vcpu, tid, start)
	}
}

// running returns the names of the VMs with a vCPU thread running now.
func (t *Trace) running() map[string]bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]bool, len(t.live))
	for n := range t.live {
		out[n] = true
	}
	return out
}

// Account adds what the monitor counted for a run of the VM called name
// (its KVM_RUN returns, and KVM's binary statistics summed over vCPUs, or
// nil) to the cross-check against the eBPF counts.
func (t *Trace) Account(name string, monitorExits uint64, kvmStats map[string]uint64) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.checks[name]
	if c == nil {
		c = &exitCheck{}
		t.checks[name] = c
	}
	c.monitor += monitorExits
	if kvmStats != nil {
		if c.kvm == nil {
			c.kvm = map[string]uint64{}
		}
		for k, v := range kvmStats {
			c.kvm[k] += v
		}
	}
}

// AccountVM accounts a VM that has stopped running and is not yet closed:
// its exit count and its vCPUs' KVM binary statistics.
func (t *Trace) AccountVM(name string, m *vm.VM) {
	if t == nil || m == nil {
		return
	}
	t.Account(name, m.Exits(), kvmStatsOf(m))
}

// kvmStatsOf sums the KVM binary statistics of every vCPU of m, or returns
// nil when the kernel offers none.
func kvmStatsOf(m *vm.VM) map[string]uint64 {
	var out map[string]uint64
	for i := 0; ; i++ {
		s, err := m.VCPUStats(i)
		if err != nil {
			return out
		}
		if out == nil {
			out = map[string]uint64{}
		}
		for k, v := range s {
			out[k] += v
		}
	}
}

// snapshot reads the counters now; nil without tracing or on error.
func (t *Trace) snapshot() *probe.Snapshot {
	if t == nil {
		return nil
	}
	s, err := t.tr.Snapshot()
	if err != nil {
		return nil
	}
	return s
}

// Stop detaches the probes and returns what they counted since StartTrace
// as a partial result: per-VM tables (exits by reason, time in the
// monitor, run-queue delay), the tracepoints used and how often they
// fired, the cross-check with the monitor's and KVM's own counts, density
// steps (table and heatmaps) when there were any, and summary metrics.
func (t *Trace) Stop() (*Result, error) {
	if t == nil {
		return nil, errors.New("trace: not started")
	}
	end, err := t.tr.Snapshot()
	tps := t.tr.Tracepoints()
	t.tr.Close()
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	d := end.Sub(t.start)
	t.mu.Lock()
	defer t.mu.Unlock()
	res := &Result{Suite: "trace"}
	vmTables(res, d)
	res.Tables = append(res.Tables, tracepointTable(tps))
	crossCheck(res, d, t.checks)
	stepResults(res, t.steps)
	res.Notes = append(res.Notes, t.notes...)
	res.Notes = append(res.Notes, "eBPF: percentiles of time in the monitor and run-queue delay are log2 bucket upper bounds (true value in (p/2, p])")
	return res, nil
}

// Finish stops the trace and adds its metrics, tables, curves and notes to
// res. A nil Trace does nothing.
func (t *Trace) Finish(res *Result) error {
	if t == nil || res == nil {
		return nil
	}
	tr, err := t.Stop()
	if err != nil {
		return err
	}
	res.Metrics = append(res.Metrics, tr.Metrics...)
	res.Tables = append(res.Tables, tr.Tables...)
	res.Curves = append(res.Curves, tr.Curves...)
	res.Notes = append(res.Notes, tr.Notes...)
	return nil
}

// run boots a guestkit program with its vCPU threads registered under
// name (when tracing) and accounts the monitor's exit count for the
// cross-check.
func (t *Trace) run(sys *kvm.System, name string, o guestkit.RunOptions) (*guestkit.Outcome, error) {
	if t == nil {
		return guestkit.Run(sys, o)
	}
	o.OnVCPUThread = t.Hook(name)
	out, err := guestkit.Run(sys, o)
	if err == nil {
		t.Account(name, out.Exits, nil)
	}
	return out, err
}

// Close detaches the probes without reading them, e.g. after a suite
// failed. A nil Trace or one already stopped is fine.
func (t *Trace) Close() {
	if t != nil {
		t.tr.Close()
	}
}
