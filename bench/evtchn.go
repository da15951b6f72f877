package bench

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xenolith/xenolith/bench/stats"
	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/evtchn"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/hv/xenstore"
)

// EvtchnOptions configure the event-channel suite.
type EvtchnOptions struct {
	Runs       int       // VM runs (default 5)
	Iterations int       // iterations per loop per run (default 10000)
	Progress   io.Writer `json:"-"` // optional progress lines
	Trace      *Trace    `json:"-"` // eBPF probes for every VM (--trace), or nil
}

// floorPort is a port value no guest allocates: the guest's OUT of it to the
// doorbell port hits a bare ioeventfd, the in-kernel floor.
const floorPort = 4095

// Evtchn measures event-channel notification from a guest at CPL3:
// EVTCHNOP_send to a backend (an in-kernel doorbell) against a bare
// ioeventfd write and a user-space exit, the guest -> backend -> guest round
// trip, user-space exits per notify, and a guest -> guest round trip
// between two VMs of one process.
func Evtchn(sys *kvm.System, o EvtchnOptions) (*Result, error) {
	if o.Runs == 0 {
		o.Runs = 5
	}
	if o.Iterations == 0 {
		o.Iterations = 10000
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	res := &Result{Suite: "evtchn", Config: o}
	names := []string{"exit_floor", "ioeventfd_floor", "notify", "rtt"}
	all := map[string][]float64{}
	perRun := map[string][]float64{}
	var exitsPerNotify []float64
	for run := 0; run < o.Runs; run++ {
		fmt.Fprintf(progress, "evtchn: backend run %d/%d\n", run+1, o.Runs)
		out, exits, err := evtchnBackendRun(sys, o.Iterations, o.Trace, run)
		if err != nil {
			return nil, err
		}
		res.TSCKHz = out.TSCKHz
		for _, n := range names {
			s := out.Series(n)
			if len(s) == 0 {
				return nil, fmt.Errorf("evbench guest reported no %s series (%s)", n, out.Result)
			}
			ns := nsSeries(s, out.TSCKHz)
			all[n] = append(all[n], ns...)
			perRun[n] = append(perRun[n], stats.Median(ns))
		}
		exitsPerNotify = append(exitsPerNotify, float64(exits)/float64(o.Iterations))
	}
	var g2g, g2gRun []float64
	for run := 0; run < o.Runs; run++ {
		fmt.Fprintf(progress, "evtchn: guest-to-guest run %d/%d\n", run+1, o.Runs)
		s, khz, err := evtchnPingPong(sys, o.Iterations, o.Trace, run)
		if err != nil {
			return nil, err
		}
		ns := nsSeries(s, khz)
		g2g = append(g2g, ns...)
		g2gRun = append(g2gRun, stats.Median(ns))
	}
	label := map[string]string{
		"exit_floor":      "port-I/O exit to user space, CPL3 (floor)",
		"ioeventfd_floor": "ioeventfd write, CPL3 (floor)",
		"notify":          "EVTCHNOP_send to a backend (in-kernel doorbell)",
		"rtt":             "guest -> backend -> guest round trip",
	}
	floor := map[string]string{"notify": "ioeventfd_floor", "rtt": "exit_floor"}
	for _, n := range names {
		m := Metric{Name: label[n], Unit: "ns", Summary: stats.Summarize(all[n]), Runs: perRun[n]}
		if f, ok := floor[n]; ok {
			m.Floor = label[f]
			m.Ratio, m.RatioLo, m.RatioHi = stats.PairedRatio(perRun[n], perRun[f])
		}
		res.Metrics = append(res.Metrics, m)
		if f, ok := floor[n]; ok {
			res.Metrics = append(res.Metrics, ratioMetric(m.Name, perRun[n], perRun[f]))
		}
	}
	m := Metric{Name: "guest -> guest round trip (two VMs, one process)", Unit: "ns", Summary: stats.Summarize(g2g), Floor: label["exit_floor"], Runs: g2gRun}
	m.Ratio, m.RatioLo, m.RatioHi = stats.PairedRatio(g2gRun, perRun["exit_floor"])
	res.Metrics = append(res.Metrics, m)
	for _, mode := range []string{"block", "poll"} {
		var late, lateRun []float64
		for run := 0; run < o.Runs; run++ {
			fmt.Fprintf(progress, "evtchn: timer (%s) run %d/%d\n", mode, run+1, o.Runs)
			out, err := o.Trace.run(sys, "timer "+mode, guestkit.RunOptions{Program: "timer", Cmdline: "mode=" + mode, Timeout: 2 * time.Minute})
			if err != nil {
				return nil, err
			}
			s := out.Series("timer_late_ns")
			if out.Result.Reason != vm.ReasonPoweroff || len(s) == 0 {
				return nil, fmt.Errorf("timer guest ended with %s and %d samples: %s", out.Result, len(s), out.Console)
			}
			var ns []float64
			for _, v := range s {
				ns = append(ns, float64(int64(v)))
			}
			late = append(late, ns...)
			lateRun = append(lateRun, stats.Median(ns))
		}
		res.Metrics = append(res.Metrics, Metric{Name: "VIRQ_TIMER lateness after the deadline (vCPU " + map[string]string{"block": "blocked", "poll": "polling"}[mode] + ")",
			Unit: "ns", Summary: stats.Summarize(late), Runs: lateRun})
	}
	res.Metrics = append(res.Metrics, Metric{Name: "user-space exits per notify", Unit: "count", Summary: stats.Summarize(exitsPerNotify), Samples: exitsPerNotify, Runs: exitsPerNotify})
	return res, nil
}

// evtchnBackendRun boots evbench against an echo backend and a sink backend
// and returns its outcome and the user-space exits during the notify loop.
func evtchnBackendRun(sys *kvm.System, n int, tr *Trace, run int) (*guestkit.Outcome, uint64, error) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	var m *vm.VM
	var mu sync.Mutex
	marks := map[string]uint64{}
	var floorFD = -1
	defer func() {
		if floorFD >= 0 {
			unix.Close(floorFD)
		}
	}()
	out, err := tr.run(sys, fmt.Sprintf("evbench backends run %d", run+1), guestkit.RunOptions{
		Program: "evbench", Timeout: 5 * time.Minute,
		OnStart: func(v *vm.VM) { m = v },
		OnReport: func(r vm.Report) {
			if r.Kind == vm.ReportMark {
				mu.Lock()
				marks[r.Msg] = m.Exits()
				mu.Unlock()
			}
		},
		Setup: func(m *vm.VM) error {
			evt := m.EventChannels()
			echo, err := backendEndpoint(m, evt)
			if err != nil {
				return err
			}
			sink, err := backendEndpoint(m, evt)
			if err != nil {
				return err
			}
			wg.Add(2)
			go func() {
				defer wg.Done()
				for echo.Wait(ctx) == nil {
					echo.Drain()
					echo.Notify()
				}
			}()
			go func() {
				defer wg.Done()
				for sink.Wait(ctx) == nil {
					sink.Drain()
				}
			}()
			fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
			if err != nil {
				return err
			}
			floorFD = fd
			if err := m.Doorbell(floorPort, fd); err != nil {
				return err
			}
			return m.SetCmdline(fmt.Sprintf("evbench backend port=%d sink=%d n=%d", echo.Port(), sink.Port(), n))
		},
	})
	if err != nil {
		return nil, 0, err
	}
	if out.Result.Reason != vm.ReasonPoweroff {
		return nil, 0, fmt.Errorf("evbench guest ended with %s: %s", out.Result, out.Console)
	}
	mu.Lock()
	defer mu.Unlock()
	// One exit is the notify_end mark itself.
	exits := marks["notify_end"] - marks["notify_start"]
	if exits > 0 {
		exits--
	}
	return out, exits, nil
}

