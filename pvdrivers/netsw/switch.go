package netsw

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options.
const (
	DefaultAging   = 5 * time.Minute
	DefaultMaxMACs = 4096
)

// ErrClosed reports use of a closed port.
var ErrClosed = errors.New("netsw: port closed")

// MAC is an Ethernet address.
type MAC [6]byte

// Receiver takes a copy-or-drop delivery of one frame; it must not block nor
// keep frame after it returns, and reports whether it accepted it.
type Receiver func(frame []byte) bool

// Options configures a Switch.
type Options struct {
	Aging   time.Duration // lifetime of a learned MAC; 0 means DefaultAging
	MaxMACs int           // learned MACs kept; 0 means DefaultMaxMACs
}

// Stats are a switch's counters.
type Stats struct {
	Frames    uint64 // frames sent into the switch
	Unicast   uint64 // frames forwarded to one learned port
	Flooded   uint64 // frames flooded (broadcast, multicast, unknown)
	Filtered  uint64 // frames dropped: destination on the sending port, or runt
	Delivered uint64 // deliveries accepted by receivers
	Dropped   uint64 // deliveries refused by receivers (queue full)
}

// PortStats are one port's counters.
type PortStats struct {
	Sent      uint64 // frames the port sent into the switch
	Delivered uint64 // frames delivered to the port's receiver
	Dropped   uint64 // frames its receiver refused
}

// Switch is an L2 learning switch. Its methods are safe for concurrent use.
type Switch struct {
	name string
	opt  Options

	mu    sync.RWMutex // protects ports and fdb
	ports []*Port
	fdb   map[MAC]entry

	frames, unicast, flooded, filtered, delivered, dropped atomic.Uint64
}

// entry is a learned MAC.
type entry struct {
	port *Port
	seen time.Time
}

// Port is one attachment to a switch; it implements netback.Network.
type Port struct {
	sw                       *Switch
	recv                     Receiver
	closed                   atomic.Bool
	sent, delivered, dropped atomic.Uint64
}

// New returns an empty switch.
func New(name string, opt Options) *Switch {
	if opt.Aging <= 0 {
		opt.Aging = DefaultAging
	}
	if opt.MaxMACs <= 0 {
		opt.MaxMACs = DefaultMaxMACs
	}
	return &Switch{name: name, opt: opt, fdb: make(map[MAC]entry)}
}

// Name returns the switch's name.
func (s *Switch) Name() string { return s.name }

// Attach adds a port whose frames go to recv.
func (s *Switch) Attach(recv Receiver) *Port {
	p := &Port{sw: s, recv: recv}
	s.mu.Lock()
	s.ports = append(s.ports, p)
	s.mu.Unlock()
	return p
}

// Ports returns the number of attached ports.
func (s *Switch) Ports() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.ports)
}

// Stats returns the switch's counters.
func (s *Switch) Stats() Stats {
	return Stats{
		Frames: s.frames.Load(), Unicast: s.unicast.Load(), Flooded: s.flooded.Load(),
		Filtered: s.filtered.Load(), Delivered: s.delivered.Load(), Dropped: s.dropped.Load(),
	}
}

// Lookup returns the port that owns mac, if learned and not expired.
func (s *Switch) Lookup(mac MAC) (*Port, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.fdb[mac]
	if !ok || time.Since(e.seen) > s.opt.Aging {
		return nil, false
	}
	return e.port, true
}

// Close detaches the port and forgets the MACs learned on it. It is
// idempotent.
func (p *Port) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	s := p.sw
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, q := range s.ports {
		if q == p {
			s.ports = append(s.ports[:i], s.ports[i+1:]...)
			break
		}
	}
	for m, e := range s.fdb {
		if e.port == p {
			delete(s.fdb, m)
		}
	}
	return nil
}

// Stats returns the port's counters.
func (p *Port) Stats() PortStats {
	return PortStats{Sent: p.sent.Load(), Delivered: p.delivered.Load(), Dropped: p.dropped.Load()}
}

// Send switches frame (an Ethernet frame, destination first). It does not
// keep frame. A closed port's frames are discarded.
func (p *Port) Send(frame []byte) {
	s := p.sw
	if p.closed.Load() {
		return
	}
	p.sent.Add(1)
	s.frames.Add(1)
	if len(frame) < 14 {
		s.filtered.Add(1)
		return
	}
	var dst, src MAC
	copy(dst[:], frame[0:6])
	copy(src[:], frame[6:12])
	now := time.Now()
	s.learn(p, src, now)

	s.mu.RLock()
	defer s.mu.RUnlock()
	if dst[0]&1 == 0 { // unicast
		if e, ok := s.fdb[dst]; ok && now.Sub(e.seen) <= s.opt.Aging {
			if e.port == p {
				s.filtered.Add(1)
				return
			}
			s.unicast.Add(1)
			s.deliver(e.port, frame)
			return
		}
	}
	s.flooded.Add(1)
	for _, q := range s.ports {
		if q != p {
			s.deliver(q, frame)
		}
	}
}

// deliver hands frame to q's receiver. Caller holds s.mu for reading.
func (s *Switch) deliver(q *Port, frame []byte) {
	if q.recv(frame) {
		q.delivered.Add(1)
		s.delivered.Add(1)
	} else {
		q.dropped.Add(1)
		s.dropped.Add(1)
	}
}

// learn records that src is behind p; multicast sources are ignored.
func (s *Switch) learn(p *Port, src MAC, now time.Time) {
	if src[0]&1 != 0 {
		return
	}
	s.mu.RLock()
	e, ok := s.fdb[src]
	s.mu.RUnlock()
	// Refresh at most once a second per MAC to keep the write lock rare.
	if ok && e.port == p && now.Sub(e.seen) < time.Second {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.closed.Load() {
		return
	}
	if _, ok := s.fdb[src]; !ok && len(s.fdb) >= s.opt.MaxMACs {
		for m, e := range s.fdb {
			if now.Sub(e.seen) > s.opt.Aging {
				delete(s.fdb, m)
			}
		}
		if len(s.fdb) >= s.opt.MaxMACs {
			return // full of live entries: flood instead of learning
		}
	}
	s.fdb[src] = entry{port: p, seen: now}
}
