package xenstore

import (
	"bytes"
	"errors"
	"testing"
)

func TestRingFeaturesAdvertised(t *testing.T) {
	s, _ := newTestStore(t)
	g := newGuest(t, s, 5, 0)
	if got := le32(g.ring, RingFeaturesOff); got != ServerFeatures {
		t.Errorf("server_features = %#x, want %#x", got, ServerFeatures)
	}
}

func TestRingSplitRequests(t *testing.T) {
	s, _ := newTestStore(t)
	g := newGuest(t, s, 5, 0)
	// Feed a write byte by byte, servicing after each: the header and the
	// payload arrive in pieces.
	b := encodeReq(TypeWrite, 7, 0, append(str("split"), "value"...))
	for i := range b {
		if g.push(b[i:i+1]) != 1 {
			t.Fatal("ring full")
		}
		g.conn.Service()
		g.pull()
		if i < len(b)-1 && len(g.msgs) != 0 {
			t.Fatalf("reply after %d of %d bytes", i+1, len(b))
		}
	}
	if len(g.msgs) != 1 {
		t.Fatalf("got %d replies, want 1", len(g.msgs))
	}
	wantReply(t, "split write", g.msgs[0], TypeWrite, "OK\x00")
	if g.msgs[0].ReqID != 7 {
		t.Errorf("req_id %d, want 7", g.msgs[0].ReqID)
	}
	g.msgs = nil
	wantReply(t, "read back", g.do(TypeRead, 0, str("split")), TypeRead, "value")
	if g.notified == 0 {
		t.Error("guest never notified")
	}
	// Two requests in one go are both answered.
	g.push(append(encodeReq(TypeRead, 1, 0, str("split")), encodeReq(TypeRead, 2, 0, str("none"))...))
	g.conn.Service()
	g.pull()
	if len(g.msgs) != 2 || g.msgs[0].ReqID != 1 || g.msgs[1].ReqID != 2 {
		t.Fatalf("pipelined replies %v", g.msgs)
	}
	wantReply(t, "first", g.msgs[0], TypeRead, "value")
	wantErr(t, "second", g.msgs[1], "ENOENT")
}

func TestRingLargeMessages(t *testing.T) {
	s, _ := newTestStore(t)
	for _, start := range []uint32{0, 0xffffffff - 100, 0xfffffc00, 0x7ffffff0} {
		g := newGuest(t, s, 0, start)
		// A payload of PayloadMax bytes needs several fills of the ring
		// in both directions.
		value := bytes.Repeat([]byte("0123456789"), 410)[:PayloadMax-len("/big")-1]
		wantReply(t, "big write", g.do(TypeWrite, 0, append(str("/big"), value...)), TypeWrite, "OK\x00")
		m := g.do(TypeRead, 0, str("/big"))
		if m.Type != TypeRead || !bytes.Equal(m.Payload, value) {
			t.Fatalf("start %#x: read back %v of %d bytes", start, m.Type, len(m.Payload))
		}
		if err := g.conn.Err(); err != nil {
			t.Fatalf("start %#x: %v", start, err)
		}
		for _, off := range []int{RingReqConsOff, RingReqProdOff, RingRspConsOff, RingRspProdOff} {
			if v := le32(g.ring, off); v-start < PayloadMax {
				t.Fatalf("start %#x: index at %d = %#x did not advance", start, off, v)
			}
		}
	}
}

func TestRingResponseFullThenDrained(t *testing.T) {
	s, c := newTestStore(t)
	if err := c.Write("/local/domain/5/v", bytes.Repeat([]byte("v"), 600)); err != nil {
		t.Fatal(err)
	}
	g := newGuest(t, s, 5, 0xfffffff0)
	// Three reads of 616-byte replies: the second does not fit until the
	// guest consumes the first.
	for id := uint32(1); id <= 3; id++ {
		g.push(encodeReq(TypeRead, id, 0, str("v")))
	}
	g.conn.Service()
	if used := le32(g.ring, RingRspProdOff) - le32(g.ring, RingRspConsOff); used != RingSize {
		t.Fatalf("response ring holds %d bytes, want it full (%d)", used, RingSize)
	}
	// Nothing moves while the guest does not consume.
	prod := le32(g.ring, RingRspProdOff)
	g.conn.Service()
	if le32(g.ring, RingRspProdOff) != prod {
		t.Fatal("server wrote into a full ring")
	}
	for spins := 0; len(g.msgs) < 3 && spins < 10; spins++ {
		g.pull()
		g.conn.Service()
	}
	g.pull()
	if len(g.msgs) != 3 {
		t.Fatalf("got %d replies, want 3", len(g.msgs))
	}
	for i, m := range g.msgs {
		if m.ReqID != uint32(i+1) || m.Type != TypeRead || len(m.Payload) != 600 {
			t.Errorf("reply %d: id %d %v len %d", i, m.ReqID, m.Type, len(m.Payload))
		}
	}
}

