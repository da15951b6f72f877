package bench

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/xenolith/xenolith/bench/stats"
	"github.com/xenolith/xenolith/hv/kvm"
)

// netTapName is the tap interface the suite makes inside its namespace.
const netTapName = "xbtap0"

// NetOptions configure the network suite.
type NetOptions struct {
	Runs       int       // runs of each measurement (default 3)
	Packets    int       // datagrams per stream run (default 50000)
	Sizes      []int     // UDP payload sizes of the stream runs (default 1400 and 64)
	RoundTrips int       // requests per round-trip run (default 2000, 64-byte payloads)
	NoTap      bool      // skip the VM<->host (tap) measurements
	Progress   io.Writer `json:"-"`
	Trace      *Trace    `json:"-"` // eBPF probes for every VM (--trace), or nil
}

// ErrNetRoot reports that the suite cannot make its network namespaces.
var ErrNetRoot = errors.New("bench net needs root (it makes network namespaces, a veth pair and a tap)")

// Net measures UDP through the PV network path against the host's own
// veth path in the same run, with the same payload sizes:
//   - stream throughput and packet rate, VM->VM through the in-process
//     switch (netbench send -> netbench sink, every payload verified) and
//     VM->host through a tap (netbench send -> a Go sink), against a Go
//     sender and sink in two namespaces joined by a veth pair (the floor);
//   - round-trip latency of 64-byte request/response, VM<->VM, host<->VM
//     and host<->host over the veth;
//   - user-space exits and process CPU per datagram (between the guests'
//     bench_start and bench_end marks).
func Net(sys *kvm.System, o NetOptions) (*Result, error) {
	tr := o.Trace
	if o.Runs == 0 {
		o.Runs = 3
	}
	if o.Packets == 0 {
		o.Packets = 50000
	}
	if len(o.Sizes) == 0 {
		o.Sizes = []int{1400, 64}
	}
	if o.RoundTrips == 0 {
		o.RoundTrips = 2000
	}
	for _, s := range o.Sizes {
		if s < PayloadHeader || s > 1472 {
			return nil, fmt.Errorf("bench net: payload size %d outside %d..1472", s, PayloadHeader)
		}
	}
	if os.Geteuid() != 0 {
		return nil, ErrNetRoot
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	a, err := NewNetNS("xbn-a")
	if err != nil {
		return nil, err
	}
	defer a.Close()
	b, err := NewNetNS("xbn-b")
	if err != nil {
		return nil, err
	}
	defer b.Close()
	if err := VethPair(a, "xbva", "10.78.0.1/24", b, "xbvb", "10.78.0.2/24"); err != nil {
		return nil, err
	}
	var t *NetNS
	if !o.NoTap {
		if t, err = NewNetNS("xbn-t"); err != nil {
			return nil, err
		}
		defer t.Close()
		// A persistent tap keeps its address while VMs come and go.
		if err := ensureTap(t); err != nil {
			return nil, err
		}
	}
	res := &Result{Suite: "net", Config: o}
	sw := fmt.Sprintf("bench-net-%d", os.Getpid())
	for _, size := range o.Sizes {
		var veth, vv, vh []streamRun
		for run := 0; run < o.Runs; run++ {
			fmt.Fprintf(progress, "net: %d B stream, run %d/%d\n", size, run+1, o.Runs)
			r, err := vethStream(a, b, size, o.Packets)
			if err != nil {
				return nil, fmt.Errorf("veth stream: %w", err)
			}
			veth = append(veth, r)
			if r, err = vmStream(sys, tr, size, o.Packets, sw, nil, nil); err != nil {
				return nil, fmt.Errorf("VM->VM stream: %w", err)
			}
			vv = append(vv, r)
			if t != nil {
				if r, err = tapStream(sys, tr, t, size, o.Packets); err != nil {
					return nil, fmt.Errorf("VM->host stream: %w", err)
				}
				vh = append(vh, r)
			}
		}
		res.Metrics = append(res.Metrics, streamMetrics(size, veth, vv, vh)...)
	}
	var rv, rvv, rhv []rrRun
	for run := 0; run < o.Runs; run++ {
		fmt.Fprintf(progress, "net: round trips, run %d/%d\n", run+1, o.Runs)
		r, err := vethRR(a, b, 64, o.RoundTrips)
		if err != nil {
			return nil, fmt.Errorf("veth round trips: %w", err)
		}
		rv = append(rv, r)
		if r, err = vmRR(sys, tr, 64, o.RoundTrips, sw, nil); err != nil {
			return nil, fmt.Errorf("VM<->VM round trips: %w", err)
		}
		rvv = append(rvv, r)
		if t != nil {
			if r, err = vmRR(sys, tr, 64, o.RoundTrips, sw, t); err != nil {
				return nil, fmt.Errorf("host<->VM round trips: %w", err)
			}
			rhv = append(rhv, r)
		}
	}
	res.Metrics = append(res.Metrics, rrMetrics(rv, rvv, rhv)...)
	res.Notes = append(res.Notes, "Streams are unpaced: throughput is the sink's verified payload goodput; loss is what the sink never saw.")
	return res, nil
}

// tapStream runs a guest sender to a Go sink in t through a tap.
func tapStream(sys *kvm.System, tr *Trace, t *NetNS, size, n int) (streamRun, error) {
	var conn *net.UDPConn
	err := t.Do(func() (err error) {
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{Port: 5001})
		if err == nil {
			err = conn.SetReadBuffer(4 << 20)
		}
		return err
	})
	if err != nil {
		return streamRun{}, err
	}
	defer conn.Close()
	return vmStream(sys, tr, size, n, "", t, conn)
}

