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

// FuzzRing services a connection whose ring page holds arbitrary bytes,
// lets the fuzzer change the page between Service calls, and checks that
// nothing panics and the output queue stays bounded.
func FuzzRing(f *testing.F) {
	page := func(start uint32, reqs ...[]byte) []byte {
		p := make([]byte, 4096)
		var stream []byte
		for _, r := range reqs {
			stream = append(stream, r...)
		}
		for i, c := range stream {
			p[RingReqOff+int((start+uint32(i))%RingSize)] = c
		}
		put32(p, RingReqConsOff, start)
		put32(p, RingReqProdOff, start+uint32(len(stream)))
		put32(p, RingRspConsOff, start)
		put32(p, RingRspProdOff, start)
		return p
	}
	f.Add(page(0, encodeReq(TypeWrite, 1, 0, append(str("a"), 'b')), encodeReq(TypeRead, 2, 0, str("a"))), []byte{})
	f.Add(page(0xfffffff8, encodeReq(TypeWatch, 1, 0, str("a", "t")), encodeReq(TypeTransactionStart, 2, 0, str(""))), []byte{0, 1, 2})
	f.Add(page(100, Header{Type: TypeRead, Len: 5000}.Append(nil)), []byte{})
	f.Add(make([]byte, 4096), []byte{0x08, 0x08, 0x30})
	f.Fuzz(func(t *testing.T, ring []byte, edits []byte) {
		if len(ring) < 4096 {
			ring = append(ring, make([]byte, 4096-len(ring))...)
		}
		ring = ring[:4096]
		s := New(Options{OutputLimit: 16 << 10})
		if err := s.Introduce(5); err != nil {
			t.Fatal(err)
		}
		conn := NewRingConn(s, 5, ring, func() {})
		defer conn.Close()
		conn.Service()
		// Each 3-byte edit writes one byte of the page (offset from the
		// first two), then the guest consumes replies and kicks again.
		for len(edits) >= 3 {
			off := int(binary.LittleEndian.Uint16(edits)) % len(ring)
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
