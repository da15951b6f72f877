package bench

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/xenolith/xenolith/bench/stats"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/mem"
)

// DensityOptions configure a density search.
type DensityOptions struct {
	Profile       *Profile      `json:"profile"`
	Max           int           `json:"max"`             // most VMs to try
	Step          int           `json:"step"`            // VMs added per ramp step
	Searches      int           `json:"searches"`        // repeated searches, for an interval
	Window        time.Duration `json:"window_ns"`       // measuring window at each step
	MemReserveMiB uint64        `json:"mem_reserve_mib"` // stop when the host has less available
	KSM           bool          `json:"ksm"`             // merge identical guest pages, then measure again
	KSMSettle     time.Duration `json:"ksm_settle_ns"`
	Progress      io.Writer     `json:"-"`
}

// DensityStep is what one step of a search measured.
type DensityStep struct {
	Search, VMs      int
	SLOValue         float64 // boot p99 (ms) or slowest rate fraction
	SLOOK            bool
	CreateP50Ms      float64 // creation to main of the VMs created in this step
	CreateP99Ms      float64
	RateP50, RateMin float64 // work units/s per VM (rate probe)
	HostCPU          float64 // cores used by this process
	ExitsPerSec      float64
	RSSPerVM         float64 // bytes, from the process
	PSSPerVM         float64
	KernelPerVM      float64 // bytes: slab + page tables + kernel stacks + vmalloc
	VmallocPerVM     float64
	SlabPerVM        float64
	PageTablesPerVM  float64
	KernelStackPerVM float64
	Threads, FDs     uint64
	MapsPerVM        float64 // process memory mappings added per VM
}

// errLimit names a host limit that stopped a search.
type errLimit struct{ what string }

func (e *errLimit) Error() string { return e.what }