func TestRingHostileIndices(t *testing.T) {
	cases := []struct {
		name string
		set  func(ring []byte)
		want error
		code uint32
	}{
		{"req_prod far ahead", func(r []byte) { put32(r, RingReqProdOff, 5000) }, ErrRingIndex, RingErrorRingIdx},
		{"req_prod behind", func(r []byte) { put32(r, RingReqConsOff, 10); put32(r, RingReqProdOff, 5) }, ErrRingIndex, RingErrorRingIdx},
		{"payload too long", func(r []byte) {
			copy(r, Header{Type: TypeRead, Len: PayloadMax + 1}.Append(nil))
			put32(r, RingReqConsOff, 0)
			put32(r, RingReqProdOff, HeaderSize)
		}, ErrPayloadTooLarge, RingErrorProto},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, c := newTestStore(t)
			g := newGuest(t, s, 5, 0)
			g.do(TypeWatch, 0, str("w", "t"))
			g.drainEvents()
			tc.set(g.ring)
			g.conn.Service()
			if err := g.conn.Err(); !errors.Is(err, tc.want) {
				t.Fatalf("Err() = %v, want %v", err, tc.want)
			}
			if got := le32(g.ring, RingErrorOff); got != tc.code {
				t.Errorf("error field %d, want %d", got, tc.code)
			}
			// Broken: no more service, watches dropped.
			put32(g.ring, RingReqConsOff, 0)
			put32(g.ring, RingReqProdOff, 0)
			g.push(encodeReq(TypeRead, 1, 0, str("w")))
			g.conn.Service()
			if le32(g.ring, RingReqConsOff) != 0 {
				t.Error("broken connection still consumes requests")
			}
			if err := c.Write("/local/domain/5/w", nil); err != nil {
				t.Fatal(err)
			}
			if n := len(s.watches["/local/domain/5/w"]); n != 0 {
				t.Errorf("%d watches left on a broken connection", n)
			}
		})
	}
}

func TestRingRspIndexHostile(t *testing.T) {
	s, _ := newTestStore(t)
	g := newGuest(t, s, 5, 0)
	put32(g.ring, RingRspConsOff, 3000) // consumer ahead of producer
	g.push(encodeReq(TypeRead, 1, 0, str("x")))
	g.conn.Service()
	if err := g.conn.Err(); !errors.Is(err, ErrRingIndex) {
		t.Fatalf("Err() = %v, want ErrRingIndex", err)
	}
}

