package xenstore

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/xenolith/xenolith/hv/mem"
)

// Conn is a guest's connection to the store over the shared ring page
// (struct xenstore_domain_interface). The monitor creates one per guest
// with NewRingConn and calls Service whenever the guest signals the store
// event channel.
//
// Every index in the page is the guest's to change at any time: Service
// reads the indices afresh on each use with atomic loads, checks that a
// producer is at most a ring's size ahead of its consumer (else the
// connection is broken with XENSTORE_ERROR_RINGIDX), and copies bytes out of
// the ring before parsing them, as xenstored's readchn and writechn do. A
// header announcing a payload over PayloadMax breaks the connection with
// XENSTORE_ERROR_PROTO, as xenstored does. Requests may arrive in pieces
// across any number of Service calls.
//
// Replies and watch events are written as the response ring has space; the
// rest waits in a queue. While 64 KiB (or half the store's OutputLimit, if
// smaller) wait, Service stops reading requests until the guest consumes
// replies; if queued output (then only
// watch events) exceeds the store's OutputLimit, the connection is broken
// with XENSTORE_ERROR_COMM. A broken connection has its watches and
// transactions dropped and is no longer serviced, unless the guest asks for
// a reconnection (the ring reconnection feature, which the store offers),
// which resets the ring and the connection's state.
type Conn struct {
	sess   *session
	ring   []byte // the ring page window; at least RingInterfaceSize bytes
	notify func() // raises the guest's store event channel

	inMu    sync.Mutex // serialises Service; guards the fields below
	hdr     [HeaderSize]byte
	hdrN    int    // bytes of hdr received
	h       Header // decoded header, once hdrN == HeaderSize
	payload []byte // payload buffer, PayloadMax bytes once allocated
	payN    int    // bytes of payload received

	servicing     atomic.Bool // Service is running: kicks defer their notify to it
	pendingNotify atomic.Bool // a kick during Service wrote output
}

// NewRingConn connects domain domid to the store through ring, the guest's
// ring page (at least RingInterfaceSize bytes; normally the 4 KiB page),
// and advertises ServerFeatures in it. notify raises the guest's store event
// channel; it may be called from any goroutine (including ones that change
// the store on behalf of other domains, when a watch fires) and must not
// call into the Store. The ring's indices are taken as they are, not reset.
// A ring window that is too short yields a connection that is broken from
// the start (Err reports ErrShortRing).
func NewRingConn(store *Store, domid uint16, ring []byte, notify func()) *Conn {
	c := &Conn{ring: ring, notify: notify}
	c.sess = store.newSession(DomID(domid), c.kick)
	if len(ring) < RingInterfaceSize {
		c.sess.outMu.Lock()
		c.sess.breakLocked(fmt.Errorf("%w: %d bytes", ErrShortRing, len(ring)), RingErrorComm)
		c.sess.outMu.Unlock()
		store.close(c.sess)
		return c
	}
	_, _ = mem.OrUint32(ring, RingFeaturesOff, ServerFeatures) // in range and aligned: checked above
	return c
}

// Err returns why the connection stopped working (ErrRingIndex,
// ErrPayloadTooLarge, ErrOutputOverflow, ErrShortRing), ErrClosed after
// Close or Store.Release, or nil.
func (c *Conn) Err() error {
	if err := c.sess.err(); err != nil {
		return err
	}
	c.sess.s.mu.Lock()
	defer c.sess.s.mu.Unlock()
	if c.sess.detached {
		return ErrClosed
	}
	return nil
}

// Close disconnects the guest: its watches and transactions are dropped
// and Service does nothing from then on. The ring page is left as it is.
func (c *Conn) Close() {
	c.sess.s.close(c.sess)
}

// load and store access a 32-bit field of the interface. The window was
// checked to hold the interface, so they cannot fail.
func (c *Conn) load(off int) uint32 {
	v, _ := mem.LoadUint32(c.ring, off)
	return v
}

func (c *Conn) store(off int, v uint32) {
	_ = mem.StoreUint32(c.ring, off, v) // see load
}

// Service processes what the guest has put in the request ring and writes
// what fits of the replies and watch events to the response ring, then
// notifies the guest if any index moved. It never blocks on the guest.
func (c *Conn) Service() {
	c.inMu.Lock()
	defer c.inMu.Unlock()
	c.servicing.Store(true)
	moved := c.service()
	c.servicing.Store(false)
	if c.pendingNotify.Swap(false) || moved {
		c.notify()
	}
}

// service is Service's body; it reports whether the guest should be
// notified.
func (c *Conn) service() bool {
	if len(c.ring) < RingInterfaceSize {
		return false
	}
	if c.load(RingConnectionOff) == RingReconnect {
		return c.reconnect()
	}
	s := c.sess.s
	s.mu.Lock()
	detached := c.sess.detached
	s.mu.Unlock()
	if detached || c.sess.err() != nil {
		return false
	}
	moved := c.flush()
	for c.sess.queued() < min(outputPause, c.sess.limit/2) {
		if c.hdrN == HeaderSize && c.payN == int(c.h.Len) {
			m := Message{Type: c.h.Type, ReqID: c.h.ReqID, TxID: c.h.TxID, Payload: c.payload[:c.payN]}
			c.hdrN, c.payN = 0, 0
			s.handle(c.sess, m)
			continue
		}
		n, err := c.read()
		if err != nil {
			c.fail(err)
			return true
		}
		if n == 0 {
			break
		}
		moved = true
	}
	return c.flush() || moved
}

