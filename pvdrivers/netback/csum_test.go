package netback

import (
	"encoding/binary"
	"testing"
)

// udp4Frame returns an Ethernet/IPv4/UDP frame carrying payload, with a
// correct checksum.
func udp4Frame(payload []byte) []byte {
	f := make([]byte, 14+20+8+len(payload))
	copy(f, []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00})
	ip := f[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, protoUDP
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	binary.BigEndian.PutUint16(ip[10:], ^fold(sum16(ip[:20], 0)))
	u := ip[20:]
	binary.BigEndian.PutUint16(u[0:], 1234)
	binary.BigEndian.PutUint16(u[2:], 5678)
	binary.BigEndian.PutUint16(u[4:], uint16(8+len(payload)))
	copy(u[8:], payload)
	CompleteChecksum(f)
	return f
}

// tcp6Frame returns an Ethernet/IPv6/TCP frame carrying payload.
func tcp6Frame(payload []byte) []byte {
	f := make([]byte, 14+40+20+len(payload))
	copy(f, []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd})
	ip := f[14:]
	ip[0], ip[6], ip[7] = 0x60, protoTCP, 64
	binary.BigEndian.PutUint16(ip[4:], uint16(20+len(payload)))
	ip[8], ip[23], ip[24], ip[39] = 0xfe, 1, 0xfe, 2
	tcp := ip[40:]
	tcp[12] = 5 << 4
	copy(tcp[20:], payload)
	return f
}

// validL4 verifies a frame's TCP/UDP checksum independently of
// CompleteChecksum: the sum over pseudo-header and segment must be 0xffff.
func validL4(f []byte) bool {
	ip := f[14:]
	var sum uint32
	var l4 []byte
	var proto uint8
	if ip[0]>>4 == 4 {
		ihl := int(ip[0]&15) * 4
		l4 = ip[ihl:binary.BigEndian.Uint16(ip[2:])]
		proto = ip[9]
		sum = sum16(ip[12:20], 0)
	} else {
		l4 = ip[40 : 40+int(binary.BigEndian.Uint16(ip[4:]))]
		proto = ip[6]
		sum = sum16(ip[8:40], 0)
	}
	sum += uint32(proto) + uint32(len(l4))
	return fold(sum16(l4, sum)) == 0xffff
}

func TestCompleteChecksum(t *testing.T) {
	tests := []struct {
		name  string
		frame func() []byte
		ok    bool
	}{
		{"udp4", func() []byte { return udp4Frame([]byte("odd length!")) }, true},
		{"udp4 garbage field", func() []byte {
			f := udp4Frame([]byte("x"))
			f[14+20+6], f[14+20+7] = 0xde, 0xad
			return f
		}, true},
		{"tcp6", func() []byte { return tcp6Frame([]byte("payload")) }, true},
		{"vlan", func() []byte {
			f := udp4Frame([]byte("tagged"))
			v := append(append(append([]byte{}, f[:12]...), 0x81, 0x00, 0, 5), f[12:]...)
			return v
		}, false}, // validL4 below does not parse VLAN; checked separately
		{"fragment", func() []byte {
			f := udp4Frame([]byte("frag"))
			f[14+6] = 0x20 // MF
			return f
		}, false},
		{"icmp", func() []byte {
			f := udp4Frame([]byte("icmp"))
			f[14+9] = 1
			return f
		}, false},
		{"truncated ip", func() []byte { return udp4Frame([]byte("abc"))[:30] }, false},
		{"total length past frame", func() []byte {
			f := udp4Frame([]byte("abc"))
			binary.BigEndian.PutUint16(f[16:], 9000)
			return f
		}, false},
		{"arp", func() []byte { f := make([]byte, 60); f[12], f[13] = 8, 6; return f }, false},
	}
	for _, tt := range tests {
		f := tt.frame()
		got := CompleteChecksum(f)
		if tt.name == "vlan" {
			if !got {
				t.Errorf("vlan: not completed")
			}
			untagged := append(append([]byte{}, f[:12]...), f[16:]...)
			if !validL4(untagged) {
				t.Errorf("vlan: bad checksum")
			}
			continue
		}
		if got != tt.ok {
			t.Errorf("%s: completed %v, want %v", tt.name, got, tt.ok)
		}
		if got && !validL4(f) {
			t.Errorf("%s: checksum does not verify", tt.name)
		}
	}
}

func FuzzCompleteChecksum(f *testing.F) {
	f.Add(udp4Frame([]byte("seed")))
	f.Add(tcp6Frame([]byte("seed")))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		n := len(b)
		CompleteChecksum(b)
		if len(b) != n {
			t.Fatal("length changed")
		}
	})
}