func TestRingOutputOverflow(t *testing.T) {
	s := New(Options{OutputLimit: 4096})
	if err := s.Introduce(5); err != nil {
		t.Fatal(err)
	}
	c := s.Dom0()
	defer c.Close()
	g := newGuest(t, s, 5, 0)
	g.do(TypeWatch, 0, str("w", "t"))
	g.drainEvents()
	// The guest never consumes: distinct events fill the ring, then the
	// queue, then break the connection.
	for i := range 400 {
		if err := c.Write("/local/domain/5/w/"+pad(i, 4), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.conn.Err(); !errors.Is(err, ErrOutputOverflow) {
		t.Fatalf("Err() = %v, want ErrOutputOverflow", err)
	}
	if got := le32(g.ring, RingErrorOff); got != RingErrorComm {
		t.Errorf("error field %d, want %d", got, RingErrorComm)
	}
}

func TestRingOverflowDuringFire(t *testing.T) {
	// Limits one event apart, so that the overflow hits each of the
	// guest's watches in turn.
	for limit := 2048; limit < 2048+4*38; limit += 38 {
		s := New(Options{OutputLimit: limit})
		if err := s.Introduce(5); err != nil {
			t.Fatal(err)
		}
		c := s.Dom0()
		ch, err := c.Watch("/local/domain/5", "dom0")
		if err != nil {
			t.Fatal(err)
		}
		g := newGuest(t, s, 5, 0)
		// Several watches of the breaking guest on the same path, next to
		// a watch of another connection: the guest's watches vanish while
		// an event is being fired to them.
		for _, tok := range []string{"a", "b", "c", "d"} {
			g.do(TypeWatch, 0, str("/local/domain/5", tok))
		}
		for i := range 100 {
			if err := c.Write("/local/domain/5/"+pad(i, 3), nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := g.conn.Err(); !errors.Is(err, ErrOutputOverflow) {
			t.Fatalf("limit %d: Err() = %v, want ErrOutputOverflow", limit, err)
		}
		for i := range 101 {
			if ev := recvEvent(t, ch); i == 100 && ev.Path != "/local/domain/5/099" {
				t.Errorf("limit %d: last event %v", limit, ev)
			}
		}
		c.Close()
	}
}

func TestRingBackPressure(t *testing.T) {
	s := New(Options{OutputLimit: 8192})
	if err := s.Introduce(5); err != nil {
		t.Fatal(err)
	}
	g := newGuest(t, s, 5, 0)
	g.do(TypeWrite, 0, append(str("v"), bytes.Repeat([]byte("x"), 1000)...))
	// The guest pipelines many reads without consuming replies: the
	// server stops reading requests instead of breaking the connection.
	for id := uint32(1); id <= 40; id++ {
		b := encodeReq(TypeRead, id, 0, str("v"))
		if g.push(b) != len(b) {
			t.Fatal("request ring full")
		}
		g.conn.Service()
	}
	if cons, prod := le32(g.ring, RingReqConsOff), le32(g.ring, RingReqProdOff); cons == prod {
		t.Error("server read every request although replies piled up")
	}
	if err := g.conn.Err(); err != nil {
		t.Fatalf("connection broke: %v", err)
	}
	for spins := 0; spins < 200; spins++ {
		g.pull()
		g.conn.Service()
	}
	g.pull()
	if len(g.msgs) != 40 {
		t.Fatalf("got %d replies, want 40", len(g.msgs))
	}
	for i, m := range g.msgs {
		if m.Type != TypeRead || len(m.Payload) != 1000 {
			t.Fatalf("reply %d: %v len %d", i, m.Type, len(m.Payload))
		}
	}
}

func TestRingReconnect(t *testing.T) {
	s, c := newTestStore(t)
	g := newGuest(t, s, 5, 1234)
	g.do(TypeWatch, 0, str("w", "t"))
	tx := startTx(t, g)
	g.drainEvents()
	// Half a request is pending when the guest asks for a reconnection.
	g.push(encodeReq(TypeRead, 1, 0, str("w"))[:10])
	g.conn.Service()
	put32(g.ring, RingConnectionOff, RingReconnect)
	n := g.notified
	g.conn.Service()
	if le32(g.ring, RingConnectionOff) != RingConnected || g.notified == n {
		t.Fatal("reconnection not completed and signalled")
	}
	for _, off := range []int{RingReqConsOff, RingReqProdOff, RingRspConsOff, RingRspProdOff} {
		if v := le32(g.ring, off); v != 0 {
			t.Errorf("index at %d = %d after reconnection, want 0", off, v)
		}
	}
	g.rx, g.msgs = nil, nil
	if err := c.Write("/local/domain/5/w", nil); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, "watch dropped", g.drainEvents(), nil)
	wantErr(t, "transaction dropped", g.do(TypeRead, tx, str("w")), "ENOENT")
	wantReply(t, "works again", g.do(TypeRead, 0, str("w")), TypeRead, "")
}

func TestRingShortWindow(t *testing.T) {
	s := New(Options{})
	conn := NewRingConn(s, 5, make([]byte, 100), func() {})
	conn.Service()
	if err := conn.Err(); !errors.Is(err, ErrShortRing) {
		t.Fatalf("Err() = %v, want ErrShortRing", err)
	}
}

func TestRingReleaseClosesConn(t *testing.T) {
	s, _ := newTestStore(t)
	g := newGuest(t, s, 6, 0)
	g.do(TypeWrite, 0, append(str("x"), 'y'))
	if err := s.Release(6); err != nil {
		t.Fatal(err)
	}
	if err := g.conn.Err(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Err() after release = %v, want ErrClosed", err)
	}
	g.push(encodeReq(TypeRead, 1, 0, str("x")))
	cons := le32(g.ring, RingReqConsOff)
	g.conn.Service()
	if le32(g.ring, RingReqConsOff) != cons {
		t.Error("released connection still serviced")
	}
	if err := s.Release(6); !errors.Is(err, ENOENT) {
		t.Errorf("second release: %v, want ENOENT", err)
	}
}
