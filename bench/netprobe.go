package bench

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/xenolith/xenolith/bench/stats"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/internal/devices"
	"github.com/xenolith/xenolith/pvdrivers/netsw"
)

// The net profile's probe: every VM runs guestkit's netprobe, which sends
// one small UDP request at a time to a responder and records each round
// trip in a latency ring in guest memory (blkprobe's layout, read by
// ringReader). The responder is a port of the fleet's in-process switch,
// not a VM: it answers ARP for its address and echoes UDP datagrams sent
// to its port, so a fleet of N VMs needs N VMs, not 2N.

// Addresses of a net-profile fleet: one /16, the responder at its top.
var (
	netProbeResponderIP  = [4]byte{10, 200, 255, 254}
	netProbeResponderMAC = [6]byte{0x02, 0x58, 0x4e, 0x50, 0xff, 0xfe} // locally administered
)

// netProbePort is the UDP port the responder echoes.
const netProbePort = 7

// netProbeQueue is how many replies may wait for the responder's sender.
const netProbeQueue = 1024

// netSwitchSeq numbers the switches of successive net fleets.
var netSwitchSeq atomic.Uint64

// netProbeIP is the guest address of domain dom in a net fleet.
func netProbeIP(dom uint16) [4]byte {
	return [4]byte{10, 200, byte(dom >> 8), byte(dom)}
}

// netProbeArgs are the netprobe arguments of domain dom.
func netProbeArgs(dom uint16) string {
	ip, r := netProbeIP(dom), netProbeResponderIP
	return fmt.Sprintf("ip=%d.%d.%d.%d mask=16 peer=%d.%d.%d.%d port=%d", ip[0], ip[1], ip[2], ip[3], r[0], r[1], r[2], r[3], netProbePort)
}

// netResponder answers every net-profile VM of one fleet on its switch.
type netResponder struct {
	name string // the switch's name (devices.SharedSwitch)
	port *netsw.Port
	q    chan []byte // replies for the sender goroutine
	done chan struct{}
	pool sync.Pool // reply buffers

	closeOnce sync.Once
	served    atomic.Uint64 // UDP requests echoed
	dropped   atomic.Uint64 // replies dropped: the queue was full
}

// newNetResponder creates a fleet's switch and attaches the responder.
func newNetResponder() *netResponder {
	r := &netResponder{
		name: fmt.Sprintf("xenolith-density-net-%d", netSwitchSeq.Add(1)),
		q:    make(chan []byte, netProbeQueue),
		done: make(chan struct{}),
	}
	r.pool.New = func() any { return make([]byte, 0, 128) }
	r.port = devices.SharedSwitch(r.name).Attach(r.receive)
	go r.send()
	return r
}

// receive is the switch's delivery: it must not block nor keep frame, so
// it builds the reply in a buffer of its own and queues it.
func (r *netResponder) receive(frame []byte) bool {
	buf := r.pool.Get().([]byte)
	reply, udp := netProbeReply(buf[:0], frame, netProbeResponderMAC, netProbeResponderIP, netProbePort)
	if reply == nil {
		r.pool.Put(buf)
		return true // not for us: accepted and ignored
	}
	select {
	case r.q <- reply:
		if udp {
			r.served.Add(1)
		}
	default:
		r.dropped.Add(1)
		r.pool.Put(reply[:0])
	}
	return true
}

// send puts queued replies on the switch (outside the switch's delivery,
// which holds its lock).
func (r *netResponder) send() {
	defer close(r.done)
	for b := range r.q {
		r.port.Send(b)
		r.pool.Put(b[:0])
	}
}

// close detaches the responder; call it after every VM's vif is closed.
func (r *netResponder) close() {
	if r == nil {
		return
	}
	r.closeOnce.Do(func() {
		r.port.Close() // no more deliveries after this returns
		close(r.q)
		<-r.done
	})
}

// probeNIC is one net-profile VM's vif.
type probeNIC struct{ n *devices.Net }

// attach gives VM m a vif on the responder's switch.
func (r *netResponder) attach(m *vm.VM) (*probeNIC, error) {
	n, err := devices.AttachNet(m, 0, devices.NetSpec{Kind: devices.NetSwitch, Name: r.name}, slog.Default())
	if err != nil {
		return nil, fmt.Errorf("probe vif: %w", err)
	}
	return &probeNIC{n: n}, nil
}

// close detaches the vif (before guest RAM goes: the backend reads the rings).
func (p *probeNIC) close() {
	if p == nil {
		return
	}
	p.n.Close()
}

