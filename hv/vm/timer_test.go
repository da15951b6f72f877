package vm

import (
	"testing"
	"time"

	"github.com/xenolith/xenolith/hv/evtchn"
	"github.com/xenolith/xenolith/hv/mem"
)

// TestTimerNeverFiresAfterStop arms single-shot and periodic timers that
// are due at once and stops them straight away, many times over, while
// the timer thread fires them: once a stop returns, the timer must not
// fire (Xen's stop_timer), however the threads interleave. Before timers
// fired under their lock, a fire found due just before the stop could
// land after it (a soak run saw such a stale VIRQ_TIMER).
func TestTimerNeverFiresAfterStop(t *testing.T) {
	m, err := mem.New(16*mem.PageSize, mem.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	v := &VM{vcpus: []*vcpu{{id: 0}}}
	p := &pv{v: v, clock: &pvclock{start: time.Now()}}
	p.evt, err = evtchn.NewTable(evtchn.Config{DomID: 1, VCPUs: 1, Memory: m})
	if err != nil {
		t.Fatal(err)
	}
	tm := &vcpuTimer{p: p, vcpu: 0}
	stale := 0
	for i := 0; i < 10000; i++ {
		if i%2 == 0 {
			tm.setSingle(uint64(time.Since(p.clock.start))) // due now
			tm.stopSingle()
		} else {
			tm.setPeriodic(time.Microsecond)
			time.Sleep(time.Duration(i%3) * time.Microsecond)
			tm.stopPeriodic()
		}
		tm.mu.Lock()
		after := tm.fired
		tm.mu.Unlock()
		if i%500 == 0 {
			time.Sleep(200 * time.Microsecond) // let a late fire land
		}
		tm.mu.Lock()
		if tm.fired != after {
			stale++
		}
		tm.mu.Unlock()
	}
	tm.stop()
	if stale > 0 {
		t.Fatalf("%d timers fired after their stop returned", stale)
	}
}
