package bench

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/xenolith/xenolith/bench/probe"
	"github.com/xenolith/xenolith/bench/stats"
)

// maxVMRows bounds the per-VM rows of a trace table; the rest are
// summarised (the density step table and heatmaps show every VM).
const maxVMRows = 64

func u64(n uint64) string { return strconv.FormatUint(n, 10) }

// bound formats a histogram percentile (a bucket upper bound) for people.
func bound(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return "≤" + d.String()
}

// vmTables adds the per-VM tables (exits by reason, latencies) and the
// summary metrics of d to res.
func vmTables(res *Result, d *probe.Snapshot) {
	ids := d.IDs()
	// Exit reasons that occurred in any VM get a column each.
	var reasons []int
	for r := 0; r < probe.NumReasons; r++ {
		for _, id := range ids {
			if d.VMs[id].Total.Exits[r] != 0 {
				reasons = append(reasons, r)
				break
			}
		}
	}
	ex := Table{Title: "eBPF: userspace exits per VM by reason", Columns: []string{"vm", "vCPUs", "userspace exits"}}
	for _, r := range reasons {
		ex.Columns = append(ex.Columns, "exit: "+probe.ReasonName(r))
	}
	ex.Columns = append(ex.Columns, "KVM_RUN -EINTR (kicks)", "port: monitor", "port: kernel", "mmio: kernel",
		"emulated insns", "MSIs injected", "halt wakeups")
	lat := Table{Title: "eBPF: time in the monitor per exit and vCPU run-queue delay per VM", Columns: []string{"vm",
		"monitor time p50", "monitor time p90", "monitor time p99", "run-queue waits", "run-queue delay p50",
		"run-queue delay p99", "run-queue delay mean", "vCPU on-CPU"}}
	var exits, monP99, rqP50, rqP99 []float64
	for i, id := range ids {
		v := d.VMs[id]
		c := &v.Total
		exits = append(exits, float64(c.UserspaceExits()))
		if v.Monitor.Count() > 0 {
			monP99 = append(monP99, float64(v.Monitor.Percentile(0.99)))
		}
		if v.RunQueue.Count() > 0 {
			rqP50 = append(rqP50, float64(v.RunQueue.Percentile(0.5)))
			rqP99 = append(rqP99, float64(v.RunQueue.Percentile(0.99)))
		}
		if i >= maxVMRows {
			continue
		}
		row := []string{v.Name, strconv.Itoa(len(v.VCPUs)), u64(c.UserspaceExits())}
		for _, r := range reasons {
			row = append(row, u64(c.Exits[r]))
		}
		row = append(row, u64(c.ExitErrors), u64(c.PIOUser), u64(c.PIOKernel), u64(c.MMIOKernel),
			u64(c.Emulations), u64(c.Injections), u64(c.Wakeups))
		ex.Rows = append(ex.Rows, row)
		mean := "-"
		if c.RunQueueN > 0 {
			mean = time.Duration(c.RunQueueNs / c.RunQueueN).String()
		}
		lat.Rows = append(lat.Rows, []string{v.Name, bound(v.Monitor.Percentile(0.5)), bound(v.Monitor.Percentile(0.9)),
			bound(v.Monitor.Percentile(0.99)), u64(c.RunQueueN), bound(v.RunQueue.Percentile(0.5)),
			bound(v.RunQueue.Percentile(0.99)), mean, time.Duration(c.OnCPUNs).Round(time.Microsecond).String()})
	}
	if n := len(ids) - maxVMRows; n > 0 {
		more := fmt.Sprintf("(%d more VMs; see the metrics for the spread over all)", n)
		ex.Rows = append(ex.Rows, []string{more})
		lat.Rows = append(lat.Rows, []string{more})
	}
	if len(ids) == 0 {
		res.Notes = append(res.Notes, "eBPF: no vCPU thread was registered, so no per-VM counts")
	} else {
		res.Tables = append(res.Tables, ex, lat)
	}
	add := func(name, unit string, v []float64) {
		if len(v) > 0 {
			res.Metrics = append(res.Metrics, Metric{Name: name, Unit: unit, Summary: stats.Summarize(v), Runs: v})
		}
	}
	add("eBPF: userspace exits per VM", "count", exits)
	add("eBPF: time in monitor per exit p99 per VM (bucket bound)", "ns", monP99)
	add("eBPF: vCPU run-queue delay p50 per VM (bucket bound)", "ns", rqP50)
	add("eBPF: vCPU run-queue delay p99 per VM (bucket bound)", "ns", rqP99)
	res.Metrics = append(res.Metrics, Metric{Name: "eBPF: monitor non-vCPU thread CPU", Unit: "ns",
		Summary: stats.Summarize([]float64{float64(d.MonitorCPUNs)})})
}

// tracepointTable lists every event the probes know: whether the kernel
// has it, whether it was attached and how often it fired.
func tracepointTable(tps []probe.Tracepoint) Table {
	t := Table{Title: "eBPF: tracepoints used", Columns: []string{"event", "exists", "attached", "fired", "why not attached"}}
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	for _, tp := range tps {
		fired := "-"
		if tp.Attached {
			fired = u64(tp.Fired)
		}
		t.Rows = append(t.Rows, []string{tp.Name, yes(tp.Exists), yes(tp.Attached), fired, tp.Why})
	}
	return t
}

// crossCheck sets the eBPF exit counts beside the monitor's count of
// KVM_RUN returns and KVM's own statistics (fpu_reload: one per return from
// KVM_RUN on this kernel, interrupted ones included), per VM name, and notes
// disagreements.
func crossCheck(res *Result, d *probe.Snapshot, checks map[string]*exitCheck) {
	if len(checks) == 0 {
		return
	}
	byName := map[string]*probe.VMStats{}
	for _, v := range d.VMs {
		byName[v.Name] = v
	}
	var names []string
	for n := range checks {
		names = append(names, n)
	}
	sort.Strings(names)
	t := Table{Title: "eBPF against the monitor's and KVM's own counts", Columns: []string{"vm",
		"eBPF exits + kicks", "monitor: KVM_RUN returns", "eBPF userspace exits", "KVM stat fpu_reload", "agree"}}
	bad := 0
	for i, n := range names {
		c := checks[n]
		v := byName[n]
		var e, ek uint64
		if v != nil {
			e = v.Total.UserspaceExits()
			ek = e + v.Total.ExitErrors
		}
		agree := ek == c.monitor
		fpu := "-"
		if r, ok := c.kvm["fpu_reload"]; ok {
			fpu = u64(r)
			// KVM reloads the guest FPU on every return from KVM_RUN,
			// including those a signal interrupted (kicks, Go's preemption).
			agree = agree && r == ek
		}
		verdict := "yes"
		if !agree {
			verdict = "no"
			bad++
		}
		if i < maxVMRows || !agree {
			t.Rows = append(t.Rows, []string{n, u64(ek), u64(c.monitor), u64(e), fpu, verdict})
		}
	}
	res.Tables = append(res.Tables, t)
	if bad > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("eBPF cross-check: %d of %d VMs disagree with the monitor's or KVM's counts (see the table)", bad, len(names)))
	} else {
		res.Notes = append(res.Notes, fmt.Sprintf("eBPF cross-check: exit counts of all %d VMs agree with the monitor's count and KVM's fpu_reload statistic", len(names)))
	}
}
