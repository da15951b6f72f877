package guestkit_test

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xenolith/xenolith/bench"
	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/internal/devices"
	"github.com/xenolith/xenolith/internal/require"
)

// netVM describes one VM of a network test.
type netVM struct {
	program, args string
	domID         uint16
	spec          devices.NetSpec
	ns            *bench.NetNS // create the NIC inside this namespace (tap)
	onReport      func(vm.Report)
}

// runNetVMs boots the VMs concurrently, each with vif 0 attached as its
// spec says, and fails the test on guest failures or an unclean end.
func runNetVMs(t *testing.T, vms []netVM) []*guestkit.Outcome {
	t.Helper()
	require.KVM(t)
	for _, v := range vms {
		if _, err := guestkit.Program(v.program); err != nil {
			require.File(t, "build/"+v.program+".elf", "run make -C guestkit")
		}
	}
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	outs := make([]*guestkit.Outcome, len(vms))
	errs := make([]error, len(vms))
	vifs := make([]string, len(vms))
	var wg sync.WaitGroup
	for i, v := range vms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var nic *devices.Net
			outs[i], errs[i] = guestkit.Run(sys, guestkit.RunOptions{
				Program: v.program, Cmdline: v.args, DomID: v.domID, MemBytes: 32 << 20,
				Timeout: 60 * time.Second, OnReport: v.onReport,
				Setup: func(m *vm.VM) error {
					attach := func() (err error) {
						nic, err = devices.AttachNet(m, 0, v.spec, nil)
						return err
					}
					if v.ns != nil {
						return v.ns.Do(attach)
					}
					return attach()
				},
			})
			if nic != nil {
				vifs[i] = fmt.Sprintf("%+v", nic.Stats())
				nic.Close()
			}
		}()
	}
	wg.Wait()
	for i, out := range outs {
		if errs[i] != nil {
			t.Fatalf("%s (domain %d): %v", vms[i].program, vms[i].domID, errs[i])
		}
		for _, r := range out.Failures() {
			t.Errorf("%s (domain %d): guest %s at %s:%d: %s", vms[i].program, vms[i].domID, r.Kind, r.File, r.Line, r.Msg)
		}
		if out.Result.Reason != vm.ReasonPoweroff {
			t.Errorf("%s (domain %d): %s", vms[i].program, vms[i].domID, out.Result)
		}
		if t.Failed() {
			t.Logf("%s (domain %d) vif %s\nconsole:\n%s", vms[i].program, vms[i].domID, vifs[i], out.Console)
		}
	}
	return outs
}

func metric(t *testing.T, o *guestkit.Outcome, name string) uint64 {
	t.Helper()
	v, ok := o.Metric(name)
	if !ok {
		t.Errorf("metric %s missing\nconsole:\n%s", name, o.Console)
	}
	return v
}

// TestNetStreamTwoVMs sends a paced UDP stream of 1,400-byte datagrams from
// one VM to another through the in-process switch: below the link's
// capacity nothing may be lost, and every payload is verified by the sink.
func TestNetStreamTwoVMs(t *testing.T) {
	const n = 3000
	sw := devices.NetSpec{Kind: devices.NetSwitch, Name: "test-" + t.Name()}
	outs := runNetVMs(t, []netVM{
		{program: "netbench", domID: 1, spec: sw, args: "mode=sink ip=10.9.0.2 duration_ms=40000"},
		{program: "netbench", domID: 2, spec: sw,
			args: fmt.Sprintf("mode=send ip=10.9.0.1 peer=10.9.0.2 size=1400 count=%d rate=1000", n)},
	})
	if t.Failed() {
		return
	}
	sink, sender := outs[0], outs[1]
	if got := metric(t, sender, "tx_packets"); got != n {
		t.Errorf("sender sent %d datagrams, want %d", got, n)
	}
	for name, want := range map[string]uint64{"rx_packets": n, "expected": n, "lost": 0, "corrupt": 0, "dup": 0, "end_seen": 1} {
		if got := metric(t, sink, name); got != want {
			t.Errorf("sink %s = %d, want %d", name, got, want)
		}
	}
	t.Logf("sink: %d pps, %d kbit/s payload; sender exits %d, sink exits %d",
		metric(t, sink, "rx_pps"), metric(t, sink, "rx_kbps"), sender.Exits, sink.Exits)
}