// Density ramps VMs of a profile in one process until the SLO breaks, the
// host runs out of a resource or Max is reached, then bisects near the
// knee; it repeats the search and reports "N VMs at SLO" with an interval,
// the limiting resource, and curves of everything measured on the way.
func Density(sys *kvm.System, o DensityOptions) (*Result, error) {
	p := o.Profile
	if p.Requires != "" {
		return nil, fmt.Errorf("profile %s needs %s, which this build does not have yet", p.Name, p.Requires)
	}
	if o.Max == 0 {
		o.Max = 64
		if p.Probe == "boot" {
			o.Max = 1000
		}
	}
	if o.Step == 0 {
		o.Step = max(1, o.Max/10)
	}
	if o.Searches == 0 {
		o.Searches = 1
	}
	if o.Window == 0 {
		o.Window = time.Second
	}
	if o.MemReserveMiB == 0 {
		o.MemReserveMiB = 1024
	}
	if o.KSMSettle == 0 {
		o.KSMSettle = 20 * time.Second
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	raiseLimits(o.Max)
	res := &Result{Suite: "density", Config: o}
	var steps []DensityStep
	var found []float64
	var allBoots []bootSample
	var limitNote string
	var searchNotes []string
	start := time.Now()
	var solo float64
	for search := 0; search < o.Searches; search++ {
		f, err := newFleet(sys, p, mem.Options{Mergeable: o.KSM})
		if err != nil {
			return nil, err
		}
		base := SampleHost()
		measure := func(target int) (DensityStep, error) {
			st := DensityStep{Search: search, VMs: target}
			for len(f.members) > target {
				f.remove(len(f.members) - target)
			}
			first := len(f.boots)
			for len(f.members) < target {
				if err := checkLimits(o, base); err != nil {
					return st, err
				}
				if err := f.add(); err != nil {
					return st, err
				}
				if len(f.members)%50 == 0 {
					el := time.Since(start)
					fmt.Fprintf(progress, "density: search %d/%d, %d VMs running, elapsed %s\n", search+1, o.Searches, len(f.members), el.Round(time.Second))
				}
			}
			var boot []float64
			for _, b := range f.boots[first:] {
				boot = append(boot, float64(b.Boot)/1e6)
			}
			if len(boot) > 0 {
				s := stats.Summarize(boot)
				st.CreateP50Ms, st.CreateP99Ms = s.P50, s.P99
			}
			h0, e0 := SampleHost(), f.exits()
			var rates []float64
			if p.Probe == "rate" {
				rates = f.rates(o.Window)
			} else {
				time.Sleep(o.Window)
			}
			h1, e1 := SampleHost(), f.exits()
			el := h1.Time.Sub(h0.Time).Seconds()
			st.HostCPU = float64(h1.CPU-h0.CPU) / 1e9 / el
			st.ExitsPerSec = float64(e1-e0) / el
			n := float64(max(target, 1))
			st.RSSPerVM = float64(h1.RSS-min(h1.RSS, base.RSS)) / n
			st.PSSPerVM = float64(h1.PSS-min(h1.PSS, base.PSS)) / n
			st.SlabPerVM = (float64(h1.Slab) - float64(base.Slab)) / n
			st.PageTablesPerVM = (float64(h1.PageTables) - float64(base.PageTables)) / n
			st.KernelStackPerVM = (float64(h1.KernelStack) - float64(base.KernelStack)) / n
			// MemFree moves with the page cache and other processes, so the
			// kernel's share is counted from the allocations a VM causes.
			st.VmallocPerVM = (float64(h1.Vmalloc) - float64(base.Vmalloc)) / n
			st.KernelPerVM = st.SlabPerVM + st.PageTablesPerVM + st.KernelStackPerVM + st.VmallocPerVM
			st.Threads, st.FDs = h1.Threads, h1.FDs
			st.MapsPerVM = (float64(h1.Maps) - float64(base.Maps)) / n
			switch p.Probe {
			case "boot":
				st.SLOValue = st.CreateP99Ms
				st.SLOOK = len(boot) == 0 || st.CreateP99Ms <= p.SLO.BootP99Ms
			case "rate":
				if len(rates) > 0 {
					sort.Float64s(rates)
					st.RateMin, st.RateP50 = rates[0], stats.Percentile(rates, 50)
					if solo == 0 && target == 1 {
						solo = rates[0]
					}
					if solo > 0 {
						st.SLOValue = st.RateMin / solo
					}
				}
				st.SLOOK = solo > 0 && st.SLOValue >= p.SLO.MinRateFraction
			}
			steps = append(steps, st)
			return st, nil
		}
		good, bad := 0, 0
		var stopErr error
		targets := []int{1}
		for n := o.Step; n <= o.Max; n += o.Step {
			if n > 1 {
				targets = append(targets, n)
			}
		}
		if targets[len(targets)-1] != o.Max {
			targets = append(targets, o.Max)
		}
		for _, n := range targets {
			st, err := measure(n)
			if err != nil {
				stopErr = err
				bad = len(f.members) + 1
				break
			}
			if !st.SLOOK {
				bad = n
				break
			}
			good = n
		}
		// Bisect between the last good and the first bad count.
		for stopErr == nil && bad > 0 && bad-good > max(1, o.Step/16) {
			mid := (good + bad) / 2
			st, err := measure(mid)
			if err != nil {
				stopErr = err
				break
			}
			if st.SLOOK {
				good = mid
			} else {
				bad = mid
			}
		}
		switch {
		case stopErr != nil:
			var le *errLimit
			if errors.As(stopErr, &le) {
				limitNote = "stopped by a host limit: " + le.what
			} else {
				limitNote = "stopped by an error: " + stopErr.Error()
			}
		case bad > 0:
			limitNote = fmt.Sprintf("stopped by the SLO (%s) at %d VMs", sloText(p), bad)
		default:
			limitNote = fmt.Sprintf("reached --max %d VMs within the SLO (%s); the host limit lies beyond", o.Max, sloText(p))
		}
		if o.KSM && search == o.Searches-1 {
			if note := ksmPass(f, o, base); note != "" {
				res.Notes = append(res.Notes, note)
			}
		}
		found = append(found, float64(good))
		allBoots = append(allBoots, f.boots...)
		fmt.Fprintf(progress, "density: search %d/%d found %d VMs at SLO (%s)\n", search+1, o.Searches, good, limitNote)
		searchNotes = append(searchNotes, fmt.Sprintf("search %d: %d VMs at SLO; %s", search+1, good, limitNote))
		f.close()
	}
	res.Notes = append(searchNotes, res.Notes...)
	densityMetrics(res, p, found, steps, allBoots)
	densityCurves(res, p, steps, allBoots)
	return res, nil
}

func sloText(p *Profile) string {
	switch p.Probe {
	case "boot":
		return fmt.Sprintf("creation-to-main p99 <= %g ms", p.SLO.BootP99Ms)
	case "rate":
		return fmt.Sprintf("slowest VM's rate >= %g of one VM alone", p.SLO.MinRateFraction)
	}
	return p.Probe
}

// densityMetrics summarises a search in metrics.
func densityMetrics(res *Result, p *Profile, found []float64, steps []DensityStep, boots []bootSample) {
	s := stats.Summarize(found)
	res.Metrics = append(res.Metrics, Metric{Name: "VMs at SLO (" + p.Name + ")", Unit: "VMs", Summary: s, Runs: found})
	// The largest fleet's memory per VM (the last step of the last search
	// with the most VMs).
	var top DensityStep
	for _, st := range steps {
		if st.VMs >= top.VMs {
			top = st
		}
	}
	one := func(name, unit string, v float64) {
		res.Metrics = append(res.Metrics, Metric{Name: name, Unit: unit, Summary: stats.Summarize([]float64{v}), Runs: []float64{v}})
	}
	// Names without the count, so records that stopped at different
	// counts still compare; the count is in a note.
	res.Notes = append(res.Notes, fmt.Sprintf("per-VM figures are for the largest fleet measured: %d VMs", top.VMs))
	one("process RSS per VM, largest fleet", "bytes", top.RSSPerVM)
	one("process PSS per VM, largest fleet", "bytes", top.PSSPerVM)
	one("kernel memory per VM, largest fleet (slab, page tables, stacks, vmalloc)", "bytes", top.KernelPerVM)
	one("host CPU, largest fleet", "cores", top.HostCPU)
	one("exits/s, largest fleet", "exits/s", top.ExitsPerSec)
	one("memory mappings per VM, largest fleet", "count", top.MapsPerVM)
	// Creation latency with few and with many VMs running.
	if len(boots) > 0 {
		maxRun := 0
		for _, b := range boots {
			maxRun = max(maxRun, b.Running)
		}
		var low, high []float64
		for _, b := range boots {
			ms := float64(b.Boot) / 1e6
			if b.Running < 20 {
				low = append(low, ms*1e6)
			}
			if maxRun >= 40 && b.Running >= maxRun-20 {
				high = append(high, ms*1e6)
			}
		}
		if len(low) > 0 {
			res.Metrics = append(res.Metrics, Metric{Name: "VM creation to main, <20 VMs running", Unit: "ns", Summary: stats.Summarize(low), Samples: low, Runs: batchMedians(low, batchSize(len(low)))})
		}
		if len(high) > 0 {
			m := Metric{Name: "VM creation to main, largest fleet (last 20 VMs)", Unit: "ns", Summary: stats.Summarize(high), Samples: high, Runs: batchMedians(high, batchSize(len(high)))}
			if len(low) > 0 {
				m.Floor = "VM creation to main, <20 VMs running"
				m.Ratio = stats.Percentile(sorted(high), 99) / stats.Percentile(sorted(low), 99)
				m.RatioLo, m.RatioHi = m.Ratio, m.Ratio
			}
			res.Metrics = append(res.Metrics, m)
		}
	}
}

func sorted(xs []float64) []float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s
}

