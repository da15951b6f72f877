package bench

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/xenolith/xenolith/bench/probe"
	"github.com/xenolith/xenolith/bench/stats"
)

// KindHeatmap is a Curve kind: each series is one row of a heat map (a VM
// or a group of VMs), its points (x, value) the cells along the x axis.
const KindHeatmap = "heatmap"

// maxHeatRows bounds a heatmap's rows: more VMs are grouped.
const maxHeatRows = 40

// traceStep is what the probes saw during one density step's window.
type traceStep struct {
	search, vms int
	secs        float64
	perVM       []stepVM
}

// stepVM is one VM's figures in a step window.
type stepVM struct {
	name       string
	exitsPerS  float64
	rqWaits    uint64
	rqP50      float64 // ns, bucket bound
	rqP99      float64
	monitorP99 float64
}

// step records the per-VM figures between snapshots a and b, taken around
// a density step's measuring window with vms VMs running.
func (t *Trace) step(search, vms int, a, b *probe.Snapshot) {
	if t == nil || a == nil || b == nil {
		return
	}
	d := b.Sub(a)
	secs := b.Time.Sub(a.Time).Seconds()
	if secs <= 0 {
		return
	}
	st := traceStep{search: search, vms: vms, secs: secs}
	live := t.running()
	for _, id := range d.IDs() {
		v := d.VMs[id]
		c := &v.Total
		if !live[v.Name] {
			continue // gone before the window ended
		}
		st.perVM = append(st.perVM, stepVM{name: v.Name, exitsPerS: float64(c.UserspaceExits()) / secs,
			rqWaits: c.RunQueueN, rqP50: float64(v.RunQueue.Percentile(0.5)), rqP99: float64(v.RunQueue.Percentile(0.99)),
			monitorP99: float64(v.Monitor.Percentile(0.99))})
	}
	t.mu.Lock()
	t.steps = append(t.steps, st)
	t.mu.Unlock()
}

// stepResults adds the density steps: a table with per-VM figures
// (median and spread over VMs) per step, and heatmaps of exits/s and
// run-queue delay per VM (group) over the steps of the first search.
func stepResults(res *Result, steps []traceStep) {
	if len(steps) == 0 {
		return
	}
	t := Table{Title: "eBPF per density step: per-VM exits and run-queue delay (p50 [min, max] over VMs)",
		Columns: []string{"search", "VMs", "VMs seen", "exits/s per VM", "run-queue waits per VM",
			"run-queue delay p50 per VM", "run-queue delay p99 per VM", "monitor time p99 per VM"}}
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
	spread := func(xs []float64, f func(float64) string) string {
		if len(xs) == 0 {
			return "-"
		}
		s := append([]float64(nil), xs...)
		sort.Float64s(s)
		return fmt.Sprintf("%s [%s, %s]", f(stats.Percentile(s, 50)), f(s[0]), f(s[len(s)-1]))
	}
	ns := func(v float64) string { return fmtNs(v) }
	for _, st := range steps {
		var ex, waits, p50, p99, mon []float64
		for _, v := range st.perVM {
			ex = append(ex, v.exitsPerS)
			waits = append(waits, float64(v.rqWaits))
			if v.rqWaits > 0 {
				p50 = append(p50, v.rqP50)
				p99 = append(p99, v.rqP99)
			}
			if v.monitorP99 > 0 {
				mon = append(mon, v.monitorP99)
			}
		}
		t.Rows = append(t.Rows, []string{strconv.Itoa(st.search + 1), strconv.Itoa(st.vms), strconv.Itoa(len(st.perVM)),
			spread(ex, g), spread(waits, g), spread(p50, ns), spread(p99, ns), spread(mon, ns)})
	}
	res.Tables = append(res.Tables, t)
	res.Curves = append(res.Curves,
		heatmap("eBPF: userspace exits/s per VM at each density step", "exits/s", steps, func(v stepVM) (float64, bool) { return v.exitsPerS, true }),
		heatmap("eBPF: vCPU run-queue delay p99 per VM at each density step", "run-queue delay p99 (µs, bucket bound)", steps,
			func(v stepVM) (float64, bool) { return v.rqP99 / 1e3, v.rqWaits > 0 }))
}

// heatmap builds a KindHeatmap curve over the first search's steps: one
// row per VM, or per group of consecutive VMs (mean) when there are many.
func heatmap(name, unit string, steps []traceStep, val func(stepVM) (float64, bool)) Curve {
	var order []string
	seen := map[string]int{}
	for _, st := range steps {
		if st.search != 0 {
			continue
		}
		for _, v := range st.perVM {
			if _, ok := seen[v.name]; !ok {
				seen[v.name] = len(order)
				order = append(order, v.name)
			}
		}
	}
	per := (len(order) + maxHeatRows - 1) / max(maxHeatRows, 1)
	per = max(per, 1)
	nrows := (len(order) + per - 1) / per
	c := Curve{Name: name, Kind: KindHeatmap, XLabel: "VMs running (density step)", YLabel: "VM (creation order); colour: " + unit}
	rows := make([]Series, nrows)
	for r := range rows {
		lo, hi := r*per, min((r+1)*per, len(order))-1
		rows[r].Label = order[lo]
		if hi > lo {
			rows[r].Label = order[lo] + "–" + order[hi]
		}
	}
	// Steps measured twice at the same count (bisection) keep the last.
	type cell struct{ sum, n float64 }
	cells := map[[2]int]*cell{}
	var xs []int
	xseen := map[int]bool{}
	for _, st := range steps {
		if st.search != 0 {
			continue
		}
		if !xseen[st.vms] {
			xseen[st.vms] = true
			xs = append(xs, st.vms)
		}
		for r := 0; r < nrows; r++ {
			delete(cells, [2]int{r, st.vms})
		}
		for _, v := range st.perVM {
			y, ok := val(v)
			if !ok {
				continue
			}
			k := [2]int{seen[v.name] / per, st.vms}
			if cells[k] == nil {
				cells[k] = &cell{}
			}
			cells[k].sum += y
			cells[k].n++
		}
	}
	sort.Ints(xs)
	for r := range rows {
		for _, x := range xs {
			if cl := cells[[2]int{r, x}]; cl != nil && cl.n > 0 {
				rows[r].Points = append(rows[r].Points, [2]float64{float64(x), cl.sum / cl.n})
			}
		}
	}
	c.Series = rows
	return c
}

// fmtNs formats nanoseconds for people.
func fmtNs(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2fs", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2fms", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fµs", v/1e3)
	}
	return fmt.Sprintf("%.0fns", v)
}
