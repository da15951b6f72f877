package bench

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/internal/devices"
)

// netGuest is one guestkit VM of a network benchmark run.
type netGuest struct {
	program, args string
	domID         uint16
	spec          devices.NetSpec
	ns            *NetNS // attach the NIC inside this namespace (tap)
	ready         chan struct{}

	mu    sync.Mutex
	exits map[string]uint64        // m.Exits() at each mark
	cpu   map[string]time.Duration // process CPU time at each mark
	out   *guestkit.Outcome
	err   error
}

// processCPU is the process's user+system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runNetGuests boots the guests concurrently, each with vif 0, and waits
// for all of them.
func runNetGuests(sys *kvm.System, tr *Trace, gs []*netGuest) error {
	var wg sync.WaitGroup
	for _, g := range gs {
		g.exits, g.cpu = map[string]uint64{}, map[string]time.Duration{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var m *vm.VM
			var nic *devices.Net
			var once sync.Once
			g.out, g.err = tr.run(sys, strings.TrimSpace(g.program+" "+strings.SplitN(g.args, " ", 2)[0]), guestkit.RunOptions{
				Program: g.program, Cmdline: g.args, DomID: g.domID, MemBytes: 32 << 20,
				Timeout: 3 * time.Minute,
				OnStart: func(v *vm.VM) { m = v },
				OnReport: func(r vm.Report) {
					if r.Kind != vm.ReportMark {
						return
					}
					g.mu.Lock()
					g.exits[r.Msg] = m.Exits()
					g.cpu[r.Msg] = processCPU()
					g.mu.Unlock()
					if r.Msg == "ready" && g.ready != nil {
						once.Do(func() { close(g.ready) })
					}
				},
				Setup: func(v *vm.VM) error {
					attach := func() (err error) {
						nic, err = devices.AttachNet(v, 0, g.spec, nil)
						return err
					}
					if g.ns != nil {
						return g.ns.Do(attach)
					}
					return attach()
				},
			})
			if nic != nil {
				nic.Close()
			}
			if g.ready != nil {
				once.Do(func() { close(g.ready) })
			}
		}()
	}
	wg.Wait()
	for _, g := range gs {
		if g.err != nil {
			return fmt.Errorf("%s %s: %w", g.program, g.args, g.err)
		}
		if g.out.Result.Reason != vm.ReasonPoweroff || len(g.out.Failures()) > 0 {
			return fmt.Errorf("%s %s ended with %s: %s", g.program, g.args, g.out.Result, g.out.Console)
		}
	}
	return nil
}

// marked returns the exits and CPU time between two marks of g.
func (g *netGuest) marked(from, to string) (uint64, time.Duration, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e0, ok1 := g.exits[from]
	e1, ok2 := g.exits[to]
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	return e1 - e0, g.cpu[to] - g.cpu[from], true
}

func (g *netGuest) metric(name string) (float64, error) {
	v, ok := g.out.Metric(name)
	if !ok {
		return 0, fmt.Errorf("%s: no metric %s: %s", g.program, name, g.out.Console)
	}
	return float64(v), nil
}

// streamRun is one stream measurement.
type streamRun struct {
	mbps, pps, loss  float64 // payload throughput, datagram rate, lost fraction
	exitsPer, cpuPer float64 // user-space exits and process CPU ns per datagram received
}

// vmStream runs a guest sender to a sink that is either a second guest
// (through the switch) or the host (sinkConn, through a tap in ns).
func vmStream(sys *kvm.System, tr *Trace, size, n int, sw string, ns *NetNS, sinkConn *net.UDPConn) (streamRun, error) {
	var r streamRun
	send := &netGuest{program: "netbench", domID: 2,
		args: fmt.Sprintf("mode=send ip=10.77.0.1 peer=10.77.0.2 size=%d count=%d duration_ms=60000 spin_us=20", size, n),
		spec: devices.NetSpec{Kind: devices.NetSwitch, Name: sw}}
	gs := []*netGuest{send}
	var sink *netGuest
	var host StreamResult
	var hostDone chan struct{}
	if sinkConn == nil {
		sink = &netGuest{program: "netbench", domID: 1, args: "mode=sink ip=10.77.0.2 duration_ms=90000 spin_us=20",
			spec: devices.NetSpec{Kind: devices.NetSwitch, Name: sw}}
		gs = append(gs, sink)
	} else {
		send.ns = ns
		send.spec = devices.NetSpec{Kind: devices.NetTap, Name: netTapName}
		send.args = fmt.Sprintf("mode=send ip=10.79.0.2 peer=10.79.0.1 size=%d count=%d duration_ms=60000", size, n)
		hostDone = make(chan struct{})
		go func() {
			defer close(hostDone)
			host = UDPSink(sinkConn, 1, time.Now().Add(2*time.Minute), 2*time.Second)
		}()
	}
	if err := runNetGuests(sys, tr, gs); err != nil {
		return r, err
	}
	e, cpu, ok := send.marked("bench_start", "bench_end")
	if !ok {
		return r, fmt.Errorf("netbench sender reported no marks")
	}
	var rx float64
	if sink != nil {
		var err error
		if rx, err = sink.metric("rx_packets"); err != nil {
			return r, err
		}
		kbps, _ := sink.metric("rx_kbps")
		pps, _ := sink.metric("rx_pps")
		exp, _ := sink.metric("expected")
		r.mbps, r.pps = kbps/1e3, pps
		if exp > 0 {
			r.loss = 1 - rx/exp
		}
		se, _, _ := sink.marked("bench_start", "bench_end")
		e += se
		// Both VMs and their backends are in this process: its CPU time
		// from the sender's start to the sink's end.
		send.mu.Lock()
		c0 := send.cpu["bench_start"]
		send.mu.Unlock()
		sink.mu.Lock()
		if c1, ok := sink.cpu["bench_end"]; ok && c1 > c0 {
			cpu = c1 - c0
		}
		sink.mu.Unlock()
	} else {
		<-hostDone
		rx = float64(host.Received)
		r.mbps, r.pps = host.Mbps(), host.PPS()
		if host.Expected > 0 {
			r.loss = float64(host.Lost) / float64(host.Expected)
		}
	}
	if rx > 0 {
		r.exitsPer = float64(e) / rx
		r.cpuPer = float64(cpu.Nanoseconds()) / rx
	}
	return r, nil
}

