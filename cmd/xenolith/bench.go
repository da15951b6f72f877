package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/xenolith/xenolith/bench"
	"github.com/xenolith/xenolith/hv/kvm"
)

const benchUsage = `Usage: xenolith bench [SUITE] [flags]

Measure what virtualisation costs on this host. Every figure is reported
next to its floor measured in the same run, as p50/p99 with a 95% interval
of the median, and a paired ratio to the floor: the median over runs of
each run's median / floor median, with a 95% bootstrap interval.

Suites:
  (none)      the default benchmark, under a minute: a short overhead pass and
              a short idle density ramp (--max, default 200), saved as one
              record with its HTML report; prints the headline table
  overhead    every microbenchmark beside its floor in one run: null
              hypercall vs raw port-I/O exit, event-channel notify and round
              trip vs bare ioeventfd and exit, VM create-to-main and destroy
              vs a bare KVM VM, per-VM host memory vs an empty monitor
              process, PV block vs the same reads natively on the same file,
              PV net vs host veth (root; else noted "net: not available"),
              and with --trace the eBPF probes' cost on the exit rate
  hypercall   null hypercall round trip against a raw port-I/O exit (CPL3 and
              CPL0), and VM creation to guest main
  evtchn      event-channel notify to a backend against a bare ioeventfd,
              guest -> backend -> guest and guest -> guest round trips, and
              user-space exits per notify
  blk         4 KiB random reads through PV block (blkbench in a VM) against
              the same reads done natively on the same file, at queue depth
              32 (IOPS) and 1 (latency), with exits and monitor CPU per request,
              and the native reads again beside a busy second core (the one the
              guest's polling vCPU takes) and with the file and buffers
              registered with io_uring (as the backend does)
  net         UDP through PV net (netbench in VMs): VM<->VM through the
              in-process switch and VM<->host through tap, against the host's
              own veth path with the same sizes; throughput, packet rate,
              round trips, exits and CPU per packet (root)
  density     how many VMs of a profile fit on this host within its SLO:
              ramps VMs in one process, measures the SLO probe, memory per
              VM, host CPU and exits at each step, bisects near the knee,
              names the limit that stopped it. Profiles: idle (default), cpu,
              mixed, blk (block read p99, each VM on its own image), net
              (needs PV net), or --profile-file FILE.json. --process-per-vm
              repeats the search with one monitor process per VM and
              compares the two

Records and reports:
  compare OLD.json NEW.json   per metric: medians with 95% intervals, a
              Mann-Whitney U test on run-level values with Holm correction
              and a practical threshold (default 5%); exit 1 on a
              significant regression (named), 0 otherwise, 2 on unusable
              input (too few runs, different configurations)
  report RECORD.json...       a self-contained HTML page with charts (PNG)

Long runs show their progress (step, VMs running, elapsed, estimate) on
one updating line when stderr is a terminal, and stay quiet otherwise.
Exit status: 0 done, 1 a host error, 2 bad input (unknown suite or
profile, unreadable profile file or record, bad flag values), and for
compare 1 on a significant regression.

Every suite saves a record (JSON with raw samples, configuration, git
revision and host) under --results (default results/) and prints its path
on stderr; --format gobench prints benchstat-compatible lines.
`

// benchFlags are the flags every suite shares.
type benchFlags struct {
	json     bool
	format   string
	results  string
	headline bool // table format prints the headline table only
	trace    traceFlags
}

func (b *benchFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&b.json, "json", false, "print the result as JSON instead of a table (same as --format json)")
	fs.StringVar(&b.format, "format", "table", "output: table, json or gobench (benchstat input)")
	fs.StringVar(&b.results, "results", "results", "directory for the run's record (empty: do not save one)")
	b.trace.register(fs)
}

func (b *benchFlags) check() error {
	if b.json {
		b.format = "json"
	}
	switch b.format {
	case "table", "json", "gobench":
		return nil
	}
	return usagef("bench: --format must be table, json or gobench, not %q", b.format)
}