// densityCurves builds the charts of a search.
func densityCurves(res *Result, p *Profile, steps []DensityStep, boots []bootSample) {
	bySearch := map[int][][2]float64{}
	var cpu, exits []([2]float64)
	var rss, kern, slab, pt []([2]float64)
	for _, st := range steps {
		bySearch[st.Search] = append(bySearch[st.Search], [2]float64{float64(st.VMs), st.SLOValue})
		// Per-step charts of one search only (the last): stacking or
		// joining several searches' steps at the same x would add them up.
		// The one-VM step is left out: the Go runtime's start-up dominates it.
		if st.Search != steps[len(steps)-1].Search || st.VMs < 2 {
			continue
		}
		cpu = append(cpu, [2]float64{float64(st.VMs), st.HostCPU})
		exits = append(exits, [2]float64{float64(st.VMs), st.ExitsPerSec})
		rss = append(rss, [2]float64{float64(st.VMs), st.RSSPerVM / 1024})
		kern = append(kern, [2]float64{float64(st.VMs), math.Max(0, st.VmallocPerVM) / 1024})
		slab = append(slab, [2]float64{float64(st.VMs), st.SlabPerVM / 1024})
		pt = append(pt, [2]float64{float64(st.VMs), (st.PageTablesPerVM + st.KernelStackPerVM) / 1024})
	}
	for _, pts := range [][][2]float64{cpu, exits, rss, kern, slab, pt} {
		sort.Slice(pts, func(a, b int) bool { return pts[a][0] < pts[b][0] })
	}
	sloCurve := Curve{Name: "density: SLO metric vs VMs running", Kind: "line", XLabel: "VMs running"}
	switch p.Probe {
	case "boot":
		sloCurve.YLabel = "creation-to-main p99 (ms)"
		sloCurve.HLines = []HLine{{Label: "SLO", Y: p.SLO.BootP99Ms}}
	case "rate":
		sloCurve.YLabel = "slowest VM rate / one VM alone"
		sloCurve.HLines = []HLine{{Label: "SLO", Y: p.SLO.MinRateFraction}}
	}
	for i := 0; i < len(bySearch); i++ {
		pts := bySearch[i]
		sort.Slice(pts, func(a, b int) bool { return pts[a][0] < pts[b][0] })
		sloCurve.Series = append(sloCurve.Series, Series{Label: fmt.Sprintf("search %d", i+1), Points: pts})
	}
	if len(res.Metrics) > 0 && res.Metrics[0].Unit == "VMs" {
		sloCurve.VLines = []HLine{{Label: "stop (median)", Y: res.Metrics[0].Summary.P50}}
	}
	res.Curves = append(res.Curves, sloCurve)
	var create [][2]float64
	var cdf [][2]float64
	var bootMs []float64
	for _, b := range boots {
		create = append(create, [2]float64{float64(b.Running), float64(b.Boot) / 1e6})
		bootMs = append(bootMs, float64(b.Boot)/1e6)
	}
	sort.Float64s(bootMs)
	for i, v := range bootMs {
		cdf = append(cdf, [2]float64{v, float64(i+1) / float64(len(bootMs))})
	}
	res.Curves = append(res.Curves,
		Curve{Name: "VM creation latency vs VMs running", Kind: "line", XLabel: "VMs already running", YLabel: "creation to main (ms)",
			Series: []Series{{Label: "each VM", Points: create}}},
		Curve{Name: "memory per VM (last search)", Kind: "stacked", XLabel: "VMs running", YLabel: "KiB per VM",
			Series: []Series{{Label: "process RSS", Points: rss}, {Label: "slab", Points: slab}, {Label: "page tables + kernel stacks", Points: pt}, {Label: "vmalloc", Points: kern}}},
		Curve{Name: "boot time CDF", Kind: "cdf", XLabel: "creation to main (ms)", YLabel: "fraction of VMs",
			Series: []Series{{Label: "all VMs", Points: cdf}}},
		Curve{Name: "host CPU and exits vs VMs running", Kind: "line", XLabel: "VMs running", YLabel: "cores / (exits/s / 1000)",
			Series: []Series{{Label: "host CPU (cores)", Points: cpu}, {Label: "exits/s (thousands)", Points: scaleY(exits, 1e-3)}}},
	)
}

