package xen

import (
	"encoding/binary"
	"slices"
	"testing"
)

func TestSchedOp(t *testing.T) {
	le := binary.LittleEndian
	reason := func(r uint32) func([]byte) { return func(a []byte) { le.PutUint32(a, r) } }
	// pollArg writes a sched_poll at the start of the argument page and its
	// ports at offset 0x100.
	pollArg := func(nr uint32, timeout uint64, ports ...uint32) func([]byte) {
		return func(a []byte) {
			le.PutUint64(a[0:], argGVA+0x100)
			le.PutUint32(a[8:], nr)
			le.PutUint64(a[16:], timeout)
			for i, p := range ports {
				le.PutUint32(a[0x100+4*i:], p)
			}
		}
	}
	remote := func(dom uint16, r uint32) func([]byte) {
		return func(a []byte) { le.PutUint16(a[0:], dom); le.PutUint32(a[4:], r) }
	}
	tests := []struct {
		name      string
		cmd       uint64
		arg       uint64
		setup     func([]byte)
		want      int64
		shutdowns []uint32
		codes     []uint32
		yields    int
		blocks    int
		polls     []pollCall
	}{
		{name: "yield", cmd: SchedopYield, want: 0, yields: 1},
		{name: "block", cmd: SchedopBlock, want: 0, blocks: 1},
		{name: "shutdown poweroff", cmd: SchedopShutdown, arg: argGVA, setup: reason(0), shutdowns: []uint32{0}},
		{name: "shutdown reboot", cmd: SchedopShutdown, arg: argGVA, setup: reason(1), shutdowns: []uint32{1}},
		{name: "shutdown suspend", cmd: SchedopShutdown, arg: argGVA, setup: reason(2), shutdowns: []uint32{2}},
		{name: "shutdown crash", cmd: SchedopShutdown, arg: argGVA, setup: reason(3), shutdowns: []uint32{3}},
		{name: "shutdown watchdog", cmd: SchedopShutdown, arg: argGVA, setup: reason(4), shutdowns: []uint32{4}},
		{name: "shutdown soft_reset", cmd: SchedopShutdown, arg: argGVA, setup: reason(5), shutdowns: []uint32{5}},
		// domain_shutdown takes a u8 and does not check it against SHUTDOWN_MAX.
		{name: "shutdown beyond max", cmd: SchedopShutdown, arg: argGVA, setup: reason(6), shutdowns: []uint32{6}},
		{name: "shutdown reason truncated to u8", cmd: SchedopShutdown, arg: argGVA, setup: reason(0x1ff), shutdowns: []uint32{0xff}},
		{name: "shutdown fault", cmd: SchedopShutdown, arg: badGVA, want: -14},
		{name: "shutdown_code", cmd: SchedopShutdownCode, arg: argGVA, setup: reason(0x103), codes: []uint32{3}},
		{name: "shutdown_code fault", cmd: SchedopShutdownCode, arg: badGVA, want: -14},
		{name: "poll", cmd: SchedopPoll, arg: argGVA, setup: pollArg(3, 12345, 1, 2, 4095),
			polls: []pollCall{{0, []uint32{1, 2, 4095}, 12345}}},
		{name: "poll no ports", cmd: SchedopPoll, arg: argGVA, setup: pollArg(0, 0),
			polls: []pollCall{{0, []uint32{}, 0}}},
		{name: "poll 128 ports", cmd: SchedopPoll, arg: argGVA, setup: pollArg(128, 0),
			polls: []pollCall{{0, make([]uint32, 128), 0}}},
		{name: "poll too many ports", cmd: SchedopPoll, arg: argGVA, setup: pollArg(129, 0), want: -22},
		{name: "poll bad port", cmd: SchedopPoll, arg: argGVA, setup: pollArg(2, 0, 1, 4096), want: -22},
		{name: "poll fault", cmd: SchedopPoll, arg: badGVA, want: -14},
		{name: "poll ports fault", cmd: SchedopPoll, arg: argGVA, want: -14,
			setup: func(a []byte) { pollArg(1, 0)(a); le.PutUint64(a, badGVA) }},
		// Ports run off the end of the argument page after the first one.
		{name: "poll ports partial fault", cmd: SchedopPoll, arg: argGVA, want: -14,
			setup: func(a []byte) { le.PutUint64(a, argGVA+PageSize-4); le.PutUint32(a[8:], 2) }},
		// An invalid port before the faulting one is reported first, as Xen
		// checks each port as it copies it.
		{name: "poll bad port before fault", cmd: SchedopPoll, arg: argGVA, want: -22,
			setup: func(a []byte) {
				le.PutUint64(a, argGVA+PageSize-4)
				le.PutUint32(a[8:], 2)
				le.PutUint32(a[PageSize-4:], 5000)
			}},
		{name: "remote_shutdown self", cmd: SchedopRemoteShutdown, arg: argGVA, setup: remote(1, 0), want: -1},
		{name: "remote_shutdown backend", cmd: SchedopRemoteShutdown, arg: argGVA, setup: remote(0, 0), want: -1},
		{name: "remote_shutdown DOMID_SELF", cmd: SchedopRemoteShutdown, arg: argGVA, setup: remote(DomIDSelf, 0), want: -3},
		{name: "remote_shutdown unknown", cmd: SchedopRemoteShutdown, arg: argGVA, setup: remote(7, 0), want: -3},
		{name: "remote_shutdown fault", cmd: SchedopRemoteShutdown, arg: badGVA, want: -14},
		{name: "watchdog", cmd: SchedopWatchdog, arg: argGVA, want: -38},
		{name: "pin_override", cmd: SchedopPinOverride, arg: badGVA, want: -1},
		{name: "unknown", cmd: 8, want: -38},
		{name: "cmd truncated to int", cmd: 1<<32 | SchedopYield, yields: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, d, v, arg, _ := newTest(Options{})
			if tt.setup != nil {
				tt.setup(arg)
			}
			got := x.Hypercall(v, Call{Nr: HypercallSchedOp, Args: [5]uint64{tt.cmd, tt.arg}})
			if got != tt.want {
				t.Fatalf("sched_op(%d) = %d, want %d", tt.cmd, got, tt.want)
			}
			if !slices.Equal(d.shutdowns, tt.shutdowns) {
				t.Errorf("shutdowns %v, want %v", d.shutdowns, tt.shutdowns)
			}
			if !slices.Equal(d.codes, tt.codes) {
				t.Errorf("codes %v, want %v", d.codes, tt.codes)
			}
			if d.yields != tt.yields || d.blocks != tt.blocks {
				t.Errorf("yields %d blocks %d, want %d %d", d.yields, d.blocks, tt.yields, tt.blocks)
			}
			if len(d.polls) != len(tt.polls) {
				t.Fatalf("polls %v, want %v", d.polls, tt.polls)
			}
			for i := range d.polls {
				g, w := d.polls[i], tt.polls[i]
				if g.vcpu != w.vcpu || g.timeout != w.timeout || !slices.Equal(g.ports, w.ports) {
					t.Errorf("poll %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// TestShutdownLatch checks domain_shutdown's use of the shutdown code and
// that only the first shutdown reaches the Domain until ResetShutdown.
func TestShutdownLatch(t *testing.T) {
	x, d, v, arg, _ := newTest(Options{})
	call := func(cmd, r uint32) int64 {
		binary.LittleEndian.PutUint32(arg, r)
		return x.Hypercall(v, Call{Nr: HypercallSchedOp, Args: [5]uint64{uint64(cmd), argGVA}})
	}
	if _, ok := x.ShutdownCode(); ok {
		t.Fatal("code latched at start")
	}
	call(SchedopShutdownCode, ShutdownCrash)
	call(SchedopShutdownCode, ShutdownReboot) // ignored: first code sticks
	if c, ok := x.ShutdownCode(); !ok || c != ShutdownCrash {
		t.Fatalf("ShutdownCode = %d, %v", c, ok)
	}
	call(SchedopShutdown, ShutdownPoweroff) // the latched code wins
	call(SchedopShutdown, ShutdownReboot)   // already shutting down
	if !slices.Equal(d.shutdowns, []uint32{ShutdownCrash}) || !slices.Equal(d.codes, []uint32{ShutdownCrash}) {
		t.Fatalf("shutdowns %v codes %v", d.shutdowns, d.codes)
	}
	x.ResetShutdown()
	call(SchedopShutdown, ShutdownReboot)
	if !slices.Equal(d.shutdowns, []uint32{ShutdownCrash, ShutdownReboot}) {
		t.Fatalf("after reset: shutdowns %v", d.shutdowns)
	}
}