// Frame layout offsets (Ethernet II, IPv4, UDP, ARP for IPv4 over Ethernet).
const (
	ethHdr     = 14
	etherIPv4  = 0x0800
	etherARP   = 0x0806
	arpLen     = 28
	ipMinHdr   = 20
	udpHdr     = 8
	protoUDP   = 17
	arpRequest = 1
	arpReply   = 2
)

// netProbeReply builds in buf the responder's answer to frame: an ARP
// reply to a who-has for ip, or the echo of a UDP datagram sent to ip:port
// (addresses and ports swapped, which leaves both checksums valid). It
// returns nil when frame needs no answer or is malformed; udp says the
// answer is an echo. frame comes from a guest: every field is checked
// against the frame's length before use.
func netProbeReply(buf, frame []byte, mac [6]byte, ip [4]byte, port uint16) (reply []byte, udp bool) {
	if len(frame) < ethHdr {
		return nil, false
	}
	switch binary.BigEndian.Uint16(frame[12:14]) {
	case etherARP:
		a := frame[ethHdr:]
		if len(a) < arpLen || binary.BigEndian.Uint16(a[0:2]) != 1 || binary.BigEndian.Uint16(a[2:4]) != etherIPv4 ||
			a[4] != 6 || a[5] != 4 || binary.BigEndian.Uint16(a[6:8]) != arpRequest || [4]byte(a[24:28]) != ip {
			return nil, false
		}
		out := append(buf, a[8:14]...) // to the asker
		out = append(out, mac[:]...)
		out = binary.BigEndian.AppendUint16(out, etherARP)
		out = binary.BigEndian.AppendUint16(out, 1)
		out = binary.BigEndian.AppendUint16(out, etherIPv4)
		out = append(out, 6, 4)
		out = binary.BigEndian.AppendUint16(out, arpReply)
		out = append(out, mac[:]...)
		out = append(out, ip[:]...)
		out = append(out, a[8:18]...) // the asker's MAC and IP
		return out, false
	case etherIPv4:
		p := frame[ethHdr:]
		if len(p) < ipMinHdr || p[0]>>4 != 4 {
			return nil, false
		}
		ihl := int(p[0]&0xf) * 4
		total := int(binary.BigEndian.Uint16(p[2:4]))
		flagsFrag := binary.BigEndian.Uint16(p[6:8])
		if ihl < ipMinHdr || total < ihl+udpHdr || total > len(p) || p[9] != protoUDP ||
			flagsFrag&0x3fff != 0 || [4]byte(p[16:20]) != ip {
			return nil, false
		}
		u := p[ihl:total]
		if binary.BigEndian.Uint16(u[2:4]) != port || int(binary.BigEndian.Uint16(u[4:6])) != len(u) {
			return nil, false
		}
		out := append(buf, frame[6:12]...) // back to the sender
		out = append(out, mac[:]...)
		out = append(out, frame[12:ethHdr+total]...)
		q := out[ethHdr:]
		var a [4]byte
		copy(a[:], q[12:16])
		copy(q[12:16], q[16:20])
		copy(q[16:20], a[:])
		v := q[ihl:]
		sp, dp := binary.BigEndian.Uint16(v[0:2]), binary.BigEndian.Uint16(v[2:4])
		binary.BigEndian.PutUint16(v[0:2], dp)
		binary.BigEndian.PutUint16(v[2:4], sp)
		return out, true
	}
	return nil, false
}

// netProbeTimeoutNs is netprobe's default wait for an answer (timeout_ms):
// an unanswered request counts as this long in the percentiles.
const netProbeTimeoutNs = 100e6

// netStep fills a density step's net figures from a window of the probe
// and judges the SLO: the p99 round trip of every VM's requests, an
// unanswered one counted as the guest's timeout, within slo.NetRTTP99Ms.
func netStep(st *DensityStep, ps probeSample, slo SLO) {
	if len(ps.rates) > 0 {
		r := sorted(ps.rates)
		st.RateMin, st.RateP50 = r[0], stats.Percentile(r, 50)
	}
	lats := ps.lats
	if lost := int(ps.done) - len(ps.lats); lost > 0 && ps.done > 0 {
		st.NetLost = float64(lost) / float64(ps.done)
		lats = append(append([]float64(nil), lats...), make([]float64, lost)...)
		for i := len(ps.lats); i < len(lats); i++ {
			lats[i] = netProbeTimeoutNs
		}
	}
	if len(lats) > 0 {
		sum := stats.Summarize(lats)
		st.NetP50Ms, st.NetP99Ms = sum.P50/1e6, sum.P99/1e6
	}
	st.SLOValue = st.NetP99Ms
	st.SLOOK = len(lats) > 0 && st.NetP99Ms <= slo.NetRTTP99Ms
}
