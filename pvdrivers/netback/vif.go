package netback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/xenolith/xenolith/pvdrivers/ring"
)

// Defaults of Config.
const (
	DefaultRxQueue    = 512 // frames waiting for the guest's buffers
	DefaultAbuseLimit = 64  // malformed tx packets per connection
	rxBudget          = 64  // frames delivered before looking at tx again
	poolFrame         = 2048
)

// Network is the far side of a vif: an in-process switch port, a tap
// device. Send takes a frame the guest transmitted; it must not keep frame
// after it returns (copy what it queues). Frames for the guest come back
// through Vif.Deliver.
type Network interface {
	Send(frame []byte)
}

// Channel is the backend's end of an event channel; *evtchn.Endpoint
// satisfies it.
type Channel interface {
	// Notify raises the guest's port.
	Notify()
	// Wait blocks until the guest has kicked since the last Drain, or
	// fails (disconnect, close, ctx done).
	Wait(ctx context.Context) error
	// Drain resets the kick count.
	Drain() uint64
}

// Config configures a Vif.
type Config struct {
	MAC        net.HardwareAddr // the guest's MAC (for BackendKeys and logs)
	RxQueue    int              // frames queued for the guest; 0 means DefaultRxQueue
	AbuseLimit int              // malformed tx packets that disconnect; 0 means DefaultAbuseLimit
	Log        *slog.Logger     // where the abuse disconnect is logged; nil: slog.Default()
}

// Vif is one virtual interface: the frames queued for the guest, its
// counters and its Network, across connections of its frontend. Serve runs
// the data path of one connection.
type Vif struct {
	cfg  Config
	c    counters
	wake chan struct{} // a token when frames were queued
	pool sync.Pool     // *[]byte of poolFrame capacity

	mu        sync.Mutex // protects the fields below
	network   Network    // where tx frames go
	q         [][]byte   // frames for the guest, a circular queue
	qhead     int        // index of the oldest frame in q
	qlen      int        // frames in q
	connected bool       // Serve is running
	abused    bool       // a connection ended for abuse: no more connections
}

// NewVif makes a vif; attach it to a Network with SetNetwork before Serve.
func NewVif(cfg Config) *Vif {
	if cfg.RxQueue <= 0 {
		cfg.RxQueue = DefaultRxQueue
	}
	if cfg.AbuseLimit <= 0 {
		cfg.AbuseLimit = DefaultAbuseLimit
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	v := &Vif{cfg: cfg, wake: make(chan struct{}, 1), q: make([][]byte, cfg.RxQueue)}
	v.pool.New = func() any { b := make([]byte, poolFrame); return &b }
	return v
}

// MAC returns the guest's MAC.
func (v *Vif) MAC() net.HardwareAddr { return v.cfg.MAC }

// SetNetwork sets where the guest's frames go (nil drops them).
func (v *Vif) SetNetwork(n Network) {
	v.mu.Lock()
	v.network = n
	v.mu.Unlock()
}

// Stats returns the vif's counters.
func (v *Vif) Stats() Stats { return v.c.snapshot() }

// Abused reports whether a connection was ended for abuse.
func (v *Vif) Abused() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.abused
}

// Deliver queues a copy of frame for the guest and reports whether it was
// queued: it is dropped (and counted) when no connection is served, the
// queue is full or the frame is empty or over MaxFrame. It never blocks.
func (v *Vif) Deliver(frame []byte) bool {
	if len(frame) == 0 || len(frame) > MaxFrame {
		v.c.rxDropped.Add(1)
		return false
	}
	v.mu.Lock()
	if !v.connected || v.qlen == len(v.q) {
		v.mu.Unlock()
		v.c.rxDropped.Add(1)
		return false
	}
	var b []byte
	if len(frame) <= poolFrame {
		b = (*v.pool.Get().(*[]byte))[:len(frame)]
	} else {
		b = make([]byte, len(frame))
	}
	copy(b, frame)
	v.q[(v.qhead+v.qlen)%len(v.q)] = b
	v.qlen++
	v.mu.Unlock()
	v.poke()
	return true
}

