package netback

import "encoding/binary"

// Ethernet and IP numbers used to complete checksums.
const (
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86DD
	etherTypeVLAN = 0x8100
	protoTCP      = 6
	protoUDP      = 17
)

// CompleteChecksum fills in the TCP or UDP checksum of an Ethernet frame
// whose sender left it blank (NETTXF_csum_blank), computing it from scratch
// over the pseudo-header and the L4 segment, whatever the field held. It
// handles IPv4 (not fragmented) and IPv6 without extension headers, behind
// at most one VLAN tag, and reports whether it wrote a checksum. It never
// reads or writes outside frame.
func CompleteChecksum(frame []byte) bool {
	if len(frame) < 14 {
		return false
	}
	off := 12
	etype := binary.BigEndian.Uint16(frame[off:])
	if etype == etherTypeVLAN {
		if len(frame) < 18 {
			return false
		}
		off += 4
		etype = binary.BigEndian.Uint16(frame[off:])
	}
	ip := frame[off+2:]
	var l4 []byte
	var proto uint8
	var sum uint32
	switch etype {
	case etherTypeIPv4:
		if len(ip) < 20 || ip[0]>>4 != 4 {
			return false
		}
		ihl := int(ip[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(ip[2:]))
		frag := binary.BigEndian.Uint16(ip[6:])
		if ihl < 20 || total < ihl || total > len(ip) || frag&0x3fff != 0 {
			return false
		}
		proto = ip[9]
		l4 = ip[ihl:total]
		sum = sum16(ip[12:20], 0) // source and destination
	case etherTypeIPv6:
		if len(ip) < 40 || ip[0]>>4 != 6 {
			return false
		}
		plen := int(binary.BigEndian.Uint16(ip[4:]))
		if 40+plen > len(ip) {
			return false
		}
		proto = ip[6]
		l4 = ip[40 : 40+plen]
		sum = sum16(ip[8:40], 0)
	default:
		return false
	}
	var field int
	switch proto {
	case protoTCP:
		field = 16
		if len(l4) < 20 {
			return false
		}
	case protoUDP:
		field = 6
		if len(l4) < 8 {
			return false
		}
	default:
		return false
	}
	if len(l4) > 0xffff {
		return false
	}
	sum += uint32(proto) + uint32(len(l4))
	l4[field], l4[field+1] = 0, 0
	c := ^fold(sum16(l4, sum))
	if c == 0 && proto == protoUDP {
		c = 0xffff // RFC 768: zero means "no checksum"
	}
	binary.BigEndian.PutUint16(l4[field:], c)
	return true
}

// sum16 adds b as big-endian 16-bit words (a trailing byte padded with
// zero) to sum, without folding.
func sum16(b []byte, sum uint32) uint32 {
	s := uint64(sum)
	for len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	for s>>32 != 0 {
		s = s&0xffffffff + s>>32
	}
	return uint32(s)
}

// fold reduces a 32-bit one's-complement sum to 16 bits.
func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