// vethStream measures the host's own path: a Go sender in a to a Go sink in b.
func vethStream(a, b *NetNS, size, n int) (streamRun, error) {
	var r streamRun
	var sinkConn, sendConn *net.UDPConn
	if err := b.Do(func() (err error) {
		sinkConn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 78, 0, 2), Port: 5001})
		if err == nil {
			err = sinkConn.SetReadBuffer(4 << 20)
		}
		return err
	}); err != nil {
		return r, err
	}
	defer sinkConn.Close()
	if err := a.Do(func() (err error) {
		sendConn, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(10, 78, 0, 2), Port: 5001})
		return err
	}); err != nil {
		return r, err
	}
	defer sendConn.Close()
	done := make(chan StreamResult, 1)
	cpu0 := processCPU()
	go func() { done <- UDPSink(sinkConn, 1, time.Now().Add(2*time.Minute), 2*time.Second) }()
	if _, _, err := UDPStreamSend(sendConn, size, n, 1, time.Minute); err != nil {
		return r, err
	}
	res := <-done
	cpu := processCPU() - cpu0
	r.mbps, r.pps = res.Mbps(), res.PPS()
	if res.Expected > 0 {
		r.loss = float64(res.Lost) / float64(res.Expected)
	}
	if res.Received > 0 {
		r.cpuPer = float64(cpu.Nanoseconds()) / float64(res.Received)
	}
	return r, nil
}

// rrRun is one request/response measurement: round-trip times in ns.
type rrRun struct {
	rtts     []float64
	exitsPer float64 // user-space exits per round trip (guests only)
}

// vmRR runs netbench rr against a guest rrserver through the switch, or a
// host client against a guest rrserver on a tap in ns (ns != nil).
func vmRR(sys *kvm.System, tr *Trace, size, n int, sw string, ns *NetNS) (rrRun, error) {
	var r rrRun
	server := &netGuest{program: "netbench", domID: 1, args: "mode=rrserver ip=10.77.0.2 duration_ms=120000",
		spec: devices.NetSpec{Kind: devices.NetSwitch, Name: sw}}
	if ns == nil {
		client := &netGuest{program: "netbench", domID: 2,
			args: fmt.Sprintf("mode=rr ip=10.77.0.1 peer=10.77.0.2 size=%d count=%d", size, n),
			spec: devices.NetSpec{Kind: devices.NetSwitch, Name: sw}}
		if err := runNetGuests(sys, tr, []*netGuest{server, client}); err != nil {
			return r, err
		}
		khz := client.out.TSCKHz
		r.rtts = nsSeries(client.out.Series("rtt"), khz)
		e, _, _ := client.marked("bench_start", "bench_end")
		if len(r.rtts) > 0 {
			r.exitsPer = float64(e) / float64(len(r.rtts))
		}
		return r, nil
	}
	server.ns, server.ready = ns, make(chan struct{})
	server.spec = devices.NetSpec{Kind: devices.NetTap, Name: netTapName}
	server.args = "mode=rrserver ip=10.79.0.2 duration_ms=120000"
	var hostErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-server.ready
		hostErr = ns.Do(func() error {
			c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(10, 79, 0, 2), Port: 5001})
			if err != nil {
				return err
			}
			defer c.Close()
			r.rtts, _, err = UDPRoundTrips(c, size, n, 1, 200*time.Millisecond)
			return err
		})
	}()
	err := runNetGuests(sys, tr, []*netGuest{server})
	<-done
	if err != nil {
		return r, err
	}
	return r, hostErr
}

// vethRR measures host round trips over the veth pair: a Go client in a,
// a Go responder in b.
func vethRR(a, b *NetNS, size, n int) (rrRun, error) {
	var r rrRun
	var srv, cli *net.UDPConn
	if err := b.Do(func() (err error) {
		srv, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 78, 0, 2), Port: 5002})
		return err
	}); err != nil {
		return r, err
	}
	defer srv.Close()
	go UDPResponder(srv)
	if err := a.Do(func() (err error) {
		cli, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(10, 78, 0, 2), Port: 5002})
		return err
	}); err != nil {
		return r, err
	}
	defer cli.Close()
	var err error
	r.rtts, _, err = UDPRoundTrips(cli, size, n, 1, 200*time.Millisecond)
	return r, err
}
