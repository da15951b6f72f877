package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Payload kinds of the netbench datagram format (guestkit/programs/netbench.c).
const (
	PayloadData     = 0 // a stream datagram
	PayloadEnd      = 1 // end of a stream; seq is the number of datagrams sent
	PayloadRequest  = 2 // a request/response request
	PayloadResponse = 3 // its answer
)

// PayloadHeader is the size of the netbench payload header; payloads are
// at least this long.
const PayloadHeader = 32

const (
	payloadMagic  = 0x314e4258 // "XBN1", little-endian
	payloadGolden = 0x9e3779b97f4a7c15
)

// ErrPayload reports a datagram that is not a valid netbench payload.
var ErrPayload = errors.New("bad netbench payload")

// Payload is a decoded netbench datagram header.
type Payload struct {
	Kind   uint16 // Payload*
	Seq    uint64 // sequence number (END: datagrams sent)
	Stamp  uint64 // sender's timestamp, echoed in responses
	Stream uint32 // stream id, chosen by the sender
}

// payloadHash hashes p with bytes 28..31 (the check field) taken as zero,
// as netbench.c's payload_hash does.
func payloadHash(p []byte) uint32 {
	h := uint64(0x243f6a8885a308d3) ^ uint64(len(p))
	var tail [8]byte
	for i := 0; i < len(p); i += 8 {
		var w uint64
		if i+8 <= len(p) {
			w = binary.LittleEndian.Uint64(p[i:])
		} else {
			tail = [8]byte{}
			copy(tail[:], p[i:])
			w = binary.LittleEndian.Uint64(tail[:])
		}
		if i == 24 {
			w &= 0xffffffff
		}
		h = (h ^ w) * 0x100000001b3
		h ^= h >> 31
	}
	h ^= h >> 29
	return uint32(h ^ h>>32)
}

// FillPayload writes a netbench payload filling all of b (at least
// PayloadHeader bytes, at most 65535).
func FillPayload(b []byte, h Payload) {
	le := binary.LittleEndian
	le.PutUint32(b[0:], payloadMagic)
	le.PutUint16(b[4:], h.Kind)
	le.PutUint16(b[6:], uint16(len(b)))
	le.PutUint64(b[8:], h.Seq)
	le.PutUint64(b[16:], h.Stamp)
	le.PutUint32(b[24:], h.Stream)
	le.PutUint32(b[28:], 0)
	base := (h.Seq ^ uint64(h.Stream)<<32) * payloadGolden
	j := uint64(4)
	off := PayloadHeader
	for ; off+8 <= len(b); off += 8 {
		le.PutUint64(b[off:], base+j)
		j++
	}
	if off < len(b) {
		var w [8]byte
		le.PutUint64(w[:], base+j)
		copy(b[off:], w[:])
	}
	le.PutUint32(b[28:], payloadHash(b))
}

// SetPayloadKind changes the kind of a filled payload and its check.
func SetPayloadKind(b []byte, kind uint16) {
	binary.LittleEndian.PutUint16(b[4:], kind)
	binary.LittleEndian.PutUint32(b[28:], 0)
	binary.LittleEndian.PutUint32(b[28:], payloadHash(b))
}

// ParsePayload checks a received datagram (magic, length, check) and
// decodes its header. b is never modified.
func ParsePayload(b []byte) (Payload, error) {
	le := binary.LittleEndian
	if len(b) < PayloadHeader {
		return Payload{}, fmt.Errorf("%w: %d bytes", ErrPayload, len(b))
	}
	if le.Uint32(b) != payloadMagic {
		return Payload{}, fmt.Errorf("%w: magic %#x", ErrPayload, le.Uint32(b))
	}
	if n := int(le.Uint16(b[6:])); n != len(b) {
		return Payload{}, fmt.Errorf("%w: length field %d, datagram %d", ErrPayload, n, len(b))
	}
	if got, want := le.Uint32(b[28:]), payloadHash(b); got != want {
		return Payload{}, fmt.Errorf("%w: check %#x, computed %#x", ErrPayload, got, want)
	}
	return Payload{Kind: le.Uint16(b[4:]), Seq: le.Uint64(b[8:]), Stamp: le.Uint64(b[16:]), Stream: le.Uint32(b[24:])}, nil
}
