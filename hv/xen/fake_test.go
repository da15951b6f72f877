package xen

import (
	"errors"
	"sync"
)

// errFakeFault is what the fake vCPU returns for an unmapped guest address.
var errFakeFault = errors.New("fake: guest fault")

// region is a mapped range of the fake guest's virtual memory.
type region struct {
	base uint64
	data []byte
}

// fakeVCPU is a VCPU whose guest memory is a few mapped regions; any access
// not wholly inside one region faults.
type fakeVCPU struct {
	id      int
	mu      sync.Mutex
	regions []region
}

func newFakeVCPU(id int) *fakeVCPU { return &fakeVCPU{id: id} }

// mapRegion maps size zero bytes at gva and returns them.
func (f *fakeVCPU) mapRegion(gva uint64, size int) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := make([]byte, size)
	f.regions = append(f.regions, region{base: gva, data: b})
	return b
}

func (f *fakeVCPU) ID() int { return f.id }

func (f *fakeVCPU) find(gva uint64, n int) []byte {
	for _, r := range f.regions {
		if gva < r.base {
			continue
		}
		off := gva - r.base
		if off > uint64(len(r.data)) || uint64(n) > uint64(len(r.data))-off {
			continue
		}
		return r.data[off : off+uint64(n)]
	}
	return nil
}

func (f *fakeVCPU) CopyIn(gva uint64, dst []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.find(gva, len(dst))
	if b == nil {
		return errFakeFault
	}
	copy(dst, b)
	return nil
}

func (f *fakeVCPU) CopyOut(gva uint64, src []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.find(gva, len(src))
	if b == nil {
		return errFakeFault
	}
	copy(b, src)
	return nil
}

// pollCall records one Domain.Poll.
type pollCall struct {
	vcpu    int
	ports   []uint32
	timeout uint64
}

// fakeDomain is a Domain that records every call.
type fakeDomain struct {
	mu sync.Mutex

	domID    uint16
	nvcpus   int
	memmap   []MemmapEntry
	ramPages uint64

	console      []byte   // bytes written
	input        []byte   // pending console input
	shutdowns    []uint32 // reasons passed to Shutdown
	codes        []uint32 // codes passed to SetShutdownCode
	yields       int
	blocks       int
	polls        []pollCall
	initialised  map[int]bool
	up           map[int]bool
	contexts     map[int]VCPUContext
	paramsSet    [][2]uint64 // (idx, val) passed to ParamSet
	initErr      error       // returned by InitialiseVCPU when set
	consoleReads int
}

func newFakeDomain() *fakeDomain {
	return &fakeDomain{
		domID:    1,
		nvcpus:   4,
		ramPages: 32768,
		memmap: []MemmapEntry{
			{Addr: 0, Size: 0xa0000, Type: 1},
			{Addr: 0x100000, Size: 0x7f00000, Type: 1},
			{Addr: 0x8000000 - 0x10000, Size: 0x10000, Type: 2},
		},
		initialised: map[int]bool{0: true},
		up:          map[int]bool{0: true},
		contexts:    map[int]VCPUContext{},
	}
}

func (d *fakeDomain) DomID() uint16            { return d.domID }
func (d *fakeDomain) NumVCPUs() int            { return d.nvcpus }
func (d *fakeDomain) MemoryMap() []MemmapEntry { return d.memmap }
func (d *fakeDomain) RAMPages() uint64         { return d.ramPages }

func (d *fakeDomain) ConsoleWrite(p []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.console = append(d.console, p...)
}

func (d *fakeDomain) ConsoleRead(p []byte) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.consoleReads++
	n := copy(p, d.input)
	d.input = d.input[n:]
	return n
}

func (d *fakeDomain) Shutdown(reason uint32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.shutdowns = append(d.shutdowns, reason)
}

func (d *fakeDomain) SetShutdownCode(code uint32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.codes = append(d.codes, code)
}

func (d *fakeDomain) Yield(VCPU) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.yields++
}

func (d *fakeDomain) Block(VCPU) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.blocks++
}

func (d *fakeDomain) Poll(v VCPU, ports []uint32, timeout uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.polls = append(d.polls, pollCall{v.ID(), append([]uint32(nil), ports...), timeout})
}

func (d *fakeDomain) VCPUInitialised(id int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.initialised[id]
}

func (d *fakeDomain) InitialiseVCPU(id int, ctx VCPUContext) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.initErr != nil {
		return d.initErr
	}
	if d.initialised[id] {
		return ErrVCPUExists
	}
	d.initialised[id] = true
	d.contexts[id] = ctx
	return nil
}

func (d *fakeDomain) UpVCPU(id int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.initialised[id] {
		return ErrVCPUNotInitialised
	}
	d.up[id] = true
	return nil
}

func (d *fakeDomain) DownVCPU(id int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.up[id] = false
	return nil
}

func (d *fakeDomain) VCPUIsUp(id int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.up[id]
}

func (d *fakeDomain) ParamSet(_ VCPU, idx uint32, val uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.paramsSet = append(d.paramsSet, [2]uint64{uint64(idx), val})
}

// Guest addresses used by the tests.
const (
	argGVA = 0x10000 // a mapped page for hypercall argument structs
	bufGVA = 0x20000 // a mapped 64 KiB buffer
	badGVA = 0xdead0000
)

// newTest returns a dispatcher over a fake domain and a vCPU 0 with an
// argument page at argGVA and a 64 KiB buffer at bufGVA.
func newTest(opts Options) (*Dispatcher, *fakeDomain, *fakeVCPU, []byte, []byte) {
	d := newFakeDomain()
	v := newFakeVCPU(0)
	arg := v.mapRegion(argGVA, PageSize)
	buf := v.mapRegion(bufGVA, 16*PageSize)
	return NewDispatcher(d, opts), d, v, arg, buf
}