// ensureTap creates the persistent tap in t with the host address, once.
func ensureTap(t *NetNS) error {
	if err := t.IP("link", "show", netTapName); err == nil {
		return nil
	}
	if err := t.IP("tuntap", "add", "dev", netTapName, "mode", "tap"); err != nil {
		return err
	}
	if err := t.IP("addr", "add", "10.79.0.1/24", "dev", netTapName); err != nil {
		return err
	}
	return t.IP("link", "set", netTapName, "up")
}

func pick(rs []streamRun, f func(streamRun) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func streamMetrics(size int, veth, vv, vh []streamRun) []Metric {
	q := fmt.Sprintf("UDP stream %d B", size)
	mb := func(r streamRun) float64 { return r.mbps }
	pp := func(r streamRun) float64 { return r.pps }
	var ms []Metric
	for _, k := range []struct {
		what, unit string
		f          func(streamRun) float64
	}{{"throughput", "Mbit/s", mb}, {"packet rate", "packets/s", pp}} {
		floor := Metric{Name: fmt.Sprintf("%s %s, host veth (floor)", q, k.what), Unit: k.unit, Runs: pick(veth, k.f)}
		floor.Summary = stats.Summarize(floor.Runs)
		ms = append(ms, floor)
		for _, side := range []struct {
			name string
			rs   []streamRun
		}{{"VM->VM switch", vv}, {"VM->host tap", vh}} {
			if len(side.rs) == 0 {
				continue
			}
			m := Metric{Name: fmt.Sprintf("%s %s, %s", q, k.what, side.name), Unit: k.unit, Runs: pick(side.rs, k.f), Floor: floor.Name}
			m.Summary = stats.Summarize(m.Runs)
			m.Ratio, m.RatioLo, m.RatioHi = stats.PairedRatio(m.Runs, floor.Runs)
			ms = append(ms, m)
		}
	}
	for _, side := range []struct {
		name string
		rs   []streamRun
	}{{"host veth", veth}, {"VM->VM switch", vv}, {"VM->host tap", vh}} {
		if len(side.rs) == 0 {
			continue
		}
		loss := pick(side.rs, func(r streamRun) float64 { return r.loss })
		cpu := pick(side.rs, func(r streamRun) float64 { return r.cpuPer })
		ms = append(ms,
			Metric{Name: fmt.Sprintf("%s, %s, lost fraction", q, side.name), Unit: "ratio", Summary: stats.Summarize(loss), Runs: loss},
			Metric{Name: fmt.Sprintf("%s, %s, process CPU per datagram", q, side.name), Unit: "ns", Summary: stats.Summarize(cpu), Runs: cpu})
		if side.name != "host veth" {
			ex := pick(side.rs, func(r streamRun) float64 { return r.exitsPer })
			ms = append(ms, Metric{Name: fmt.Sprintf("%s, %s, user-space exits per datagram", q, side.name), Unit: "count", Summary: stats.Summarize(ex), Runs: ex})
		}
	}
	return ms
}

func rrMetrics(veth, vv, hv []rrRun) []Metric {
	var ms []Metric
	var floorName string
	for _, side := range []struct {
		name string
		rs   []rrRun
	}{{"host<->host veth (floor)", veth}, {"VM<->VM switch", vv}, {"host<->VM tap", hv}} {
		if len(side.rs) == 0 {
			continue
		}
		var all, meds []float64
		for _, r := range side.rs {
			all = append(all, r.rtts...)
			meds = append(meds, stats.Summarize(r.rtts).P50)
		}
		m := Metric{Name: "UDP 64 B round trip, " + side.name, Unit: "ns", Summary: stats.Summarize(all), Runs: meds}
		if floorName == "" {
			floorName = m.Name
		} else {
			m.Floor = floorName
			m.Ratio, m.RatioLo, m.RatioHi = stats.PairedRatio(meds, ms[0].Runs)
		}
		ms = append(ms, m)
		if side.name == "VM<->VM switch" {
			ex := make([]float64, len(side.rs))
			for i, r := range side.rs {
				ex[i] = r.exitsPer
			}
			ms = append(ms, Metric{Name: "UDP 64 B round trip, VM<->VM switch, user-space exits per round trip", Unit: "count", Summary: stats.Summarize(ex), Runs: ex})
		}
	}
	return ms
}
