package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/xenolith/xenolith/bench"
	"github.com/xenolith/xenolith/hv/kvm"
)

const benchUsage = `Usage: xenolith bench [SUITE] [flags]

Measure what virtualisation costs on this host. Every figure is reported
next to its floor measured in the same run, as p50/p99 with a 95% interval
and the ratio of medians.

Suites:
  hypercall   null hypercall round trip against a raw port-I/O exit (CPL3 and
              CPL0), and VM creation to guest main (default)
`

func cmdBench(args []string, stdout, stderr io.Writer) error {
	suite := "hypercall"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		suite, args = args[0], args[1:]
	}
	switch suite {
	case "hypercall":
		return benchHypercall(args, stdout, stderr)
	default:
		return usagef("bench: unknown suite %q (see 'xenolith bench --help')", suite)
	}
}

func benchHypercall(args []string, stdout, stderr io.Writer) error {
	var o bench.HypercallOptions
	var asJSON bool
	fs := newFlags("bench hypercall", benchUsage, stdout)
	fs.IntVar(&o.Runs, "runs", 5, "guest runs of the hypercall loops")
	fs.IntVar(&o.Iterations, "iterations", 20000, "round trips per loop per run (CPL0 loops use a tenth)")
	fs.IntVar(&o.Boots, "boots", 20, "in-process VM boots for create-to-main")
	fs.IntVar(&o.ProcBoots, "process-boots", 10, "whole 'xenolith run' processes to time (0 skips)")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	if err := parseFlags(fs, args, benchUsage, stdout); err != nil {
		return err
	}
	if o.Runs < 1 || o.Iterations < 10 || o.Boots < 1 || o.ProcBoots < 0 {
		return usagef("bench hypercall: --runs and --boots must be >= 1, --iterations >= 10")
	}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		o.Progress = stderr
	}
	sys, err := kvm.Open()
	if err != nil {
		return err
	}
	defer sys.Close()
	if err := sys.Require(kvm.MonitorRequirements); err != nil {
		return err
	}
	res, err := bench.Hypercall(sys, o)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(stdout, "Hypercall and boot costs (guest TSC %d kHz; times are medians over all samples)\n\n", res.TSCKHz)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "metric\tn\tp50\t95%% CI of p50\tp99\tratio to floor [95%% CI]\t\n")
	for _, m := range res.Metrics {
		ratio := "-"
		if m.Floor != "" {
			ratio = fmt.Sprintf("%.3fx [%.3f, %.3f]", m.Ratio, m.RatioLo, m.RatioHi)
		}
		s := m.Summary
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s - %s\t%s\t%s\t\n", m.Name, s.N, dur(s.P50), dur(s.P50Lo), dur(s.P50Hi), dur(s.P99), ratio)
	}
	return tw.Flush()
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