func scaleY(pts [][2]float64, k float64) [][2]float64 {
	out := make([][2]float64, len(pts))
	for i, p := range pts {
		out[i] = [2]float64{p[0], p[1] * k}
	}
	return out
}

// raiseLimits lifts the process limits a large fleet needs: open files to
// the hard limit, Go's thread cap (each VM holds a vCPU thread and KVM adds
// a worker thread to the process).
func raiseLimits(maxVMs int) {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && rl.Cur < rl.Max {
		rl.Cur = rl.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	if want := 4*maxVMs + 1000; want > 10000 {
		debug.SetMaxThreads(want)
	}
}

// checkLimits refuses to add a VM when a host limit would break, naming it.
func checkLimits(o DensityOptions, base HostSample) error {
	h := SampleHost()
	if h.MemAvail>>20 < o.MemReserveMiB+uint64(o.Profile.MemMiB)/4 {
		return &errLimit{fmt.Sprintf("host memory (MemAvailable %d MiB, reserve %d MiB)", h.MemAvail>>20, o.MemReserveMiB)}
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && h.FDs+16 > rl.Cur {
		return &errLimit{fmt.Sprintf("RLIMIT_NOFILE (%d open of %d)", h.FDs, rl.Cur)}
	}
	if pm := readUint("/proc/sys/kernel/pid_max"); pm > 0 && countTasks()+8 > pm {
		return &errLimit{fmt.Sprintf("kernel.pid_max (%d)", pm)}
	}
	if tm := readUint("/proc/sys/kernel/threads-max"); tm > 0 && countTasks()+8 > tm {
		return &errLimit{fmt.Sprintf("kernel.threads-max (%d)", tm)}
	}
	if mm := readUint("/proc/sys/vm/max_map_count"); mm > 0 {
		if b, err := os.ReadFile("/proc/self/maps"); err == nil && uint64(strings.Count(string(b), "\n"))+16 > mm {
			return &errLimit{fmt.Sprintf("vm.max_map_count (%d)", mm)}
		}
	}
	return nil
}

// countTasks counts the host's threads (for pid_max and threads-max).
func countTasks() uint64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 4 {
		return 0
	}
	_, total, ok := strings.Cut(f[3], "/")
	if !ok {
		return 0
	}
	var n uint64
	fmt.Sscan(total, &n)
	return n
}

// ksmPass turns KSM on (root only), lets it merge the fleet's identical
// guest pages, and reports memory per VM before and after.
func ksmPass(f *fleet, o DensityOptions, base HostSample) string {
	const k = "/sys/kernel/mm/ksm/"
	old := map[string]string{}
	for _, name := range []string{"run", "pages_to_scan", "sleep_millisecs"} {
		b, err := os.ReadFile(k + name)
		if err != nil {
			return "KSM: not available (" + err.Error() + ")"
		}
		old[name] = strings.TrimSpace(string(b))
	}
	before := SampleHost()
	for name, v := range map[string]string{"pages_to_scan": "20000", "sleep_millisecs": "10", "run": "1"} {
		if err := os.WriteFile(k+name, []byte(v), 0); err != nil {
			return "KSM: cannot enable (" + err.Error() + ")"
		}
	}
	fmt.Fprintf(progressOr(o.Progress), "density: KSM on, settling %s\n", o.KSMSettle)
	time.Sleep(o.KSMSettle)
	after := SampleHost()
	sharing := readUint(k + "pages_sharing")
	for name, v := range old {
		os.WriteFile(k+name, []byte(v), 0)
	}
	n := float64(max(len(f.members), 1))
	return fmt.Sprintf("KSM after %s with %d VMs: host memory in use per VM %.0f KiB -> %.0f KiB (pages_sharing %d)",
		o.KSMSettle, len(f.members), (float64(base.MemFree)-float64(before.MemFree))/n/1024, (float64(base.MemFree)-float64(after.MemFree))/n/1024, sharing)
}

func progressOr(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
