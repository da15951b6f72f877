package bench

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/internal/require"
)

var (
	testGuestMAC = [6]byte{0x00, 0x16, 0x3e, 0x00, 0x00, 0x05}
	testGuestIP  = [4]byte{10, 200, 0, 5}
)

// arpFrame is a who-has for target from the test guest.
func arpFrame(op uint16, target [4]byte) []byte {
	b := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, testGuestMAC[:]...)
	b = binary.BigEndian.AppendUint16(b, etherARP)
	b = binary.BigEndian.AppendUint16(b, 1)
	b = binary.BigEndian.AppendUint16(b, etherIPv4)
	b = append(b, 6, 4)
	b = binary.BigEndian.AppendUint16(b, op)
	b = append(b, testGuestMAC[:]...)
	b = append(b, testGuestIP[:]...)
	b = append(b, 0, 0, 0, 0, 0, 0)
	return append(b, target[:]...)
}

// udpFrame is a datagram from the test guest to dst:dport with a valid
// IPv4 header checksum (the UDP checksum is left 0: none).
func udpFrame(dst [4]byte, dport uint16, payload []byte) []byte {
	b := append(netProbeResponderMAC[:], testGuestMAC[:]...)
	b = binary.BigEndian.AppendUint16(b, etherIPv4)
	ip := make([]byte, 20)
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	ip[8], ip[9] = 64, protoUDP
	copy(ip[12:], testGuestIP[:])
	copy(ip[16:], dst[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	b = append(b, ip...)
	b = binary.BigEndian.AppendUint16(b, 4000)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint16(b, uint16(8+len(payload)))
	b = append(b, 0, 0)
	return append(b, payload...)
}

func TestNetProbeReply(t *testing.T) {
	payload := []byte("XNP1\x00\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00")
	good := udpFrame(netProbeResponderIP, netProbePort, payload)
	padded := append(append([]byte(nil), good...), make([]byte, 10)...)
	badLen := append([]byte(nil), good...)
	badLen[ethHdr+2] = 0xff // IPv4 total length beyond the frame
	frag := append([]byte(nil), good...)
	frag[ethHdr+6] = 0x20 // more fragments
	cases := []struct {
		name  string
		frame []byte
		want  string // "arp", "udp" or "" (no answer)
	}{
		{"arp who-has responder", arpFrame(arpRequest, netProbeResponderIP), "arp"},
		{"arp who-has someone else", arpFrame(arpRequest, [4]byte{10, 200, 0, 9}), ""},
		{"arp reply", arpFrame(arpReply, netProbeResponderIP), ""},
		{"udp echo", good, "udp"},
		{"udp echo, padded frame", padded, "udp"},
		{"udp to another port", udpFrame(netProbeResponderIP, 9, payload), ""},
		{"udp to another host", udpFrame([4]byte{10, 200, 0, 9}, netProbePort, payload), ""},
		{"ip total length past the frame", badLen, ""},
		{"fragment", frag, ""},
		{"truncated", good[:30], ""},
		{"runt", good[:10], ""},
		{"empty", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, udp := netProbeReply(nil, c.frame, netProbeResponderMAC, netProbeResponderIP, netProbePort)
			switch c.want {
			case "":
				if out != nil {
					t.Fatalf("answered % x", out)
				}
			case "arp":
				if out == nil || udp || len(out) != ethHdr+arpLen {
					t.Fatalf("ARP answer %d bytes, udp %v", len(out), udp)
				}
				a := out[ethHdr:]
				if !bytes.Equal(out[:6], testGuestMAC[:]) || binary.BigEndian.Uint16(a[6:]) != arpReply ||
					!bytes.Equal(a[8:14], netProbeResponderMAC[:]) || !bytes.Equal(a[14:18], netProbeResponderIP[:]) ||
					!bytes.Equal(a[18:24], testGuestMAC[:]) || !bytes.Equal(a[24:28], testGuestIP[:]) {
					t.Fatalf("bad ARP reply % x", out)
				}
			case "udp":
				if out == nil || !udp || len(out) != len(good) {
					t.Fatalf("echo %d bytes (want %d), udp %v", len(out), len(good), udp)
				}
				ip := out[ethHdr:]
				if !bytes.Equal(out[:6], testGuestMAC[:]) || !bytes.Equal(out[6:12], netProbeResponderMAC[:]) ||
					!bytes.Equal(ip[12:16], netProbeResponderIP[:]) || !bytes.Equal(ip[16:20], testGuestIP[:]) ||
					binary.BigEndian.Uint16(ip[20:]) != netProbePort || binary.BigEndian.Uint16(ip[22:]) != 4000 ||
					!bytes.Equal(ip[28:], payload) || !bytes.Equal(ip[10:12], good[ethHdr+10:ethHdr+12]) {
					t.Fatalf("bad echo % x", out)
				}
			}
		})
	}
}

func TestNetStep(t *testing.T) {
	var st DensityStep
	ps := probeSample{rates: []float64{100, 90}, lats: []float64{1e5, 2e5, 3e5}, done: 3}
	netStep(&st, ps, SLO{NetRTTP99Ms: 1})
	if !st.SLOOK || st.NetLost != 0 || !(st.NetP99Ms > 0.2 && st.NetP99Ms <= 0.3) || st.RateMin != 90 {
		t.Errorf("no loss: %+v", st)
	}
	st = DensityStep{}
	ps.done = 4 // one request unanswered: counted as the timeout
	netStep(&st, ps, SLO{NetRTTP99Ms: 1})
	if st.SLOOK || st.NetLost != 0.25 || st.NetP99Ms < 50 {
		t.Errorf("one lost of four: %+v", st)
	}
	st = DensityStep{}
	netStep(&st, probeSample{}, SLO{NetRTTP99Ms: 1})
	if st.SLOOK {
		t.Errorf("nothing measured but SLO met: %+v", st)
	}
}

func FuzzNetProbeReply(f *testing.F) {
	f.Add(arpFrame(arpRequest, netProbeResponderIP))
	f.Add(udpFrame(netProbeResponderIP, netProbePort, []byte("XNP1 request....")))
	f.Add(udpFrame(netProbeResponderIP, netProbePort, nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, frame []byte) {
		in := append([]byte(nil), frame...)
		out, _ := netProbeReply(nil, frame, netProbeResponderMAC, netProbeResponderIP, netProbePort)
		if !bytes.Equal(in, frame) {
			t.Fatal("frame modified")
		}
		if out != nil && (len(out) < ethHdr+arpLen || len(out) > len(frame)+ethHdr) {
			t.Fatalf("answer of %d bytes to a %d-byte frame", len(out), len(frame))
		}
	})
}

// TestDensityNet runs a three-VM step of the net profile: each VM's UDP
// round trips through PV net to the switch's responder are measured.
func TestDensityNet(t *testing.T) {
	require.KVM(t)
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	p, err := LoadProfile("net")
	if err != nil {
		t.Fatal(err)
	}
	q := *p
	q.SLO.NetRTTP99Ms = 1e6 // the SLO holds: this checks the probe, not the host
	res, err := Density(sys, DensityOptions{Profile: &q, Max: 3, Step: 3, Window: time.Second, CreateCycles: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"UDP request/response p50, largest fleet", "UDP request/response p99, largest fleet"} {
		if m := metric(res, name); m == nil || !(m.Summary.P50 > 0) {
			t.Errorf("%s: %+v (notes %q)", name, m, res.Notes)
		}
	}
	if v := metric(res, "VMs at SLO (net)"); v == nil || v.Summary.P50 != 3 {
		t.Errorf("VMs at SLO: %+v (notes %q)", v, res.Notes)
	}
	if m := metric(res, "requests/s of the slowest VM, largest fleet"); m == nil || !(m.Summary.P50 > 0) {
		t.Errorf("slowest VM's request rate: %+v", m)
	}
	t.Logf("notes: %q", res.Notes)
	for _, m := range res.Metrics {
		t.Logf("%s: %.4g %s", m.Name, m.Summary.P50, m.Unit)
	}
}
