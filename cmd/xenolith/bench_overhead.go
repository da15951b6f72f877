package main

import (
	"fmt"
	"io"

	"github.com/xenolith/xenolith/bench"
	"github.com/xenolith/xenolith/bench/report"
	"github.com/xenolith/xenolith/hv/kvm"
)

// benchOverhead implements `xenolith bench overhead`.
func benchOverhead(args []string, stdout, stderr io.Writer) error {
	var o bench.OverheadOptions
	var bf benchFlags
	fs := newFlags("bench overhead", benchUsage, stdout)
	fs.IntVar(&o.Runs, "runs", 5, "guest runs of each loop benchmark")
	fs.IntVar(&o.Iterations, "iterations", 5000, "round trips per loop per run (10..65536)")
	fs.IntVar(&o.Lifecycle, "lifecycle", 20, "VMs created and destroyed, each beside a bare KVM VM")
	fs.IntVar(&o.MemVMs, "mem-vms", 50, "idle VMs held for per-VM host memory")
	fs.IntVar(&o.BlkOps, "blk-ops", 2000, "requests per PV block and native run")
	fs.BoolVar(&o.SkipBlk, "skip-blk", false, "leave out PV block against native")
	fs.BoolVar(&o.SkipNet, "skip-net", false, "leave out PV net against host veth")
	bf.register(fs)
	if err := parseFlags(fs, args, benchUsage, stdout); err != nil {
		return err
	}
	if err := bf.check(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("bench overhead: unexpected argument %q", fs.Arg(0))
	}
	if o.Runs < 1 || o.Iterations < 10 || o.Iterations > 65536 || o.Lifecycle < 2 || o.MemVMs < 3 || o.BlkOps < 1 || o.BlkOps > bench.MaxBlkOps {
		return usagef("bench overhead: --runs >= 1, --iterations 10..65536, --lifecycle >= 2, --mem-vms >= 3, --blk-ops 1..16777216")
	}
	o.Progress = progressWriter(stderr)
	return runTraced(bf, stdout, stderr, func(sys *kvm.System, tr *bench.Trace) (*bench.Result, error) {
		o.Trace = tr
		return bench.Overhead(sys, o)
	})
}

// benchDefault implements `xenolith bench` without a suite: a short
// overhead pass and a short density ramp of the default (idle) profile,
// saved as one record with its HTML report; it prints the report's
// headline table.
func benchDefault(args []string, stdout, stderr io.Writer) error {
	var bf benchFlags
	fs := newFlags("bench", benchUsage, stdout)
	maxVMs := fs.Int("max", 200, "most VMs of the density ramp")
	bf.register(fs)
	if err := parseFlags(fs, args, benchUsage, stdout); err != nil {
		return err
	}
	if err := bf.check(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("bench: unexpected argument %q (suites: overhead, hypercall, evtchn, blk, density, compare, report)", fs.Arg(0))
	}
	if *maxVMs < 2 {
		return usagef("bench: --max must be >= 2")
	}
	prof, err := bench.LoadProfile("idle")
	if err != nil {
		return err
	}
	sys, err := openKVM()
	if err != nil {
		return err
	}
	defer sys.Close()
	p := progressWriter(stderr)
	tr := bf.trace.start(stderr)
	defer tr.Close()
	ov, err := bench.Overhead(sys, bench.OverheadOptions{Runs: 3, Iterations: 2000, Lifecycle: 10, MemVMs: 30, BlkOps: 2000, Progress: p, Trace: tr})
	if err != nil {
		return err
	}
	bf.trace.finish(sys, tr, ov, stderr)
	bf.trace.overhead = false // measured once, in the overhead result
	tr = bf.trace.start(stderr)
	defer tr.Close()
	d, err := bench.Density(sys, bench.DensityOptions{Profile: prof, Max: *maxVMs, Step: max(1, *maxVMs/4), Progress: p, Trace: tr})
	if err != nil {
		return err
	}
	bf.trace.finish(sys, tr, d, stderr)
	bf.headline = true
	return finish(stdout, stderr, bf, ov, d)
}

// printHeadline prints the report's headline table of results.
func printHeadline(w io.Writer, results ...*bench.Result) error {
	fmt.Fprintf(w, "Headline (every ratio is against a floor measured in the same run)\n\n")
	if err := report.WriteHeadline(w, report.Headline(results)); err != nil {
		return err
	}
	for _, res := range results {
		for _, n := range res.Notes {
			fmt.Fprintf(w, "  %s: %s\n", res.Suite, n)
		}
	}
	return nil
}