// TestNetRequestResponseTwoVMs runs netbench's request/response pair
// between two VMs through the switch and checks every answer came back.
func TestNetRequestResponseTwoVMs(t *testing.T) {
	sw := devices.NetSpec{Kind: devices.NetSwitch, Name: "test-" + t.Name()}
	outs := runNetVMs(t, []netVM{
		{program: "netbench", domID: 1, spec: sw, args: "mode=rrserver ip=10.9.1.2 duration_ms=40000"},
		{program: "netbench", domID: 2, spec: sw, args: "mode=rr ip=10.9.1.1 peer=10.9.1.2 size=64 count=2000"},
	})
	if t.Failed() {
		return
	}
	client := outs[1]
	if got := metric(t, client, "rr_done"); got != 2000 {
		t.Errorf("rr_done = %d, want 2000", got)
	}
	if got := len(client.Series("rtt")); got != 2000 {
		t.Errorf("rtt series has %d samples, want 2000", got)
	}
	t.Logf("rtt p50 %d ns, p99 %d ns", metric(t, client, "rtt_p50_ns"), metric(t, client, "rtt_p99_ns"))
	if t.Failed() {
		t.Logf("server console:\n%s\nclient console:\n%s", outs[0].Console, client.Console)
	}
}

// TestNetTapPingAndUDPEcho boots netecho on a tap in a namespace the test
// makes; from that namespace the host pings the VM (the host's ping, or a Go
// ICMP client over a raw socket where ping is missing) and has UDP payloads
// echoed, then tells the guest to quit.
func TestNetTapPingAndUDPEcho(t *testing.T) {
	require.KVM(t)
	require.Root(t)
	ns, err := bench.NewNetNS("xlt")
	if err != nil {
		t.Skipf("cannot make a network namespace: %v", err)
	}
	defer ns.Close()
	const tapName = "xtap0"
	ready := make(chan struct{})
	var once sync.Once
	hostErr := make(chan error, 1)
	go func() {
		select {
		case <-ready:
		case <-time.After(50 * time.Second):
			hostErr <- fmt.Errorf("guest never reported ready")
			return
		}
		hostErr <- hostSide(t, ns, tapName)
	}()
	outs := runNetVMs(t, []netVM{{
		program: "netecho", domID: 1, ns: ns,
		spec: devices.NetSpec{Kind: devices.NetTap, Name: tapName},
		args: "ip=10.9.2.2 mask=24 duration_ms=45000",
		onReport: func(r vm.Report) {
			if r.Kind == vm.ReportMark && r.Msg == "ready" {
				once.Do(func() { close(ready) })
			}
		},
	}})
	if err := <-hostErr; err != nil {
		t.Fatal(err)
	}
	if t.Failed() {
		return
	}
	if got := metric(t, outs[0], "icmp_echoes"); got < 5 {
		t.Errorf("guest answered %d pings, want at least 5", got)
	}
	if got := metric(t, outs[0], "udp_echoes"); got < 64 {
		t.Errorf("guest echoed %d datagrams, want at least 64", got)
	}
}

// hostSide configures the tap's host end, pings the guest and checks UDP
// echoes, then sends the quit datagram.
func hostSide(t *testing.T, ns *bench.NetNS, tapName string) error {
	if err := ns.IP("addr", "add", "10.9.2.1/24", "dev", tapName); err != nil {
		return err
	}
	if err := ns.IP("link", "set", tapName, "up"); err != nil {
		return err
	}
	guest := net.IPv4(10, 9, 2, 2)
	return ns.Do(func() error {
		if path, err := exec.LookPath("ping"); err == nil {
			// The host's own ping, run from this thread so that it starts
			// in the test's namespace.
			out, err := exec.Command(path, "-c", "5", "-i", "0.2", "-W", "2", guest.String()).CombinedOutput()
			if err != nil || !strings.Contains(string(out), " 5 received") {
				return fmt.Errorf("ping: %v\n%s", err, out)
			}
			t.Logf("%s", out)
		} else {
			t.Logf("no ping command (scripts/deps.sh installs iputils-ping): using a Go ICMP client")
			rtts, err := bench.Ping(guest, 5, 2*time.Second)
			if err != nil {
				return err
			}
			if len(rtts) < 5 {
				return fmt.Errorf("ping: %d of 5 replies", len(rtts))
			}
			t.Logf("ping rtts: %v", rtts)
		}
		conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: guest, Port: 7})
		if err != nil {
			return err
		}
		defer conn.Close()
		buf := make([]byte, 2048)
		for i := 0; i < 64; i++ {
			msg := bytes.Repeat([]byte{byte(i)}, 1+i*22) // 1 .. 1387 bytes
			copy(msg, fmt.Sprintf("%02d", i))
			if _, err := conn.Write(msg); err != nil {
				return err
			}
			conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, err := conn.Read(buf)
			if err != nil {
				return fmt.Errorf("udp echo %d: %w", i, err)
			}
			if !bytes.Equal(buf[:n], msg) {
				return fmt.Errorf("udp echo %d: got %d bytes %q..., want %d bytes", i, n, buf[:min(n, 8)], len(msg))
			}
		}
		if _, err := conn.Write([]byte("netecho:quit")); err != nil {
			return err
		}
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := conn.Read(buf)
		if err != nil || !strings.HasPrefix(string(buf[:n]), "netecho:bye") {
			return fmt.Errorf("quit: %q, %v", buf[:n], err)
		}
		return nil
	})
}
