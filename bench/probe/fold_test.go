package probe

import (
	"errors"
	"testing"
)

// bump adds to the counters in thread tid's slot, as the probes would.
func bump(t *testing.T, tr *Tracer, tid uint32, emul, port, hist uint64) {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	ts, ok := tr.slotOf[tid]
	if !ok {
		t.Fatalf("thread %d has no slot", tid)
	}
	m := tr.coll.Maps["threads"]
	var st probeTstate
	if err := m.Lookup(ts.slot, &st); err != nil {
		t.Fatal(err)
	}
	st.C.Emulations += emul
	st.C.PioUser += port
	st.Ports[0] = probePortSlot{Addr: 0xc0, Kind: uint32(PIOOut), User: 1, N: st.Ports[0].N + port}
	st.MonitorHist[3] += hist
	st.C.MonitorN += hist
	if err := m.Put(ts.slot, &st); err != nil {
		t.Fatal(err)
	}
}

// TestFoldKeepsCounts checks that what a thread counted survives its
// unregistration and a second registration of the same thread id.
func TestFoldKeepsCounts(t *testing.T) {
	tr := openTracer(t, Options{NoBlock: true})
	id, err := tr.AddVM("fold")
	if err != nil {
		t.Fatal(err)
	}
	const tidA, tidB = 0x3ffffff0, 0x3ffffff1 // no such threads: nothing else counts
	steps := []struct {
		name             string
		do               func() error
		emul, port, hist uint64 // VM totals after the step
		vcpu0            uint64 // emulations of vCPU 0
	}{
		{"register", func() error { return tr.Register(id, 0, tidA) }, 0, 0, 0, 0},
		{"count", func() error { bump(t, tr, tidA, 5, 3, 2); return nil }, 5, 3, 2, 5},
		{"second thread", func() error {
			if err := tr.Register(id, 1, tidB); err != nil {
				return err
			}
			bump(t, tr, tidB, 7, 1, 1)
			return nil
		}, 12, 4, 3, 5},
		{"unregister", func() error { return tr.Unregister(tidA) }, 12, 4, 3, 5},
		{"register again", func() error {
			if err := tr.Register(id, 0, tidA); err != nil {
				return err
			}
			bump(t, tr, tidA, 1, 1, 1)
			return nil
		}, 13, 5, 4, 6},
		{"re-register without unregister", func() error { return tr.Register(id, 0, tidA) }, 13, 5, 4, 6},
		{"unregister both", func() error {
			if err := tr.Unregister(tidA); err != nil {
				return err
			}
			return tr.Unregister(tidB)
		}, 13, 5, 4, 6},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		snap, err := tr.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		v := snap.VMs[id]
		if v == nil {
			if s.emul != 0 {
				t.Fatalf("%s: VM missing from snapshot", s.name)
			}
			continue
		}
		var vcpu0 uint64
		if c := v.VCPUs[0]; c != nil {
			vcpu0 = c.Emulations
		}
		got := [4]uint64{v.Total.Emulations, v.Port(PIOOut, 0xc0, true), v.Monitor.Count(), vcpu0}
		want := [4]uint64{s.emul, s.port, s.hist, s.vcpu0}
		if got != want {
			t.Errorf("%s: emulations, port, monitor samples, vCPU 0 emulations = %v, want %v", s.name, got, want)
		}
	}
	if err := tr.Unregister(tidA); err == nil {
		t.Error("unregistering an unknown thread succeeded")
	}
}

// TestRegisterSlotsRunOut checks that registering more threads than there
// are slots fails cleanly, and that freed slots are reused.
func TestRegisterSlotsRunOut(t *testing.T) {
	tr := openTracer(t, Options{NoBlock: true})
	id, err := tr.AddVM("many")
	if err != nil {
		t.Fatal(err)
	}
	const base = 0x3fff0000
	for i := 0; i < numThreads/2; i++ {
		if err := tr.Register(id, i, base+i); err != nil {
			t.Fatalf("thread %d: %v", i, err)
		}
	}
	if err := tr.Register(id, 0, base-1); !errors.Is(err, ErrTooManyThreads) {
		t.Fatalf("one thread too many: got %v, want %v", err, ErrTooManyThreads)
	}
	if err := tr.Unregister(base); err != nil {
		t.Fatal(err)
	}
	if err := tr.Register(id, 0, base-1); err != nil {
		t.Fatalf("after a slot was freed: %v", err)
	}
}
