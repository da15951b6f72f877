package xenstore

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzMessage decodes arbitrary bytes as a message and, if that works,
// executes it as domain 5 and as domain 0: nothing may panic, and every
// reply must be a well-formed message within the payload limit.
func FuzzMessage(f *testing.F) {
	seeds := [][]byte{
		encodeReq(TypeRead, 1, 0, str("data/a")),
		encodeReq(TypeWrite, 2, 0, append(str("/local/domain/5/x"), "v\x00v"...)),
		encodeReq(TypeDirectory, 3, 0, str("/")),
		encodeReq(TypeDirectoryPart, 3, 0, str("/local", "-5")),
		encodeReq(TypeSetPerms, 4, 0, str("data", "b5", "r7", "n32756")),
		encodeReq(TypeWatch, 5, 0, str("@releaseDomain/5", "tok", "1")),
		encodeReq(TypeUnwatch, 5, 0, str("data", "tok")),
		encodeReq(TypeTransactionStart, 6, 0, str("")),
		encodeReq(TypeTransactionEnd, 7, 1, str("T")),
		encodeReq(TypeRm, 8, 0, str("/local/domain")),
		encodeReq(TypeIntroduce, 9, 0, str("7", "1", "3")),
		encodeReq(TypeRelease, 9, 0, str("5")),
		encodeReq(TypeGetDomainPath, 10, 0, str("65535")),
		encodeReq(TypeIsDomainIntroduced, 11, 0, str("32752")),
		encodeReq(TypeSetTarget, 12, 0, str("5", "6")),
		encodeReq(TypeGetFeature, 12, 0, str("5")),
		encodeReq(TypeResetWatches, 13, 0, str("")),
		encodeReq(TypeMkdir, 14, 0, str("a/b/c/d")),
		encodeReq(99, 15, 0, nil),
		Header{Type: TypeRead, Len: PayloadMax + 1}.Append(nil),
		{1, 2, 3},
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, n, err := ParseMessage(b)
		if err != nil {
			if _, herr := DecodeHeader(b); herr == nil && len(b) >= HeaderSize+int(binary.LittleEndian.Uint32(b[12:])) {
				t.Fatalf("ParseMessage failed on a complete message: %v", err)
			}
			return
		}
		if n != HeaderSize+len(m.Payload) || n > len(b) || len(m.Payload) > PayloadMax {
			t.Fatalf("ParseMessage: n=%d payload %d of %d bytes", n, len(m.Payload), len(b))
		}
		re, err := m.Append(nil)
		if err != nil || !bytes.Equal(re, b[:n]) {
			t.Fatalf("re-encoding differs: %v", err)
		}
		s := New(Options{})
		for _, d := range []DomID{5, 6} {
			if err := s.Introduce(d); err != nil {
				t.Fatal(err)
			}
		}
		// Some state to act on: a transaction and a watch per session.
		for _, d := range []DomID{5, 0} {
			sess := s.newSession(d, nil)
			s.handle(sess, Message{Type: TypeWrite, ReqID: 1, Payload: append(str("/local/domain/5/data/a"), 'v')})
			s.handle(sess, Message{Type: TypeTransactionStart, ReqID: 2, Payload: str("")})
			s.handle(sess, Message{Type: TypeWatch, ReqID: 3, Payload: str("data", "tok")})
			s.handle(sess, m)
			sess.outMu.Lock()
			out := sess.takeAll()
			sess.outMu.Unlock()
			for _, r := range out {
				rm, rn, err := ParseMessage(r)
				if err != nil || rn != len(r) {
					t.Fatalf("dom%d: malformed reply %q: %v", d, r, err)
				}
				if rm.Type == TypeError && (len(rm.Payload) == 0 || rm.Payload[len(rm.Payload)-1] != 0) {
					t.Fatalf("dom%d: error reply without NUL: %q", d, rm.Payload)
				}
			}
		}
	})
}

// FuzzRing services a connection whose ring page holds arbitrary bytes (the
// request area and the index/control words, given separately so that seeds
// stay small), lets the fuzzer change the page between Service calls, and
// checks that nothing panics and the output queue stays bounded.
func FuzzRing(f *testing.F) {
	ctrl := func(start, reqLen uint32) []byte {
		c := make([]byte, 32)
		put32(c, RingReqConsOff-2048, start)
		put32(c, RingReqProdOff-2048, start+reqLen)
		put32(c, RingRspConsOff-2048, start)
		put32(c, RingRspProdOff-2048, start)
		return c
	}
	// req lays requests out as they sit in the ring from index start.
	req := func(start uint32, reqs ...[]byte) []byte {
		var stream []byte
		for _, r := range reqs {
			stream = append(stream, r...)
		}
		area := make([]byte, min(RingSize, int(start%RingSize)+len(stream)))
		for i, c := range stream {
			area[(start+uint32(i))%RingSize] = c
		}
		return area
	}
	two := [][]byte{encodeReq(TypeWrite, 1, 0, append(str("a"), 'b')), encodeReq(TypeRead, 2, 0, str("a"))}
	f.Add(ctrl(0, 42), req(0, two...), []byte{})
	w := [][]byte{encodeReq(TypeWatch, 1, 0, str("a", "t")), encodeReq(TypeTransactionStart, 2, 0, str(""))}
	f.Add(ctrl(0x3f8, 39), req(0x3f8, w...), []byte{0x4c, 0x08, 0x40})
	f.Add(ctrl(100, 16), req(100, Header{Type: TypeRead, Len: 5000}.Append(nil)), []byte{})
	f.Add([]byte{}, []byte{}, []byte{0x14, 0x08, 0x01})
	f.Fuzz(func(t *testing.T, ctrl, reqArea, edits []byte) {
		ring := make([]byte, 4096)
		copy(ring[RingReqOff:RingReqOff+RingSize], reqArea)
		copy(ring[2048:2048+32], ctrl)
		s := New(Options{OutputLimit: 16 << 10})
		if err := s.Introduce(5); err != nil {
			t.Fatal(err)
		}
		conn := NewRingConn(s, 5, ring, func() {})
		defer conn.Close()
		conn.Service()
		// Each 3-byte edit writes one byte of the first 2080 bytes of the
		// page (offset from the first two), then the guest consumes
		// replies and kicks again.
		for len(edits) >= 3 {
			off := int(binary.LittleEndian.Uint16(edits)) % RingInterfaceSize
			ring[off] = edits[2]
			edits = edits[3:]
			put32(ring, RingRspConsOff, le32(ring, RingRspProdOff))
			conn.Service()
		}
		if q := conn.sess.queued(); q > 16<<10 {
			t.Fatalf("output queue %d bytes over the limit", q)
		}
	})
}