func cmdBench(args []string, stdout, stderr io.Writer) error {
	suite := ""
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		suite, args = args[0], args[1:]
	}
	switch suite {
	case "":
		return benchDefault(args, stdout, stderr)
	case "overhead":
		return benchOverhead(args, stdout, stderr)
	case "hypercall":
		return benchHypercall(args, stdout, stderr)
	case "evtchn":
		return benchEvtchn(args, stdout, stderr)
	case "density":
		return benchDensity(args, stdout, stderr)
	case "blk":
		return benchBlk(args, stdout, stderr)
	case "net":
		return benchNet(args, stdout, stderr)
	case "compare":
		return benchCompare(args, stdout, stderr)
	case "report":
		return benchReport(args, stdout, stderr)
	case bench.ChildCommand: // hidden: one VM of a process-per-VM density search
		return bench.ChildMain(args, os.Stdin, stdout)
	default:
		return usagef("bench: unknown suite %q (see 'xenolith bench --help')", suite)
	}
}

// runTraced opens KVM, starts the eBPF trace the flags ask for, runs one
// suite, adds the trace to its result and prints and saves it.
func runTraced(bf benchFlags, stdout, stderr io.Writer, run func(*kvm.System, *bench.Trace) (*bench.Result, error)) error {
	sys, err := openKVM()
	if err != nil {
		return err
	}
	defer sys.Close()
	tr := bf.trace.start(stderr)
	defer tr.Close()
	res, err := run(sys, tr)
	if err != nil {
		return err
	}
	bf.trace.finish(sys, tr, res, stderr)
	return finish(stdout, stderr, bf, res)
}

// progressWriter returns a progress line on stderr when stderr is a
// terminal, else nil (quiet).
func progressWriter(stderr io.Writer) io.Writer {
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return bench.NewProgress(stderr)
	}
	return nil
}

func openKVM() (*kvm.System, error) {
	sys, err := kvm.Open()
	if err != nil {
		return nil, err
	}
	if err := sys.Require(kvm.MonitorRequirements); err != nil {
		sys.Close()
		return nil, err
	}
	return sys, nil
}

func benchHypercall(args []string, stdout, stderr io.Writer) error {
	var o bench.HypercallOptions
	var bf benchFlags
	fs := newFlags("bench hypercall", benchUsage, stdout)
	fs.IntVar(&o.Runs, "runs", 5, "guest runs of the hypercall loops")
	fs.IntVar(&o.Iterations, "iterations", 20000, "round trips per loop per run (CPL0 loops use a tenth)")
	fs.IntVar(&o.Boots, "boots", 20, "in-process VM boots for create-to-main")
	fs.IntVar(&o.ProcBoots, "process-boots", 10, "whole 'xenolith run' processes to time (0 skips)")
	bf.register(fs)
	if err := parseFlags(fs, args, benchUsage, stdout); err != nil {
		return err
	}
	if err := bf.check(); err != nil {
		return err
	}
	if o.Runs < 1 || o.Iterations < 10 || o.Boots < 1 || o.ProcBoots < 0 {
		return usagef("bench hypercall: --runs and --boots must be >= 1, --iterations >= 10")
	}
	o.Progress = progressWriter(stderr)
	return runTraced(bf, stdout, stderr, func(sys *kvm.System, tr *bench.Trace) (*bench.Result, error) {
		o.Trace = tr
		return bench.Hypercall(sys, o)
	})
}

func benchEvtchn(args []string, stdout, stderr io.Writer) error {
	var o bench.EvtchnOptions
	var bf benchFlags
	fs := newFlags("bench evtchn", benchUsage, stdout)
	fs.IntVar(&o.Runs, "runs", 5, "guest runs")
	fs.IntVar(&o.Iterations, "iterations", 10000, "iterations per loop per run (at most 65536)")
	bf.register(fs)
	if err := parseFlags(fs, args, benchUsage, stdout); err != nil {
		return err
	}
	if err := bf.check(); err != nil {
		return err
	}
	if o.Runs < 1 || o.Iterations < 10 || o.Iterations > 65536 {
		return usagef("bench evtchn: --runs must be >= 1 and --iterations 10..65536")
	}
	o.Progress = progressWriter(stderr)
	return runTraced(bf, stdout, stderr, func(sys *kvm.System, tr *bench.Trace) (*bench.Result, error) {
		o.Trace = tr
		return bench.Evtchn(sys, o)
	})
}

