package xenstore

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// guest plays a guest's side of a ring connection over a 4 KiB []byte
// page, with the guest's producer/consumer logic written independently of
// Conn.
type guest struct {
	t        *testing.T
	ring     []byte
	conn     *Conn
	notified int
	rx       []byte       // response bytes not yet parsed
	msgs     []Message    // parsed responses not yet taken
	events   []WatchEvent // watch events seen by do
	nextID   uint32
}

func le32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }

func put32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }

// newGuest connects domid to s over a fresh ring page whose four indices
// all start at start.
func newGuest(t *testing.T, s *Store, domid DomID, start uint32) *guest {
	t.Helper()
	g := &guest{t: t, ring: make([]byte, 4096), nextID: 100}
	for _, off := range []int{RingReqConsOff, RingReqProdOff, RingRspConsOff, RingRspProdOff} {
		put32(g.ring, off, start)
	}
	g.conn = NewRingConn(s, uint16(domid), g.ring, func() { g.notified++ })
	t.Cleanup(g.conn.Close)
	return g
}

// push writes as much of b into the request ring as fits and returns the
// number of bytes written.
func (g *guest) push(b []byte) int {
	cons, prod := le32(g.ring, RingReqConsOff), le32(g.ring, RingReqProdOff)
	n := 0
	for n < len(b) && prod-cons < RingSize {
		g.ring[RingReqOff+int(prod%RingSize)] = b[n]
		prod++
		n++
	}
	put32(g.ring, RingReqProdOff, prod)
	return n
}

// pull consumes everything in the response ring and parses whole messages.
func (g *guest) pull() {
	cons, prod := le32(g.ring, RingRspConsOff), le32(g.ring, RingRspProdOff)
	if prod-cons > RingSize {
		g.t.Fatalf("server produced rsp_prod %#x beyond rsp_cons %#x", prod, cons)
	}
	for ; cons != prod; cons++ {
		g.rx = append(g.rx, g.ring[RingRspOff+int(cons%RingSize)])
	}
	put32(g.ring, RingRspConsOff, cons)
	for {
		m, n, err := ParseMessage(g.rx)
		if err != nil {
			break
		}
		m.Payload = bytes.Clone(m.Payload)
		g.msgs = append(g.msgs, m)
		g.rx = g.rx[n:]
	}
}

// encodeReq builds a request message.
func encodeReq(typ MsgType, reqID, tx uint32, payload []byte) []byte {
	b := Header{Type: typ, ReqID: reqID, TxID: tx, Len: uint32(len(payload))}.Append(nil)
	return append(b, payload...)
}

// send writes a request completely, servicing the connection (and draining
// replies) as often as the ring needs. It returns the request id.
func (g *guest) send(typ MsgType, tx uint32, payload []byte) uint32 {
	g.t.Helper()
	g.nextID++
	b := encodeReq(typ, g.nextID, tx, payload)
	for spins := 0; len(b) > 0; spins++ {
		if spins > 100 {
			g.t.Fatalf("request %v not consumed", typ)
		}
		b = b[g.push(b):]
		g.conn.Service()
		g.pull()
	}
	return g.nextID
}

// do sends a request and returns its reply; watch events received before
// it are appended to g.events.
func (g *guest) do(typ MsgType, tx uint32, payload []byte) Message {
	g.t.Helper()
	id := g.send(typ, tx, payload)
	for spins := 0; spins < 10; spins++ {
		for i, m := range g.msgs {
			if m.Type != TypeWatchEvent && m.ReqID == id {
				g.takeEvents(g.msgs[:i])
				g.msgs = append([]Message(nil), g.msgs[i+1:]...)
				return m
			}
		}
		g.conn.Service()
		g.pull()
	}
	g.t.Fatalf("no reply to %v (req %d); connection error %v", typ, id, g.conn.Err())
	return Message{}
}

func (g *guest) takeEvents(ms []Message) {
	for _, m := range ms {
		if m.Type != TypeWatchEvent {
			g.t.Errorf("unexpected message %v %q", m.Type, m.Payload)
			continue
		}
		s := splitStrings(m.Payload)
		if len(s) != 2 {
			g.t.Errorf("bad watch event payload %q", m.Payload)
			continue
		}
		g.events = append(g.events, WatchEvent{Path: string(s[0]), Token: string(s[1])})
	}
}

// drainEvents services the connection, collects pending watch events and
// returns (and clears) all events seen so far.
func (g *guest) drainEvents() []WatchEvent {
	for range 1000 {
		g.pull()
		before := le32(g.ring, RingRspProdOff)
		g.conn.Service()
		if le32(g.ring, RingRspProdOff) == before {
			break
		}
	}
	g.pull()
	g.takeEvents(g.msgs)
	g.msgs = nil
	ev := g.events
	g.events = nil
	return ev
}

// str builds a payload of NUL-terminated strings.
func str(s ...string) []byte { return joinStrings(s...) }

// wantReply checks a reply's type and payload.
func wantReply(t *testing.T, what string, m Message, typ MsgType, payload string) {
	t.Helper()
	if m.Type != typ || string(m.Payload) != payload {
		t.Errorf("%s: got %v %q, want %v %q", what, m.Type, m.Payload, typ, payload)
	}
}

// wantErr checks an XS_ERROR reply carrying name.
func wantErr(t *testing.T, what string, m Message, name string) {
	t.Helper()
	wantReply(t, what, m, TypeError, name+"\x00")
}

// newTestStore returns a store with domains 5 and 6 introduced and a
// domain-0 client.
func newTestStore(t *testing.T) (*Store, *Client) {
	t.Helper()
	s := New(Options{})
	for _, d := range []DomID{5, 6} {
		if err := s.Introduce(d); err != nil {
			t.Fatal(err)
		}
	}
	c := s.Dom0()
	t.Cleanup(func() { c.Close() })
	return s, c
}
