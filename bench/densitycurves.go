package bench

import (
	"fmt"
	"math"
	"sort"

	"github.com/xenolith/xenolith/bench/stats"
)

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
	if p.Probe == "blk" {
		one("block read p50, largest fleet", "ns", top.BlkP50Ms*1e6)
		one("block read p99, largest fleet", "ns", top.BlkP99Ms*1e6)
		one("reads/s of the slowest VM, largest fleet", "ops/s", top.RateMin)
	}
	if p.Probe == "net" {
		one("UDP request/response p50, largest fleet", "ns", top.NetP50Ms*1e6)
		one("UDP request/response p99, largest fleet", "ns", top.NetP99Ms*1e6)
		one("UDP requests unanswered, largest fleet", "fraction", top.NetLost)
		one("requests/s of the slowest VM, largest fleet", "ops/s", top.RateMin)
	}
	// Creation latency of the fleet's own VMs with few and with many
	// running. No ratio: about 20 samples at each end, the process's first
	// creation among them, make a p99 ratio the ratio of two outliers; the
	// create-destroy cycles (creation.go) carry the comparison.
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
			res.Metrics = append(res.Metrics, Metric{Name: "VM creation to main, largest fleet (last 20 VMs)", Unit: "ns", Summary: stats.Summarize(high), Samples: high, Runs: batchMedians(high, batchSize(len(high)))})
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
	var tputMed, tputMin [][2]float64
	for _, st := range steps {
		if st.Search == steps[len(steps)-1].Search && (p.Probe == "rate" || p.Probe == "blk" || p.Probe == "net") {
			tputMed = append(tputMed, [2]float64{float64(st.VMs), st.RateP50})
			tputMin = append(tputMin, [2]float64{float64(st.VMs), st.RateMin})
		}
	}
	for _, pts := range [][][2]float64{cpu, exits, rss, kern, slab, pt, tputMed, tputMin} {
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
	case "blk":
		sloCurve.YLabel = "block read p99, all VMs (ms)"
		sloCurve.HLines = []HLine{{Label: "SLO", Y: p.SLO.BlkReadP99Ms}}
	case "net":
		sloCurve.YLabel = "UDP request/response p99, all VMs (ms)"
		sloCurve.HLines = []HLine{{Label: "SLO", Y: p.SLO.NetRTTP99Ms}}
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
	if len(tputMed) > 0 {
		unit := map[string]string{"rate": "work units/s per VM", "blk": "4 KiB reads/s per VM", "net": "UDP round trips/s per VM"}[p.Probe]
		res.Curves = append(res.Curves, Curve{Name: "density: throughput per VM vs VMs running (last search)", Kind: "line", XLabel: "VMs running", YLabel: unit,
			Series: []Series{{Label: "median VM", Points: tputMed}, {Label: "slowest VM", Points: tputMin}}, VLines: sloCurve.VLines})
	}
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
		Curve{Name: creationCurveName, Kind: "line", XLabel: "VMs already running", YLabel: "creation to main (ms)",
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
