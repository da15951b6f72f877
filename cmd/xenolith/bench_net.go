package main

import (
	"errors"
	"io"

	"github.com/xenolith/xenolith/bench"
	"github.com/xenolith/xenolith/hv/kvm"
)

// benchNet runs the network suite: UDP stream and round trips through the
// PV network path (VM<->VM switch, VM<->host tap) against the host's veth.
func benchNet(args []string, stdout, stderr io.Writer) error {
	var o bench.NetOptions
	var bf benchFlags
	fs := newFlags("bench net", benchUsage, stdout)
	fs.IntVar(&o.Runs, "runs", 3, "runs of each measurement")
	fs.IntVar(&o.Packets, "packets", 50000, "datagrams per stream run")
	fs.IntSliceVar(&o.Sizes, "sizes", []int{1400, 64}, "UDP payload sizes of the stream runs (32..1472)")
	fs.IntVar(&o.RoundTrips, "round-trips", 2000, "requests per round-trip run")
	fs.BoolVar(&o.NoTap, "no-tap", false, "skip the VM<->host (tap) measurements")
	bf.register(fs)
	if err := parseFlags(fs, args, benchUsage, stdout); err != nil {
		return err
	}
	if err := bf.check(); err != nil {
		return err
	}
	if o.Runs < 1 || o.Packets < 1 || o.RoundTrips < 1 || o.RoundTrips > 200000 {
		return usagef("bench net: --runs >= 1, --packets >= 1, --round-trips 1..200000")
	}
	for _, s := range o.Sizes {
		if s < bench.PayloadHeader || s > 1472 {
			return usagef("bench net: --sizes must be within 32..1472")
		}
	}
	o.Progress = progressWriter(stderr)
	return runTraced(bf, stdout, stderr, func(sys *kvm.System, tr *bench.Trace) (*bench.Result, error) {
		o.Trace = tr
		res, err := bench.Net(sys, o)
		if errors.Is(err, bench.ErrNetRoot) {
			return nil, usagef("%v", err)
		}
		return res, err
	})
}
