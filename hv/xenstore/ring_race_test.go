package xenstore

import (
	"fmt"
	"sync"
	"testing"

	"github.com/xenolith/xenolith/hv/mem"
)

// atomicGuest is the guest side of a ring used from its own goroutine
// while the store writes from others: indices are read and written
// atomically, as a real guest's are.
type atomicGuest struct {
	t    *testing.T
	ring []byte
	rx   []byte
}

func (g *atomicGuest) load(off int) uint32 {
	v, err := mem.LoadUint32(g.ring, off)
	if err != nil {
		g.t.Fatal(err)
	}
	return v
}

func (g *atomicGuest) store(off int, v uint32) {
	if err := mem.StoreUint32(g.ring, off, v); err != nil {
		g.t.Fatal(err)
	}
}

// push writes what fits of b into the request ring.
func (g *atomicGuest) push(b []byte) int {
	cons, prod := g.load(RingReqConsOff), g.load(RingReqProdOff)
	n := 0
	for n < len(b) && prod-cons < RingSize {
		g.ring[RingReqOff+int(prod%RingSize)] = b[n]
		prod++
		n++
	}
	g.store(RingReqProdOff, prod)
	return n
}

// pull takes the response bytes and returns the whole messages in them;
// a header that cannot be a reply or an event is an error.
func (g *atomicGuest) pull() ([]Message, error) {
	cons, prod := g.load(RingRspConsOff), g.load(RingRspProdOff)
	if prod-cons > RingSize {
		return nil, fmt.Errorf("rsp_prod %#x beyond rsp_cons %#x", prod, cons)
	}
	for ; cons != prod; cons++ {
		g.rx = append(g.rx, g.ring[RingRspOff+int(cons%RingSize)])
	}
	g.store(RingRspConsOff, cons)
	var out []Message
	for len(g.rx) >= HeaderSize {
		h, err := DecodeHeader(g.rx[:HeaderSize])
		if err != nil {
			return out, err
		}
		if h.Type != TypeWatchEvent && h.Type != TypeRead && h.Type != TypeWatch {
			return out, fmt.Errorf("corrupt stream: message type %v, len %d", h.Type, h.Len)
		}
		if len(g.rx) < HeaderSize+int(h.Len) {
			break
		}
		out = append(out, Message{Type: h.Type, ReqID: h.ReqID,
			Payload: append([]byte(nil), g.rx[HeaderSize:HeaderSize+int(h.Len)]...)})
		g.rx = g.rx[HeaderSize+int(h.Len):]
	}
	return out, nil
}

// TestRingConcurrentFlush writes watch events from another goroutine (a
// domain-0 client changing a watched node, which flushes the guest's
// output from its own goroutine) while the guest's requests are serviced:
// the response stream must stay whole. Two flushes used to race between
// copying their bytes and publishing rsp_prod, so that one overwrote the
// other's bytes and the guest saw a corrupt header (its xenstore client
// then failed with -EIO).
func TestRingConcurrentFlush(t *testing.T) {
	s, c := newTestStore(t)
	g := &atomicGuest{t: t, ring: make([]byte, 4096)}
	conn := NewRingConn(s, 5, g.ring, func() {})
	defer conn.Close()
	const writers, writes, reads = 16, 2000, 3000
	watched := "/local/domain/5/data"
	if err := c.Write(watched+"/x", []byte("0")); err != nil {
		t.Fatal(err)
	}
	send := func(typ MsgType, id uint32, payload []byte) {
		b := encodeReq(typ, id, 0, payload)
		for len(b) > 0 {
			b = b[g.push(b):]
			conn.Service()
		}
	}
	var msgs []Message
	wait := func(done func() bool) {
		for spins := 0; !done(); spins++ {
			if spins > 1_000_000 {
				t.Fatalf("stalled after %d messages; connection error %v", len(msgs), conn.Err())
			}
			conn.Service()
			m, err := g.pull()
			msgs = append(msgs, m...)
			if err != nil {
				t.Fatalf("after %d messages: %v", len(msgs), err)
			}
		}
	}
	send(TypeWatch, 1, str(watched, "tok"))
	wait(func() bool { return len(msgs) >= 2 }) // the reply and the initial event

	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < writes; i++ {
				c.Write(watched+"/x", []byte(fmt.Sprint(i)))
			}
		}()
	}
	replies := 0
	for i := 0; i < reads; i++ {
		send(TypeRead, uint32(100+i), str(watched+"/x"))
		wait(func() bool {
			for _, m := range msgs {
				if m.Type == TypeRead && m.ReqID == uint32(100+i) {
					return true
				}
			}
			return false
		})
		replies++
	}
	wg.Wait()
	wait(func() bool { return true })
	events := 0
	for _, m := range msgs {
		if m.Type == TypeWatchEvent {
			events++
		}
	}
	t.Logf("%d replies, %d watch events", replies, events)
}
