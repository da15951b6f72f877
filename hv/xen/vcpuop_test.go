package xen

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
)

func TestVCPUOp(t *testing.T) {
	bad64 := long64()
	bad64.Regs64.CR0 = 0
	tests := []struct {
		name      string
		cmd       uint64
		vcpu      uint64
		arg       uint64
		ctx       *VCPUContext // written at argGVA
		prep      func(d *fakeDomain)
		want      int64
		shutdowns []uint32
		check     func(t *testing.T, x *Dispatcher, d *fakeDomain)
	}{
		{name: "initialise 64", cmd: VCPUOpInitialise, vcpu: 1, arg: argGVA, ctx: ptr(long64()),
			check: func(t *testing.T, _ *Dispatcher, d *fakeDomain) {
				if !d.initialised[1] || d.up[1] || d.contexts[1].Regs64 != long64().Regs64 {
					t.Errorf("vcpu 1: init %v up %v ctx %+v", d.initialised[1], d.up[1], d.contexts[1])
				}
			}},
		{name: "initialise 32", cmd: VCPUOpInitialise, vcpu: 3, arg: argGVA, ctx: ptr(flat32())},
		{name: "initialise no such vcpu", cmd: VCPUOpInitialise, vcpu: 4, arg: argGVA, ctx: ptr(long64()), want: -2},
		{name: "initialise huge vcpu id", cmd: VCPUOpInitialise, vcpu: 0xffffffff, arg: argGVA, ctx: ptr(long64()), want: -2},
		{name: "initialise vcpu id truncated", cmd: VCPUOpInitialise, vcpu: 1<<32 | 2, arg: argGVA, ctx: ptr(long64())},
		{name: "initialise fault", cmd: VCPUOpInitialise, vcpu: 1, arg: badGVA, want: -14},
		// ENOENT is checked before the argument is read.
		{name: "initialise no vcpu before fault", cmd: VCPUOpInitialise, vcpu: 9, arg: badGVA, want: -2},
		{name: "initialise exists", cmd: VCPUOpInitialise, vcpu: 0, arg: argGVA, ctx: ptr(long64()), want: -17},
		// EEXIST is checked before the context is validated.
		{name: "initialise exists before invalid", cmd: VCPUOpInitialise, vcpu: 0, arg: argGVA, ctx: &bad64, want: -17},
		{name: "initialise invalid", cmd: VCPUOpInitialise, vcpu: 1, arg: argGVA, ctx: &bad64, want: -22},
		{name: "initialise domain error errno", cmd: VCPUOpInitialise, vcpu: 1, arg: argGVA, ctx: ptr(long64()),
			prep: func(d *fakeDomain) { d.initErr = fmt.Errorf("no memory: %w", ENOMEM) }, want: -12},
		{name: "initialise domain error other", cmd: VCPUOpInitialise, vcpu: 1, arg: argGVA, ctx: ptr(long64()),
			prep: func(d *fakeDomain) { d.initErr = fmt.Errorf("kvm: %w", fmt.Errorf("boom")) }, want: -22},
		{name: "initialise domain race exists", cmd: VCPUOpInitialise, vcpu: 1, arg: argGVA, ctx: ptr(long64()),
			prep: func(d *fakeDomain) { d.initErr = ErrVCPUExists }, want: -17},
		{name: "up", cmd: VCPUOpUp, vcpu: 1, prep: func(d *fakeDomain) { d.initialised[1] = true },
			check: func(t *testing.T, _ *Dispatcher, d *fakeDomain) {
				if !d.up[1] {
					t.Error("vcpu 1 not up")
				}
			}},
		{name: "up already up", cmd: VCPUOpUp, vcpu: 0},
		{name: "up not initialised", cmd: VCPUOpUp, vcpu: 2, want: -22},
		{name: "up no such vcpu", cmd: VCPUOpUp, vcpu: 4, want: -2},
		{name: "down other", cmd: VCPUOpDown, vcpu: 1,
			prep: func(d *fakeDomain) { d.initialised[1], d.up[1] = true, true },
			check: func(t *testing.T, _ *Dispatcher, d *fakeDomain) {
				if d.up[1] || !d.up[0] {
					t.Errorf("up = %v", d.up)
				}
			}},
		{name: "down self with others up", cmd: VCPUOpDown, vcpu: 0,
			prep: func(d *fakeDomain) { d.initialised[2], d.up[2] = true, true },
			check: func(t *testing.T, _ *Dispatcher, d *fakeDomain) {
				if d.up[0] || !d.up[2] {
					t.Errorf("up = %v", d.up)
				}
			}},
		{name: "down already down", cmd: VCPUOpDown, vcpu: 3},
		{name: "down last vcpu powers off", cmd: VCPUOpDown, vcpu: 0, shutdowns: []uint32{ShutdownPoweroff},
			check: func(t *testing.T, _ *Dispatcher, d *fakeDomain) {
				if !d.up[0] {
					t.Error("last vcpu was taken down")
				}
			}},
		{name: "down no such vcpu", cmd: VCPUOpDown, vcpu: 4, want: -2},
		{name: "is_up", cmd: VCPUOpIsUp, vcpu: 0, want: 1},
		{name: "is_up down", cmd: VCPUOpIsUp, vcpu: 1, want: 0},
		{name: "is_up no such vcpu", cmd: VCPUOpIsUp, vcpu: 4, want: -2},
		{name: "register runstate", cmd: VCPUOpRegisterRunstateMemoryArea, vcpu: 2, arg: argGVA,
			check: func(t *testing.T, x *Dispatcher, _ *fakeDomain) {
				if gva, ok := x.RunstateArea(2); !ok || gva != 0xffff888000001000 {
					t.Errorf("RunstateArea(2) = %#x, %v", gva, ok)
				}
				if _, ok := x.RunstateArea(1); ok {
					t.Error("vcpu 1 has a runstate area")
				}
			}},
		{name: "register runstate fault", cmd: VCPUOpRegisterRunstateMemoryArea, vcpu: 0, arg: badGVA, want: -14},
		{name: "stop periodic timer", cmd: VCPUOpStopPeriodicTimer, vcpu: 0},
		{name: "stop periodic timer no vcpu", cmd: VCPUOpStopPeriodicTimer, vcpu: 7, want: -2},
		{name: "get_physid", cmd: VCPUOpGetPhysID, vcpu: 0, arg: argGVA, want: -22},
		{name: "get_runstate_info", cmd: VCPUOpGetRunstateInfo, vcpu: 0, arg: argGVA, want: -38},
		{name: "set periodic timer", cmd: VCPUOpSetPeriodicTimer, vcpu: 0, arg: argGVA, want: -38},
		{name: "set singleshot timer", cmd: VCPUOpSetSingleshotTimer, vcpu: 0, arg: argGVA, want: -38},
		{name: "stop singleshot timer", cmd: VCPUOpStopSingleshotTimer, vcpu: 0, want: -38},
		{name: "register vcpu_info", cmd: VCPUOpRegisterVCPUInfo, vcpu: 0, arg: argGVA, want: -38},
		{name: "send nmi", cmd: VCPUOpSendNMI, vcpu: 0, want: -38},
		{name: "vcpu time area", cmd: VCPUOpRegisterVCPUTimeMemoryArea, vcpu: 0, arg: argGVA, want: -38},
		{name: "runstate phys area", cmd: VCPUOpRegisterRunstatePhysArea, vcpu: 0, arg: argGVA, want: -38},
		{name: "time phys area", cmd: VCPUOpRegisterVCPUTimePhysArea, vcpu: 0, arg: argGVA, want: -38},
		{name: "unknown", cmd: 16, vcpu: 0, want: -38},
		{name: "unknown no vcpu", cmd: 16, vcpu: 5, want: -2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, d, v, arg, _ := newTest(Options{})
			binary.LittleEndian.PutUint64(arg, 0xffff888000001000)
			if tt.ctx != nil {
				copy(arg, encodeContext(*tt.ctx))
			}
			if tt.prep != nil {
				tt.prep(d)
			}
			got := x.Hypercall(v, Call{Nr: HypercallVCPUOp, Args: [5]uint64{tt.cmd, tt.vcpu, tt.arg}})
			if got != tt.want {
				t.Fatalf("vcpu_op(%d, %d) = %d, want %d", tt.cmd, tt.vcpu, got, tt.want)
			}
			if !slices.Equal(d.shutdowns, tt.shutdowns) {
				t.Errorf("shutdowns %v, want %v", d.shutdowns, tt.shutdowns)
			}
			if tt.check != nil {
				tt.check(t, x, d)
			}
		})
	}
}

