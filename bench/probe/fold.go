package probe

import (
	"fmt"

	"github.com/cilium/ebpf"
)

// A vCPU thread's counters, most used access addresses and histograms live
// in its slot of the threads array (the probes find it through a per-CPU
// cache, so that most events cost no hash lookup). Registered threads take
// slots [0, numThreads/2), given out by the Tracer; threads learnt by
// Options.Discover take slots [numThreads/2, numThreads), listed in the
// learnt map and never freed. Snapshot sums the slots by vCPU and VM; a
// registered slot is folded into Tracer.folded before it is freed, so that
// no event of an exited thread is lost.

// numThreads is NR_THREADS in probe.c.
const numThreads = 4096

// threadSlot is where a registered thread counts.
type threadSlot struct {
	slot uint32 // index in threads
	gen  uint32 // tstate.gen while the thread holds it
}

// freeSlots returns every registered-thread slot, the lowest last.
func freeSlots() []uint32 {
	s := make([]uint32, numThreads/2)
	for i := range s {
		s[i] = uint32(len(s) - 1 - i)
	}
	return s
}

// addThread adds one thread's counts to v.
func addThread(v *VMStats, ts *probeTstate) {
	c := v.VCPUs[int(ts.Id.Vcpu)]
	if c == nil {
		c = &Counters{}
		v.VCPUs[int(ts.Id.Vcpu)] = c
	}
	tc := fromProbe(&ts.C)
	c.add(tc, 1)
	v.Total.add(tc, 1)
	for i := range ts.Ports {
		p := &ts.Ports[i]
		if p.Kind != 0 && p.N != 0 {
			v.Ports[PortKey{Access(p.Kind), p.Addr, p.User != 0}] += p.N
		}
	}
	for b := range v.Monitor {
		v.Monitor[b] += ts.MonitorHist[b]
		v.RunQueue[b] += ts.RunqHist[b]
	}
}

// idle reports whether a thread has counted nothing yet (every sample of
// a histogram or port slot is also a counter).
func idle(ts *probeTstate) bool { return ts.C == probeCounters{} }

// addVM adds the counts of VM stats f to v.
func addVM(v, f *VMStats) {
	for i, c := range f.VCPUs {
		d := v.VCPUs[i]
		if d == nil {
			d = &Counters{}
			v.VCPUs[i] = d
		}
		d.add(c, 1)
	}
	v.Total.add(&f.Total, 1)
	for k, n := range f.Ports {
		v.Ports[k] += n
	}
	for b := range v.Monitor {
		v.Monitor[b] += f.Monitor[b]
		v.RunQueue[b] += f.RunQueue[b]
	}
}

// releaseLocked forgets registered thread tid: its vcpus entry goes, then
// its slot is read, added to t.folded, cleared and freed. t.mu must be held.
func (t *Tracer) releaseLocked(tid uint32) error {
	ts := t.slotOf[tid]
	if err := t.coll.Maps["vcpus"].Delete(tid); err != nil {
		return fmt.Errorf("probe: unregister thread %d: %w", tid, err)
	}
	delete(t.slotOf, tid)
	m := t.coll.Maps["threads"]
	var st probeTstate
	if err := m.Lookup(ts.slot, &st); err != nil {
		return fmt.Errorf("probe: unregister thread %d: %w", tid, err)
	}
	if err := m.Put(ts.slot, &probeTstate{}); err != nil {
		return fmt.Errorf("probe: unregister thread %d: %w", tid, err)
	}
	t.free = append(t.free, ts.slot)
	if st.Gen != ts.gen || idle(&st) {
		return nil
	}
	id := VMID(st.Id.Vm)
	f := t.folded[id]
	if f == nil {
		f = &VMStats{ID: id, VCPUs: map[int]*Counters{}, Ports: map[PortKey]uint64{}}
		t.folded[id] = f
	}
	addThread(f, &st)
	return nil
}

// threadsLocked adds every live thread's and every folded thread's counts
// to s. t.mu must be held.
func (t *Tracer) threadsLocked(s *Snapshot) error {
	slots := make([]uint32, 0, len(t.slotOf))
	for _, ts := range t.slotOf {
		slots = append(slots, ts.slot)
	}
	if t.discover {
		var n, tid uint32
		it := t.coll.Maps["learnt"].Iterate()
		for it.Next(&n, &tid) {
			slots = append(slots, numThreads/2+n%(numThreads/2))
		}
		if err := it.Err(); err != nil {
			return fmt.Errorf("probe: read learnt threads: %w", err)
		}
	}
	m := t.coll.Maps["threads"]
	var st probeTstate
	for _, slot := range slots {
		if err := m.Lookup(slot, &st); err != nil {
			return fmt.Errorf("probe: read thread counters: %w", err)
		}
		if st.Gen != 0 && !idle(&st) {
			addThread(s.vm(VMID(st.Id.Vm), t.vms[VMID(st.Id.Vm)]), &st)
		}
	}
	for id, f := range t.folded {
		addVM(s.vm(id, t.vms[id]), f)
	}
	return nil
}

// checkThreads verifies that the loaded threads map has numThreads slots.
func checkThreads(m *ebpf.Map) error {
	if m.MaxEntries() != numThreads {
		return fmt.Errorf("probe: threads map has %d slots, want %d", m.MaxEntries(), numThreads)
	}
	return nil
}
