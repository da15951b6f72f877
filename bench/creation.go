package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/xenolith/xenolith/bench/stats"
	"github.com/xenolith/xenolith/hv/vm"
)

// Creation latency against VMs running. The ramp's own boot times come
// from the VMs that make up the fleet: few per step, the first creation of
// the process among them. This measurement holds the fleet at a fixed size
// and creates, runs to main and destroys one extra VM of the profile's
// shape many times, at a low count (after warm-up) and at the largest
// count the ramp reached, so that the two ends compare like with like.

// Defaults of the creation-latency cycles.
const (
	defaultCreateCycles = 100                   // cycles per level (DensityOptions.CreateCycles)
	defaultCreateLow    = 10                    // VMs running at the low level (DensityOptions.CreateLow)
	createWarmup        = 5                     // cycles run and discarded before each level
	defaultCreateGap    = 20 * time.Millisecond // pause before each cycle (DensityOptions.CreateGap)
	cycleTimeout        = 60 * time.Second
)

// creationLevel is what the cycles at one fleet size measured.
type creationLevel struct {
	Running int          // VMs running while the extra VM was created
	Boot    []float64    // creation to main of each cycle, ns
	KVMVM   []float64    // the kernel phase of each creation (CreateBreakdown.KVMVM), ns
	Spares  int          // cycles whose KVM VM came ready-made from the spare pool
	Phases  [5][]float64 // Memory, Load, KVMVM, VCPUs and PV of each creation, ns
	Err     error        // why the level stopped early, if it did
}

// cycleVM creates one VM of the fleet's shape that is not a member (no
// devices: only creation to main is timed), waits for its guest to reach
// main, then stops and releases it. It returns creation to main and where
// the creation time went.
func (f *fleet) cycleVM() (time.Duration, vm.CreateBreakdown, error) {
	prog, args := programOf(f.prof, len(f.members))
	dom := f.nextDom
	f.nextDom++
	if f.nextDom >= 0x7ff0 {
		f.nextDom = 1
	}
	if f.net != nil {
		args = strings.TrimSpace(args + " " + netProbeArgs(dom))
	}
	mainc := make(chan time.Time, 1)
	var once sync.Once
	m, err := vm.New(f.sys, vm.Config{
		Name: fmt.Sprintf("c%d", dom), DomID: dom, MemBytes: uint64(f.prof.MemMiB) << 20, VCPUs: f.prof.VCPUs,
		Kernel: f.images[prog], Cmdline: prog + " " + args, Hub: f.hub, Store: f.store, Memory: f.memOpts,
		OnReport: func(r vm.Report) {
			if r.Kind == vm.ReportMark && r.Msg == "main" {
				once.Do(func() { mainc <- r.Time })
			}
		},
	})
	if err != nil {
		return 0, vm.CreateBreakdown{}, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(context.Background())
	}()
	var boot time.Duration
	select {
	case t := <-mainc:
		boot = t.Sub(m.Created())
	case <-done:
		select { // a guest may end right after main: both are ready then
		case t := <-mainc:
			boot = t.Sub(m.Created())
		default:
			err = fmt.Errorf("VM %d ended before reaching main", dom)
		}
	case <-time.After(cycleTimeout):
		err = fmt.Errorf("VM %d did not reach main within %v", dom, cycleTimeout)
	}
	m.Stop()
	<-done
	bd := m.Breakdown()
	m.Close()
	return boot, bd, err
}

// creationCycles measures k cycles with the fleet as it is, after
// createWarmup discarded ones, pausing gap before each.
func (f *fleet) creationCycles(k int, gap time.Duration, status func(done int)) creationLevel {
	lv := creationLevel{Running: f.size()}
	for i := 0; i < createWarmup+k; i++ {
		time.Sleep(gap)
		boot, bd, err := f.cycleVM()
		if err != nil {
			lv.Err = err
			return lv
		}
		if i < createWarmup {
			continue
		}
		lv.Boot = append(lv.Boot, float64(boot))
		lv.KVMVM = append(lv.KVMVM, float64(bd.KVMVM))
		for j, d := range []time.Duration{bd.Memory, bd.Load, bd.KVMVM, bd.VCPUs, bd.PV} {
			lv.Phases[j] = append(lv.Phases[j], float64(d))
		}
		if bd.Spare {
			lv.Spares++
		}
		if status != nil {
			status(i - createWarmup + 1)
		}
	}
	return lv
}

// Names of the creation-cycle metrics (without counts, so records that
// reached different fleet sizes still compare; the counts are in notes).
const (
	cycleLowName      = "VM creation to main, few VMs running (create-destroy cycles)"
	cycleHighName     = "VM creation to main, largest fleet (create-destroy cycles)"
	cycleLowP99Name   = "VM creation to main p99, few VMs running (create-destroy cycles)"
	cycleHighP99Name  = "VM creation to main p99, largest fleet (create-destroy cycles)"
	cycleLowKernName  = "VM creation kernel phase (KVM VM), few VMs running (cycles)"
	cycleHighKernName = "VM creation kernel phase (KVM VM), largest fleet (cycles)"
	// creationCurveName is the chart the cycles' p50 and p99 join
	// (densityCurves draws it with every fleet VM's creation).
	creationCurveName = "VM creation latency vs VMs running"
)