// TestVCPUBringUp runs the PVH secondary-vCPU sequence: initialise, up,
// is_up, then down back to one vCPU.
func TestVCPUBringUp(t *testing.T) {
	x, d, v, arg, _ := newTest(Options{})
	call := func(cmd, id uint64) int64 {
		return x.Hypercall(v, Call{Nr: HypercallVCPUOp, Args: [5]uint64{cmd, id, argGVA}})
	}
	copy(arg, encodeContext(long64()))
	for id := uint64(1); id < 4; id++ {
		if r := call(VCPUOpIsUp, id); r != 0 {
			t.Fatalf("is_up(%d) before = %d", id, r)
		}
		if r := call(VCPUOpInitialise, id); r != 0 {
			t.Fatalf("initialise(%d) = %d", id, r)
		}
		if r := call(VCPUOpIsUp, id); r != 0 {
			t.Fatalf("is_up(%d) after initialise = %d", id, r)
		}
		if r := call(VCPUOpUp, id); r != 0 {
			t.Fatalf("up(%d) = %d", id, r)
		}
		if r := call(VCPUOpIsUp, id); r != 1 {
			t.Fatalf("is_up(%d) after up = %d", id, r)
		}
	}
	for id := uint64(3); id >= 1; id-- {
		if r := call(VCPUOpDown, id); r != 0 {
			t.Fatalf("down(%d) = %d", id, r)
		}
	}
	if len(d.shutdowns) != 0 {
		t.Fatalf("shutdowns %v", d.shutdowns)
	}
	if r := call(VCPUOpDown, 0); r != 0 || !slices.Equal(d.shutdowns, []uint32{ShutdownPoweroff}) {
		t.Fatalf("down(0) = %d, shutdowns %v", r, d.shutdowns)
	}
}

func ptr[T any](v T) *T { return &v }