func benchBlk(args []string, stdout, stderr io.Writer) error {
	var o bench.BlkOptions
	var bf benchFlags
	fs := newFlags("bench blk", benchUsage, stdout)
	fs.IntVar(&o.Runs, "runs", 10, "runs of each side")
	fs.IntVar(&o.Ops, "ops", 100000, "requests per run (at most 16777216)")
	fs.IntVar(&o.ImageMiB, "image-mib", 256, "size of the test image (kept in the page cache)")
	fs.StringVar(&o.Dir, "dir", "", "directory for the test image (default $TMPDIR)")
	bf.register(fs)
	if err := parseFlags(fs, args, benchUsage, stdout); err != nil {
		return err
	}
	if err := bf.check(); err != nil {
		return err
	}
	if o.Runs < 1 || o.Ops < 1 || o.Ops > bench.MaxBlkOps || o.ImageMiB < 1 {
		return usagef("bench blk: --runs >= 1, --ops 1..16777216, --image-mib >= 1")
	}
	o.Progress = progressWriter(stderr)
	return runTraced(bf, stdout, stderr, func(sys *kvm.System, tr *bench.Trace) (*bench.Result, error) {
		o.Trace = tr
		return bench.Blk(sys, o)
	})
}

func benchDensity(args []string, stdout, stderr io.Writer) error {
	var o bench.DensityOptions
	var bf benchFlags
	fs := newFlags("bench density", benchUsage, stdout)
	profile := fs.String("profile", "idle", "workload profile: a name ("+strings.Join(bench.ProfileNames(), ", ")+") or a .json file")
	profileFile := fs.String("profile-file", "", "read the profile from this JSON file (overrides --profile)")
	fs.BoolVar(&o.ProcessPerVM, "process-per-vm", false, "after the in-process search, run the same search with one 'xenolith run'-like process per VM and compare")
	fs.IntVar(&o.Max, "max", 0, "most VMs to try (default 1000 for idle, 64 otherwise)")
	fs.IntVar(&o.Step, "step", 0, "VMs added per ramp step (default max/10)")
	fs.IntVar(&o.Searches, "searches", 1, "repeated searches, for an interval of the result")
	fs.DurationVar(&o.Window, "window", time.Second, "measuring window at each step")
	fs.Uint64Var(&o.MemReserveMiB, "mem-reserve", 1024, "stop when the host has less than this many MiB available")
	fs.BoolVar(&o.KSM, "ksm", false, "after the search, let KSM merge identical guest pages and report memory again (root)")
	fs.DurationVar(&o.KSMSettle, "ksm-settle", 20*time.Second, "how long KSM may merge before memory is measured again")
	densityCycleFlags(fs, &o)
	bf.register(fs)
	if err := parseFlags(fs, args, benchUsage, stdout); err != nil {
		return err
	}
	if err := bf.check(); err != nil {
		return err
	}
	if o.Max < 0 || o.Step < 0 || o.Searches < 1 || o.Window <= 0 {
		return usagef("bench density: --max and --step must be >= 0, --searches >= 1, --window > 0")
	}
	if err := densityCycleCheck(&o); err != nil {
		return err
	}
	prof, err := loadProfile(*profile, *profileFile)
	if err != nil {
		return err
	}
	o.Profile = prof
	o.Progress = progressWriter(stderr)
	sys, err := openKVM()
	if err != nil {
		return err
	}
	defer sys.Close()
	perProc := o.ProcessPerVM
	o.ProcessPerVM = false
	o.Trace = bf.trace.start(stderr)
	defer o.Trace.Close()
	res, err := bench.Density(sys, o)
	if err != nil {
		return err
	}
	bf.trace.finish(sys, o.Trace, res, stderr)
	o.Trace = nil // one monitor process per VM: not traced
	if !perProc {
		return finish(stdout, stderr, bf, res)
	}
	// The same ramp, one process per VM, up to the largest fleet the
	// in-process search measured.
	o.ProcessPerVM = true
	o.Max = bench.LargestFleet(res)
	pres, err := bench.Density(sys, o)
	if err != nil {
		return err
	}
	bench.CompareDensity(res, pres)
	return finish(stdout, stderr, bf, res, pres)
}

