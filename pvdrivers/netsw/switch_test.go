package netsw

import (
	"sync"
	"testing"
	"time"
)

// sink is a port's receiver that records frames, or refuses them.
type sink struct {
	mu     sync.Mutex
	frames [][]byte
	refuse bool
}

func (s *sink) recv(f []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse {
		return false
	}
	s.frames = append(s.frames, append([]byte(nil), f...))
	return true
}

func (s *sink) take() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.frames)
	s.frames = nil
	return n
}

func mac(b byte) MAC { return MAC{2, 0, 0, 0, 0, b} }

var bcast = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

func frame(dst, src MAC) []byte {
	f := make([]byte, 60)
	copy(f, dst[:])
	copy(f[6:], src[:])
	return f
}

func TestSwitchForwarding(t *testing.T) {
	sw := New("lan", Options{})
	var a, b, c sink
	pa, pb, pc := sw.Attach(a.recv), sw.Attach(b.recv), sw.Attach(c.recv)
	steps := []struct {
		name    string
		from    *Port
		f       []byte
		a, b, c int // frames each sink gets
	}{
		{"broadcast floods", pa, frame(bcast, mac(1)), 0, 1, 1},
		{"unknown floods", pb, frame(mac(9), mac(2)), 1, 0, 1},
		{"learned unicast", pb, frame(mac(1), mac(2)), 1, 0, 0},
		{"reply learned", pa, frame(mac(2), mac(1)), 0, 1, 0},
		{"multicast floods", pc, frame(MAC{1, 0, 0x5e, 0, 0, 1}, mac(3)), 1, 1, 0},
		{"hairpin filtered", pa, frame(mac(1), mac(1)), 0, 0, 0},
		{"runt filtered", pa, []byte{1, 2, 3}, 0, 0, 0},
		{"multicast source not learned", pc, frame(mac(7), MAC{1, 2, 3, 4, 5, 6}), 1, 1, 0},
	}
	for _, st := range steps {
		st.from.Send(st.f)
		if ga, gb, gc := a.take(), b.take(), c.take(); ga != st.a || gb != st.b || gc != st.c {
			t.Errorf("%s: got %d/%d/%d frames, want %d/%d/%d", st.name, ga, gb, gc, st.a, st.b, st.c)
		}
	}
	if p, ok := sw.Lookup(MAC{1, 2, 3, 4, 5, 6}); ok {
		t.Errorf("multicast source learned on %p", p)
	}
	s := sw.Stats()
	if s.Frames != 8 || s.Unicast != 2 || s.Filtered != 2 || s.Flooded != 4 {
		t.Errorf("stats %+v", s)
	}
	// Closing b forgets mac(2): frames to it flood again.
	pb.Close()
	pb.Send(frame(bcast, mac(2))) // closed: discarded
	pa.Send(frame(mac(2), mac(1)))
	if ga, gb, gc := a.take(), b.take(), c.take(); ga != 0 || gb != 0 || gc != 1 {
		t.Errorf("after close: %d/%d/%d", ga, gb, gc)
	}
	if sw.Ports() != 2 {
		t.Errorf("%d ports", sw.Ports())
	}
	_ = pc
}

func TestSwitchDropsCounted(t *testing.T) {
	sw := New("lan", Options{})
	var a, full sink
	full.refuse = true
	pa := sw.Attach(a.recv)
	pf := sw.Attach(full.recv)
	for range 10 {
		pa.Send(frame(bcast, mac(1)))
	}
	if s := pf.Stats(); s.Dropped != 10 || s.Delivered != 0 {
		t.Errorf("full port: %+v", s)
	}
	if s := sw.Stats(); s.Dropped != 10 {
		t.Errorf("switch: %+v", s)
	}
	if s := pa.Stats(); s.Sent != 10 {
		t.Errorf("sender: %+v", s)
	}
}

func TestSwitchAging(t *testing.T) {
	sw := New("lan", Options{Aging: 10 * time.Millisecond})
	var a, b, c sink
	pa, pb := sw.Attach(a.recv), sw.Attach(b.recv)
	sw.Attach(c.recv)
	pb.Send(frame(bcast, mac(2)))
	time.Sleep(20 * time.Millisecond)
	a.take()
	c.take()
	pa.Send(frame(mac(2), mac(1))) // expired: floods
	if c.take() != 1 {
		t.Error("expired entry still used")
	}
}

func TestSwitchTableBounded(t *testing.T) {
	sw := New("lan", Options{MaxMACs: 2})
	var a sink
	pa := sw.Attach(a.recv)
	for i := range 3 {
		pa.Send(frame(bcast, mac(byte(i))))
	}
	if _, ok := sw.Lookup(mac(2)); ok {
		t.Error("learned past MaxMACs")
	}
	if _, ok := sw.Lookup(mac(1)); !ok {
		t.Error("second MAC not learned")
	}
}

func TestSwitchConcurrent(t *testing.T) {
	sw := New("lan", Options{})
	const n = 4
	sinks := make([]sink, n)
	ports := make([]*Port, n)
	for i := range ports {
		ports[i] = sw.Attach(sinks[i].recv)
	}
	var wg sync.WaitGroup
	for i := range ports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 500 {
				ports[i].Send(frame(mac(byte((i+j)%n)), mac(byte(i))))
				if i == 0 && j%100 == 0 {
					var extra sink
					sw.Attach(extra.recv).Close()
				}
			}
		}()
	}
	wg.Wait()
	if s := sw.Stats(); s.Frames != n*500 {
		t.Errorf("stats %+v", s)
	}
}
