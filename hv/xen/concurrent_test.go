package xen

import (
	"encoding/binary"
	"sync"
	"testing"
)

// TestConcurrentHypercalls runs every implemented hypercall family from
// several vCPU goroutines at once; run with -race.
func TestConcurrentHypercalls(t *testing.T) {
	d := newFakeDomain()
	x := NewDispatcher(d, Options{Now: func() uint64 { return 42 }})
	const workers, rounds = 4, 200
	var wg sync.WaitGroup
	for w := range workers {
		v := newFakeVCPU(w)
		arg := v.mapRegion(argGVA, PageSize)
		v.mapRegion(bufGVA, PageSize)
		wg.Add(1)
		go func() {
			defer wg.Done()
			le := binary.LittleEndian
			for i := range rounds {
				x.Hypercall(v, Call{Nr: HypercallXenVersion})
				x.Hypercall(v, Call{Nr: HypercallConsoleIO, Args: [5]uint64{ConsoleIOWrite, 16, bufGVA}})
				v.mu.Lock()
				paramArg(arg, DomIDSelf, HVMParamCallbackIRQ, uint64(w*rounds+i))
				v.mu.Unlock()
				if r := x.Hypercall(v, Call{Nr: HypercallHVMOp, Args: [5]uint64{HVMOpSetParam, argGVA}}); r != 0 {
					t.Errorf("set_param = %d", r)
					return
				}
				if r := x.Hypercall(v, Call{Nr: HypercallHVMOp, Args: [5]uint64{HVMOpGetParam, argGVA}}); r != 0 {
					t.Errorf("get_param = %d", r)
					return
				}
				v.mu.Lock()
				copy(arg, encodeContext(long64()))
				v.mu.Unlock()
				target := uint64(1 + (w+i)%3)
				x.Hypercall(v, Call{Nr: HypercallVCPUOp, Args: [5]uint64{VCPUOpInitialise, target, argGVA}})
				x.Hypercall(v, Call{Nr: HypercallVCPUOp, Args: [5]uint64{VCPUOpUp, target}})
				x.Hypercall(v, Call{Nr: HypercallVCPUOp, Args: [5]uint64{VCPUOpDown, target}})
				x.Hypercall(v, Call{Nr: HypercallVCPUOp, Args: [5]uint64{VCPUOpIsUp, target}})
				v.mu.Lock()
				le.PutUint64(arg, 0x1000*uint64(w))
				v.mu.Unlock()
				x.Hypercall(v, Call{Nr: HypercallVCPUOp, Args: [5]uint64{VCPUOpRegisterRunstateMemoryArea, uint64(w), argGVA}})
				x.RunstateArea(w)
				v.mu.Lock()
				le.PutUint32(arg, ShutdownReboot)
				v.mu.Unlock()
				x.Hypercall(v, Call{Nr: HypercallSchedOp, Args: [5]uint64{SchedopShutdownCode, argGVA}})
				x.Hypercall(v, Call{Nr: HypercallSchedOp, Args: [5]uint64{SchedopShutdown, argGVA}})
				x.Counts()
				x.Param(HVMParamCallbackIRQ)
			}
		}()
	}
	wg.Add(1)
	go func() { // the monitor side
		defer wg.Done()
		for i := range rounds {
			_ = x.SetParam(HVMParamStorePFN, uint64(i))
			x.ShutdownCode()
			if i%50 == 0 {
				x.ResetShutdown()
			}
		}
	}()
	wg.Wait()
	if got := x.Count(HypercallXenVersion); got != workers*rounds {
		t.Errorf("xen_version count = %d, want %d", got, workers*rounds)
	}
	if len(d.console) != workers*rounds*16 {
		t.Errorf("console got %d bytes", len(d.console))
	}
	if len(d.shutdowns) == 0 {
		t.Error("no shutdown reached the domain")
	}
	for _, r := range d.shutdowns {
		if r != ShutdownReboot {
			t.Errorf("shutdown reason %d", r)
		}
	}
}

func BenchmarkHypercallVersion(b *testing.B) {
	x, _, v, _, _ := newTest(Options{})
	c := Call{Nr: HypercallXenVersion}
	for b.Loop() {
		x.Hypercall(v, c)
	}
}

func BenchmarkHypercallGetParam(b *testing.B) {
	x, _, v, arg, _ := newTest(Options{})
	paramArg(arg, DomIDSelf, HVMParamStorePFN, 0)
	c := Call{Nr: HypercallHVMOp, Args: [5]uint64{HVMOpGetParam, argGVA}}
	b.ReportAllocs()
	for b.Loop() {
		x.Hypercall(v, c)
	}
}

func BenchmarkConsoleWrite(b *testing.B) {
	x, _, v, _, _ := newTest(Options{})
	c := Call{Nr: HypercallConsoleIO, Args: [5]uint64{ConsoleIOWrite, 64, bufGVA}}
	b.ReportAllocs()
	for b.Loop() {
		x.Hypercall(v, c)
	}
}