// loadProfile resolves --profile and --profile-file into a profile this
// build can run, or a usage error (exit status 2) in one line.
func loadProfile(name, file string) (*bench.Profile, error) {
	var prof *bench.Profile
	var err error
	if file != "" {
		prof, err = bench.LoadProfileFile(file)
	} else {
		prof, err = bench.LoadProfile(name)
	}
	if err != nil {
		return nil, usagef("bench density: %v", err)
	}
	if err := prof.Runnable(); err != nil {
		return nil, usagef("bench density: %v", err)
	}
	return prof, nil
}

// finish saves the run's record (unless --results is empty) and prints the
// results in the chosen format.
func finish(stdout, stderr io.Writer, bf benchFlags, results ...*bench.Result) error {
	if progressWriter(stderr) != nil {
		fmt.Fprint(stderr, "\r\033[K") // clear a suite's last progress line
	}
	if bf.results != "" {
		path, err := writeRecord(results, bf.results)
		if err != nil {
			return fmt.Errorf("saving the record: %w", err)
		}
		fmt.Fprintf(stderr, "xenolith: record saved to %s\n", path)
		if err := benchReport([]string{path}, stderr, stderr); err != nil {
			fmt.Fprintf(stderr, "xenolith: report not rendered: %v\n", err)
		}
	}
	if bf.format == "gobench" {
		return formatGobench(stdout, results...)
	}
	if bf.headline && bf.format == "table" {
		return printHeadline(stdout, results...)
	}
	return printResults(stdout, bf, results...)
}

// printResults prints results as JSON or as one table per suite.
func printResults(w io.Writer, bf benchFlags, results ...*bench.Result) error {
	if bf.format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if len(results) == 1 {
			return enc.Encode(results[0])
		}
		return enc.Encode(results)
	}
	for i, res := range results {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if res.TSCKHz != 0 {
			fmt.Fprintf(w, "Suite %s (guest TSC %d kHz)\n\n", res.Suite, res.TSCKHz)
		} else {
			fmt.Fprintf(w, "Suite %s\n\n", res.Suite)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "metric\tn\tp50\t95%% CI of p50\tp99\tratio to floor [95%% CI]\t\n")
		for _, m := range res.Metrics {
			ratio := "-"
			if m.Floor != "" {
				ratio = fmt.Sprintf("%.3fx [%.3f, %.3f]", m.Ratio, m.RatioLo, m.RatioHi)
			}
			s := m.Summary
			f := dur
			switch m.Unit {
			case "ns":
			case "bytes":
				f = func(v float64) string { return fmt.Sprintf("%.1f KiB", v/1024) }
			case "ratio":
				f = func(v float64) string { return fmt.Sprintf("%.3fx", v) }
			default:
				f = func(v float64) string { return fmt.Sprintf("%.4g %s", v, m.Unit) }
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s - %s\t%s\t%s\t\n", m.Name, s.N, f(s.P50), f(s.P50Lo), f(s.P50Hi), f(s.P99), ratio)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, m := range res.Metrics {
			if m.Floor != "" {
				fmt.Fprintf(w, "  floor of %q: %s\n", m.Name, m.Floor)
			}
		}
		for _, n := range res.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
	}
	return nil
}

// dur formats nanoseconds for people.
func dur(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2fs", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.2fms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.2fus", ns/1e3)
	}
	return fmt.Sprintf("%.0fns", ns)
}