// backendEndpoint allocates a guest port bound to a monitor endpoint with
// an in-kernel doorbell.
func backendEndpoint(m *vm.VM, evt *evtchn.Table) (*evtchn.Endpoint, error) {
	port, err := evt.AllocPortForBackend(0)
	if err != nil {
		return nil, err
	}
	ep, err := evt.BindBackend(port)
	if err != nil {
		return nil, err
	}
	if err := m.Doorbell(port, ep.KickFD()); err != nil {
		return nil, err
	}
	return ep, nil
}

// evtchnPingPong runs two evbench VMs in one process, connected by an
// interdomain event channel, and returns the pinger's round trips.
func evtchnPingPong(sys *kvm.System, n int, tr *Trace, run int) ([]uint64, uint64, error) {
	hub := evtchn.NewHub()
	store := xenstore.New(xenstore.Options{})
	ready := make(chan uint32, 1)
	type result struct {
		out *guestkit.Outcome
		err error
	}
	echoDone := make(chan result, 1)
	go func() {
		out, err := tr.run(sys, fmt.Sprintf("evbench echo run %d", run+1), guestkit.RunOptions{
			Program: "evbench", DomID: 1, Hub: hub, Store: store, Timeout: 5 * time.Minute,
			Setup: func(m *vm.VM) error {
				port, err := m.EventChannels().AllocPortForBackend(2)
				if err != nil {
					return err
				}
				ready <- uint32(port)
				return m.SetCmdline(fmt.Sprintf("evbench echo port=%d n=%d", port, n))
			},
		})
		if err != nil {
			select {
			case ready <- 0:
			default:
			}
		}
		echoDone <- result{out, err}
	}()
	port := <-ready
	if port == 0 {
		r := <-echoDone
		return nil, 0, r.err
	}
	out, err := tr.run(sys, fmt.Sprintf("evbench ping run %d", run+1), guestkit.RunOptions{
		Program: "evbench", DomID: 2, Hub: hub, Store: store, Timeout: 5 * time.Minute,
		Cmdline: fmt.Sprintf("ping peer=1 port=%d n=%d", port, n),
	})
	r := <-echoDone
	if err != nil {
		return nil, 0, err
	}
	if r.err != nil {
		return nil, 0, r.err
	}
	if out.Result.Reason != vm.ReasonPoweroff || r.out.Result.Reason != vm.ReasonPoweroff {
		return nil, 0, fmt.Errorf("ping-pong guests ended with %s / %s: %s %s", out.Result, r.out.Result, out.Console, r.out.Console)
	}
	return out.Series("rtt"), out.TSCKHz, nil
}
