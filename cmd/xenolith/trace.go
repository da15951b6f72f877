package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"text/tabwriter"
	"time"

	"github.com/xenolith/xenolith/bench/probe"
)

const traceUsage = `Usage: xenolith trace --pid P | --vm NAME [flags]

Show live per-VM KVM counters of a running monitor, measured with eBPF:
userspace exits, port accesses answered by the monitor and in the kernel,
emulated instructions, MSI injections, halt wakeups, time in the monitor
per exit and vCPU run-queue delay. vCPU threads of P are found from the
vCPU fd they pass to KVM_RUN and grouped by KVM VM (docs/tracing.md).
--vm NAME finds the monitor of 'xenolith run --name NAME' (by default the
kernel file's name without its extension).
Needs root and kernel BTF.

Flags:
`

func cmdTrace(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("trace", traceUsage, stdout)
	pid := fs.Int("pid", 0, "monitor process to trace")
	vmName := fs.String("vm", "", "trace the monitor running this VM (xenolith run --name)")
	interval := fs.Duration("interval", time.Second, "refresh interval")
	count := fs.Int("count", 0, "stop after this many refreshes (0: until interrupted)")
	if err := parseFlags(fs, args, traceUsage, stdout); err != nil {
		return err
	}
	switch {
	case *vmName != "" && *pid != 0:
		return usagef("trace: give --pid or --vm, not both")
	case *vmName != "":
		p, err := lookupVM(*vmName)
		if err != nil {
			return err
		}
		*pid = p
	case *pid <= 0:
		return usagef("trace: --pid P or --vm NAME is required")
	}
	if *interval < 10*time.Millisecond {
		return usagef("trace: --interval must be at least 10ms")
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", *pid)); err != nil {
		return usagef("trace: no process %d", *pid)
	}
	t, err := probe.Open(probe.Options{PID: *pid, Discover: true})
	if errors.Is(err, probe.ErrUnavailable) {
		fmt.Fprintf(stderr, "xenolith: eBPF tracing unavailable, nothing to show: %v\n", err)
		return err
	}
	if err != nil {
		return err
	}
	defer t.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	prev, err := t.Snapshot()
	if err != nil {
		return err
	}
	tick := time.NewTicker(*interval)
	defer tick.Stop()
	for n := 0; *count == 0 || n < *count; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		cur, err := t.Snapshot()
		if err != nil {
			return err
		}
		diff := cur.Sub(prev)
		if *vmName != "" && len(diff.VMs) == 1 {
			for _, v := range diff.VMs {
				v.Name = *vmName // a 'xenolith run' monitor holds one VM
			}
		}
		printTrace(stdout, diff, cur.Time.Sub(prev.Time))
		prev = cur
	}
	return nil
}

// printTrace prints one refresh: rates per VM over the interval d.
func printTrace(w io.Writer, d *probe.Snapshot, dt time.Duration) {
	sec := dt.Seconds()
	rate := func(n uint64) string { return fmt.Sprintf("%.0f", float64(n)/sec) }
	fmt.Fprintf(w, "%s  monitor non-vCPU CPU %.1f%%\n", d.Time.Format("15:04:05"), float64(d.MonitorCPUNs)/float64(dt.Nanoseconds())*100)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  VM\tvCPUs\texits/s\tport mon/s\tport kern/s\temul/s\tMSI/s\twake/s\tmon p50\tmon p99\trunq p99\n")
	for _, id := range d.IDs() {
		v := d.VMs[id]
		c := &v.Total
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%v\t%v\t%v\n", v.Name, len(v.VCPUs), rate(c.UserspaceExits()),
			rate(c.PIOUser), rate(c.PIOKernel), rate(c.Emulations), rate(c.Injections), rate(c.Wakeups),
			v.Monitor.Percentile(0.5), v.Monitor.Percentile(0.99), v.RunQueue.Percentile(0.99))
	}
	tw.Flush()
}
