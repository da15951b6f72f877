package main

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/xenolith/xenolith/bench"
	"github.com/xenolith/xenolith/bench/probe"
	"github.com/xenolith/xenolith/hv/kvm"
)

// traceAvailable reports whether eBPF tracing can run here, and if not
// why; tests replace it to simulate a host without privilege or BTF.
var traceAvailable = probe.Available

// traceFlags are the eBPF flags every suite shares.
type traceFlags struct {
	on       bool // --trace
	overhead bool // --trace-overhead
	noticed  bool // the one-line notice was printed
}

func (t *traceFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&t.on, "trace", true, "count KVM events per VM with eBPF and add them to the record (needs root and kernel BTF; --trace=false turns it off)")
	fs.BoolVar(&t.overhead, "trace-overhead", true, "with --trace, also measure the probes' overhead on the exit rate (a few seconds) and add it to the record")
}

// start loads the probes for one suite when --trace is on. Without
// privilege or BTF it prints one notice line on stderr (once per command)
// and returns nil: the suite then runs without the eBPF part.
func (t *traceFlags) start(stderr io.Writer) *bench.Trace {
	if !t.on {
		return nil
	}
	if ok, why := traceAvailable(); !ok {
		t.notice(stderr, fmt.Errorf("%w: %s", probe.ErrUnavailable, why))
		return nil
	}
	tr, err := bench.StartTrace()
	if err != nil {
		t.notice(stderr, err)
		return nil
	}
	return tr
}

func (t *traceFlags) notice(stderr io.Writer, err error) {
	if t.noticed {
		return
	}
	t.noticed = true
	fmt.Fprintf(stderr, "xenolith: --trace: %v; running without eBPF tracing\n", err)
}

// finish stops tr and adds its counters to res, then (with
// --trace-overhead) measures the probes' overhead on the exit rate, with no
// other probes attached, and adds it as "eBPF probes: ..." rows. Tracing
// never fails a suite: a problem is one line on stderr.
func (t *traceFlags) finish(sys *kvm.System, tr *bench.Trace, res *bench.Result, stderr io.Writer) {
	if tr == nil || res == nil {
		return
	}
	if err := tr.Finish(res); err != nil {
		fmt.Fprintf(stderr, "xenolith: --trace: counters lost: %v\n", err)
		return
	}
	if !t.overhead {
		return
	}
	ov, err := bench.TraceOverhead(sys, bench.TraceOverheadOptions{})
	if err != nil {
		fmt.Fprintf(stderr, "xenolith: --trace: probe overhead not measured: %v\n", err)
		return
	}
	bench.MergeTraceOverhead(res, ov)
}