// poke wakes Serve.
func (v *Vif) poke() {
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// pop takes the oldest queued frame, nil if none.
func (v *Vif) pop() []byte {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.qlen == 0 {
		return nil
	}
	b := v.q[v.qhead]
	v.q[v.qhead] = nil
	v.qhead = (v.qhead + 1) % len(v.q)
	v.qlen--
	return b
}

// free returns a delivered frame's buffer.
func (v *Vif) free(b []byte) {
	if cap(b) == poolFrame {
		b = b[:poolFrame]
		v.pool.Put(&b)
	}
}

// Rings is one connection's data path: the two rings, their event
// channels and the guest's grants.
type Rings struct {
	Tx, Rx     *ring.Backend // the tx (TxEntrySize) and rx (RxEntrySize) rings
	TxCh, RxCh Channel       // the same Channel twice without split channels
	Grants     Grants        // the guest's buffers
	SG         bool          // the frontend takes multi-slot rx frames
}

// Serve runs the data path of one connection until ctx ends (nil), the
// guest breaks a ring (ErrRing), sends AbuseLimit malformed packets
// (ErrAbuse: logged, and the vif refuses later connections) or a Channel
// fails. Frames queued when it returns are dropped.
func (v *Vif) Serve(ctx context.Context, r Rings) error {
	v.mu.Lock()
	if v.abused {
		v.mu.Unlock()
		return fmt.Errorf("%w: vif %s was disconnected", ErrAbuse, v.cfg.MAC)
	}
	if v.connected {
		v.mu.Unlock()
		return errors.New("netback: vif already served")
	}
	v.connected = true
	network := v.network
	v.mu.Unlock()
	defer v.disconnect()

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	errc := make(chan error, 2)
	wait := func(ch Channel) {
		defer wg.Done()
		for {
			if err := ch.Wait(ctx); err != nil {
				errc <- err
				return
			}
			ch.Drain()
			v.poke()
		}
	}
	wg.Add(1)
	go wait(r.TxCh)
	if r.RxCh != r.TxCh {
		wg.Add(1)
		go wait(r.RxCh)
	}
	send := func(f []byte) {
		if network != nil {
			network.Send(f)
		}
	}
	tx := newTxPath(r.Tx, r.Grants, send, &v.c, v.cfg.AbuseLimit)
	rx := newRxPath(r.Rx, r.Grants, &v.c, r.SG)
	var cur []byte // the frame waiting for rx buffers
	defer func() {
		if cur != nil {
			v.c.rxDropped.Add(1)
		}
	}()
	for {
		n, put, err := tx.consume()
		if put && r.Tx.PushResponses() {
			r.TxCh.Notify()
			v.c.txNotifies.Add(1)
		}
		if err != nil {
			return v.fail(err)
		}
		delivered, blocked := 0, false
		for delivered < rxBudget {
			if cur == nil {
				if cur = v.pop(); cur == nil {
					break
				}
			}
			ok, err := rx.deliver(cur)
			if err != nil {
				return v.fail(err)
			}
			if !ok {
				blocked = true
				break
			}
			v.free(cur)
			cur = nil
			delivered++
		}
		if delivered > 0 && r.Rx.PushResponses() {
			r.RxCh.Notify()
			v.c.rxNotifies.Add(1)
		}
		if n > 0 || delivered > 0 || r.Tx.FinalCheckForRequests() {
			continue
		}
		if blocked && r.Rx.FinalCheckForRequests() {
			continue
		}
		select {
		case <-v.wake:
			v.c.wakeups.Add(1)
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("netback event channel: %w", err)
		case <-ctx.Done():
			return nil
		}
	}
}

// fail ends a connection on err, marking the vif abused (and logging it)
// for ErrAbuse.
func (v *Vif) fail(err error) error {
	if errors.Is(err, ErrAbuse) {
		v.mu.Lock()
		v.abused = true
		v.mu.Unlock()
		v.c.disconnects.Add(1)
		v.cfg.Log.Warn("netback: vif disconnected: guest sent too many malformed tx packets",
			"mac", v.cfg.MAC.String(), "limit", v.cfg.AbuseLimit, "err", err)
	}
	return err
}

// disconnect ends a connection: queued frames are dropped.
func (v *Vif) disconnect() {
	v.mu.Lock()
	v.connected = false
	dropped := v.qlen
	for v.qlen > 0 {
		v.q[v.qhead] = nil
		v.qhead = (v.qhead + 1) % len(v.q)
		v.qlen--
	}
	v.mu.Unlock()
	v.c.rxDropped.Add(uint64(dropped))
}
