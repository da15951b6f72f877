// Package recordtest makes synthetic benchmark records for tests of the
// packages that read them: metrics from given run values, noisy run values
// from a distribution, and example curves of each kind.
package recordtest

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/xenolith/xenolith/bench"
	"github.com/xenolith/xenolith/bench/record"
	"github.com/xenolith/xenolith/bench/stats"
)

// Metric builds a metric whose run values and samples are runs.
func Metric(name, unit string, runs []float64) bench.Metric {
	return bench.Metric{Name: name, Unit: unit, Summary: stats.Summarize(runs), Runs: runs, Samples: runs}
}

// WithFloor sets m's floor to f and its ratio to f from their run values.
func WithFloor(m, f bench.Metric) bench.Metric {
	m.Floor = f.Name
	_, m.RatioLo, m.RatioHi = stats.RatioCI(m.Runs, f.Runs, 1000)
	m.Ratio = stats.Median(m.Runs) / stats.Median(f.Runs)
	return m
}

// Result builds a suite's result.
func Result(suite string, config any, metrics ...bench.Metric) *bench.Result {
	return &bench.Result{Suite: suite, Config: config, TSCKHz: 2_000_000, Metrics: metrics}
}

// Record wraps results in a record with fixed, plausible metadata.
func Record(results ...*bench.Result) *record.Record {
	return &record.Record{
		Schema: record.SchemaVersion,
		Tool:   record.Tool{Name: record.ToolName, Version: "0.1.0-test", GitRevision: "0123456789abcdef0123456789abcdef01234567"},
		Host: record.Host{
			Hostname: "testhost", OS: "linux", Arch: "amd64", Kernel: "6.1.0-test", CPUModel: "Test CPU @ 2.00GHz",
			Cores: 2, MemBytes: 8 << 30, GoVersion: "go1.26", KVMBackend: "kvm_pvm",
		},
		Created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Command: []string{"xenolith", "bench"},
		Results: results,
	}
}

// Noisy returns n log-normal values with the given median and coefficient
// of variation, the shape of run-level medians of a timing.
func Noisy(r *rand.Rand, n int, median, cv float64) []float64 {
	sigma := math.Sqrt(math.Log1p(cv * cv))
	out := make([]float64, n)
	for i := range out {
		out[i] = median * math.Exp(sigma*r.NormFloat64())
	}
	return out
}

// Curves returns one curve of each kind, shaped like a density suite's:
// SLO p99 and throughput against VMs running with the SLO line and the
// stop point, creation latency against VMs running, memory per VM by
// component, and a boot-time CDF.
func Curves(r *rand.Rand) []record.Curve {
	var p99, tput, create []([2]float64)
	for n := 10.0; n <= 1000; n += 90 {
		p99 = append(p99, [2]float64{n, 80 + 0.0002*n*n + 5*r.Float64()})
		tput = append(tput, [2]float64{n, 1000 - 0.3*n + 10*r.Float64()})
		create = append(create, [2]float64{n, 2.0 + n/2000 + 0.2*r.Float64()})
	}
	var boots [][2]float64
	for _, v := range Noisy(r, 200, 40, 0.2) {
		boots = append(boots, [2]float64{v, 0})
	}
	mem := func(base float64) [][2]float64 {
		return [][2]float64{{10, base}, {100, base * 0.9}, {1000, base * 0.85}}
	}
	return []record.Curve{
		{
			Name: "SLO p99 against VMs running", Suite: "density", XLabel: "VMs running", YLabel: "UDP request p99 (us)",
			Series: []record.Series{{Label: "p99", Points: p99}, {Label: "throughput per VM (req/s / 10)", Points: scale(tput, 0.1)}},
			HLines: []record.HLine{{Label: "SLO 200us", Y: 200}},
			VLines: []record.VLine{{Label: "stop: SLO broken", X: 820}},
		},
		{
			Name: "VM creation latency against VMs running", Suite: "density", XLabel: "VMs running", YLabel: "create to main (ms)",
			Series: []record.Series{{Label: "p50", Points: create}, {Label: "p99", Points: scale(create, 1.4)}},
		},
		{
			Name: "Host memory per VM", Suite: "density", Kind: record.KindStacked, XLabel: "VMs running", YLabel: "MiB per VM",
			Series: []record.Series{
				{Label: "guest RAM (RSS)", Points: mem(16)}, {Label: "page tables", Points: mem(0.3)},
				{Label: "slab", Points: mem(0.5)}, {Label: "monitor heap", Points: mem(0.8)},
			},
		},
		{
			Name: "Boot time CDF", Suite: "density", Kind: record.KindCDF, XLabel: "create to main (ms)", YLabel: "fraction of boots",
			Series: []record.Series{{Label: "200 boots", Points: boots}},
		},
	}
}

func scale(pts [][2]float64, f float64) [][2]float64 {
	out := make([][2]float64, len(pts))
	for i, p := range pts {
		out[i] = [2]float64{p[0], p[1] * f}
	}
	return out
}