// read copies the next piece of the current message (header, then
// payload) out of the request ring and advances req_cons. It returns the
// number of bytes read, 0 if the ring is empty.
func (c *Conn) read() (int, error) {
	cons := c.load(RingReqConsOff)
	prod := c.load(RingReqProdOff)
	avail := prod - cons
	if avail > RingSize {
		return 0, fmt.Errorf("%w: req_cons %#x req_prod %#x", ErrRingIndex, cons, prod)
	}
	var dst []byte
	if c.hdrN < HeaderSize {
		dst = c.hdr[c.hdrN:]
	} else {
		dst = c.payload[c.payN:c.h.Len]
	}
	idx := int(cons % RingSize)
	n := min(len(dst), int(avail), RingSize-idx)
	if n == 0 {
		return 0, nil
	}
	copy(dst[:n], c.ring[RingReqOff+idx:RingReqOff+idx+n])
	c.store(RingReqConsOff, cons+uint32(n))
	if c.hdrN < HeaderSize {
		c.hdrN += n
		if c.hdrN == HeaderSize {
			h, err := DecodeHeader(c.hdr[:])
			if err != nil {
				return 0, err
			}
			c.h = h
			if c.payload == nil {
				c.payload = make([]byte, PayloadMax)
			}
		}
	} else {
		c.payN += n
	}
	return n, nil
}

// flush writes queued output into the response ring as space allows and
// advances rsp_prod. It reports whether it wrote anything.
func (c *Conn) flush() bool {
	sess := c.sess
	sess.outMu.Lock()
	if sess.broken != nil {
		code := sess.brokeAs
		sess.outMu.Unlock()
		c.store(RingErrorOff, code)
		return false
	}
	if len(sess.out) == 0 {
		sess.outMu.Unlock()
		return false
	}
	cons := c.load(RingRspConsOff)
	prod := c.load(RingRspProdOff)
	used := prod - cons
	if used > RingSize {
		sess.outMu.Unlock()
		c.fail(fmt.Errorf("%w: rsp_cons %#x rsp_prod %#x", ErrRingIndex, cons, prod))
		return true
	}
	free := int(RingSize - used)
	wrote := 0
	for free > 0 && len(sess.out) > 0 {
		chunk := sess.out[0].b[sess.outOff:]
		idx := int(prod % RingSize)
		n := min(len(chunk), free, RingSize-idx)
		copy(c.ring[RingRspOff+idx:RingRspOff+idx+n], chunk[:n])
		prod += uint32(n)
		free -= n
		wrote += n
		sess.outOff += n
		if sess.outOff == len(sess.out[0].b) {
			sess.popped()
		}
	}
	// Publish before unlocking: a concurrent flush (a kick from another
	// goroutine) must see the new rsp_prod, or it would write its bytes
	// over these.
	if wrote > 0 {
		c.store(RingRspProdOff, prod)
	}
	sess.outMu.Unlock()
	return wrote > 0
}

// kick is the session's output callback: write what fits and notify,
// unless Service is running and will notify itself.
func (c *Conn) kick() {
	if !c.flush() {
		return
	}
	if c.servicing.Load() {
		c.pendingNotify.Store(true)
		// Service may have finished between the two atomics above and
		// missed the flag: whoever takes it back notifies.
		if c.servicing.Load() || !c.pendingNotify.Swap(false) {
			return
		}
	}
	c.notify()
}

// fail breaks the connection for err, records the reason in the ring's
// error field and drops the connection's watches and transactions.
func (c *Conn) fail(err error) {
	code := uint32(RingErrorComm)
	switch {
	case errors.Is(err, ErrRingIndex):
		code = RingErrorRingIdx
	case errors.Is(err, ErrPayloadTooLarge):
		code = RingErrorProto
	}
	c.sess.outMu.Lock()
	c.sess.breakLocked(err, code)
	c.sess.outMu.Unlock()
	c.store(RingErrorOff, code)
	s := c.sess.s
	s.mu.Lock()
	s.dropState(c.sess)
	s.mu.Unlock()
}

// reconnect performs the ring reconnection the guest asked for
// (docs/misc/xenstore-ring.txt): partial input and queued output are
// dropped, watches and transactions discarded, the indices and error field
// zeroed, and the connection field set back to Connected. A closed or
// released connection is not revived. Called with inMu held.
func (c *Conn) reconnect() bool {
	s := c.sess.s
	s.mu.Lock()
	if c.sess.detached {
		s.mu.Unlock()
		return false
	}
	s.dropState(c.sess)
	c.sess.outMu.Lock()
	c.sess.clearOutput()
	c.sess.broken = nil
	c.sess.brokeAs = 0
	c.sess.outMu.Unlock()
	s.mu.Unlock()
	c.hdrN, c.payN = 0, 0
	for _, off := range []int{RingReqConsOff, RingReqProdOff, RingRspConsOff, RingRspProdOff, RingErrorOff} {
		c.store(off, 0)
	}
	c.store(RingConnectionOff, RingConnected)
	return true
}