// creationMetrics adds the cycles' figures to a density result: p50 and
// p99 at both levels, the high level's ratios to the low one with 95%
// bootstrap intervals, the kernel phase at both levels, notes, and the
// cycles' p50 and p99 on the creation-latency chart (call it after
// densityCurves).
func creationMetrics(res *Result, low, high *creationLevel) {
	add := func(name string, xs []float64) {
		res.Metrics = append(res.Metrics, Metric{Name: name, Unit: "ns", Summary: stats.Summarize(xs), Samples: xs, Runs: batchMedians(xs, batchSize(len(xs)))})
	}
	one := func(name string, v float64) {
		res.Metrics = append(res.Metrics, Metric{Name: name, Unit: "ns", Summary: stats.Summarize([]float64{v}), Runs: []float64{v}})
	}
	note := func(lv *creationLevel, which string) {
		if lv == nil {
			return
		}
		s := fmt.Sprintf("creation cycles, %s: %d VMs running, %d cycles after %d warm-up, %d took a spare KVM VM", which, lv.Running, len(lv.Boot), createWarmup, lv.Spares)
		if lv.Spares < len(lv.Boot) {
			s += " (the others built theirs on the creation path)"
		}
		if len(lv.Boot) > 0 {
			b, k := stats.Summarize(lv.Boot), stats.Summarize(lv.KVMVM)
			s += fmt.Sprintf("; creation to main p50 %.2f ms, p99 %.2f ms; kernel phase p50 %.3f ms, p99 %.3f ms", b.P50/1e6, b.P99/1e6, k.P50/1e6, k.P99/1e6)
			s += "; phase p50s (ms):"
			var sum float64
			for j, name := range []string{"memory", "load", "KVM VM", "vCPUs", "PV"} {
				m := stats.Median(lv.Phases[j])
				sum += m
				s += fmt.Sprintf(" %s %.3f", name, m/1e6)
			}
			s += fmt.Sprintf(", guest boot to main (the rest) about %.3f", (b.P50-sum)/1e6)
		}
		if lv.Err != nil {
			s += "; stopped early: " + lv.Err.Error()
		}
		res.Notes = append(res.Notes, s)
	}
	note(low, "few VMs running")
	note(high, "largest fleet")
	for i := range res.Curves {
		if res.Curves[i].Name == creationCurveName {
			res.Curves[i].Series = append(res.Curves[i].Series, creationSeries(low, high)...)
		}
	}
	if low != nil && len(low.Boot) > 0 {
		add(cycleLowName, low.Boot)
		one(cycleLowP99Name, stats.Percentile(sorted(low.Boot), 99))
		add(cycleLowKernName, low.KVMVM)
	}
	if high == nil || len(high.Boot) == 0 {
		return
	}
	add(cycleHighName, high.Boot)
	one(cycleHighP99Name, stats.Percentile(sorted(high.Boot), 99))
	add(cycleHighKernName, high.KVMVM)
	if low == nil || len(low.Boot) == 0 {
		return
	}
	n := len(res.Metrics)
	hb, hp, hk := &res.Metrics[n-3], &res.Metrics[n-2], &res.Metrics[n-1]
	hb.Floor = cycleLowName
	hb.Ratio, hb.RatioLo, hb.RatioHi = stats.PercentileRatioCI(high.Boot, low.Boot, 50, 2000)
	hp.Floor = cycleLowP99Name
	hp.Ratio, hp.RatioLo, hp.RatioHi = stats.PercentileRatioCI(high.Boot, low.Boot, 99, 2000)
	hk.Floor = cycleLowKernName
	hk.Ratio, hk.RatioLo, hk.RatioHi = stats.PercentileRatioCI(high.KVMVM, low.KVMVM, 50, 2000)
	res.Notes = append(res.Notes, fmt.Sprintf("creation to main, %d vs %d VMs running: p99 ratio %.2f [%.2f, %.2f], p50 ratio %.2f [%.2f, %.2f] (95%% bootstrap intervals)",
		high.Running, low.Running, hp.Ratio, hp.RatioLo, hp.RatioHi, hb.Ratio, hb.RatioLo, hb.RatioHi))
}

// creationSeries are the cycles' p50 and p99 against VMs running, for the
// creation-latency chart.
func creationSeries(levels ...*creationLevel) []Series {
	var p50, p99 [][2]float64
	for _, lv := range levels {
		if lv == nil || len(lv.Boot) == 0 {
			continue
		}
		s := sorted(lv.Boot)
		p50 = append(p50, [2]float64{float64(lv.Running), stats.Percentile(s, 50) / 1e6})
		p99 = append(p99, [2]float64{float64(lv.Running), stats.Percentile(s, 99) / 1e6})
	}
	if len(p50) == 0 {
		return nil
	}
	return []Series{{Label: "create-destroy cycles p50", Points: p50}, {Label: "create-destroy cycles p99", Points: p99}}
}

// runCycles measures a creation level on an in-process fleet (nil for
// other fleets or when the cycles are off).
func runCycles(f vmFleet, o DensityOptions, progress *Progress) *creationLevel {
	fl, ok := f.(*fleet)
	if !ok || o.CreateCycles < 0 {
		return nil
	}
	lv := fl.creationCycles(o.CreateCycles, o.CreateGap, func(done int) {
		progress.Status(fmt.Sprintf("density %s: creation cycles with %d VMs running, %d/%d", o.Profile.Name, fl.size(), done, o.CreateCycles), fl.size(), -1)
	})
	return &lv
}
