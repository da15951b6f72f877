package blkback

import (
	"fmt"
	"sync"
	"syscall"
)

// FaultOp is a set of Storage operations a FaultRule applies to.
type FaultOp uint8

// Storage operations for FaultRule.Ops.
const (
	FaultRead FaultOp = 1 << iota
	FaultWrite
	FaultFlush
	FaultDiscard
)

func (o FaultOp) String() string {
	switch o {
	case FaultRead:
		return "read"
	case FaultWrite:
		return "write"
	case FaultFlush:
		return "flush"
	case FaultDiscard:
		return "discard"
	}
	return fmt.Sprintf("FaultOp(%#x)", uint8(o))
}

// FaultRule selects storage operations that fail with EIO.
type FaultRule struct {
	// Ops is the set of operations the rule applies to.
	Ops FaultOp
	// FirstSector and Sectors select the sectors the rule covers: a read,
	// write or discard that overlaps [FirstSector, FirstSector+Sectors)
	// matches. Sectors 0 means the whole disk; a flush, which has no
	// range, matches only such rules.
	FirstSector, Sectors uint64
	// After lets this many matching operations succeed before the rule
	// starts failing them.
	After uint64
	// Times is how many operations the rule fails before it lets them pass
	// again; 0 means every one after After.
	Times uint64
}

// matches reports whether an operation on [sector, sector+n) falls under
// the rule; n 0 (a flush) matches whole-disk rules only.
func (r *FaultRule) matches(op FaultOp, sector, n uint64) bool {
	if r.Ops&op == 0 {
		return false
	}
	if r.Sectors == 0 {
		return true
	}
	if n == 0 {
		return false
	}
	// Overlap of [sector, sector+n) and [FirstSector, FirstSector+Sectors),
	// written so that nothing overflows.
	if sector >= r.FirstSector {
		return sector-r.FirstSector < r.Sectors
	}
	return r.FirstSector-sector < n
}

// faultState is a rule and its counters.
type faultState struct {
	rule   FaultRule
	seen   uint64 // matching operations so far
	failed uint64 // of which failed
}

// Faulty is a Storage that passes operations through to another Storage
// except those its rules select, which fail with an error wrapping
// syscall.EIO without reaching the inner storage, as a failing disk or a
// device-mapper "error" target would. The backend answers them with
// BLKIF_RSP_ERROR. Its methods may be called concurrently.
type Faulty struct {
	st Storage

	mu       sync.Mutex // protects rules and injected
	rules    []faultState
	injected [4]uint64 // failures injected, by operation bit index
}

var _ Storage = (*Faulty)(nil)

// NewFaulty wraps st with the given rules (none: every operation passes).
func NewFaulty(st Storage, rules ...FaultRule) *Faulty {
	f := &Faulty{st: st}
	f.SetRules(rules...)
	return f
}

// SetRules replaces the rules and resets their counters.
func (f *Faulty) SetRules(rules ...FaultRule) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = f.rules[:0]
	for _, r := range rules {
		f.rules = append(f.rules, faultState{rule: r})
	}
}

// Injected returns how many operations of kind op (one FaultOp bit) have
// been failed so far.
func (f *Faulty) Injected(op FaultOp) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n uint64
	for i := range f.injected {
		if op&(1<<i) != 0 {
			n += f.injected[i]
		}
	}
	return n
}

// check decides whether an operation on [off, off+length) bytes fails.
// Every rule that matches counts the operation.
func (f *Faulty) check(op FaultOp, off, length int64) error {
	var sector, n uint64
	if length > 0 && off >= 0 {
		sector = uint64(off) / SectorSize
		n = (uint64(off)%SectorSize + uint64(length) + SectorSize - 1) / SectorSize
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fail := false
	for i := range f.rules {
		s := &f.rules[i]
		if !s.rule.matches(op, sector, n) {
			continue
		}
		s.seen++
		if s.seen > s.rule.After && (s.rule.Times == 0 || s.failed < s.rule.Times) {
			s.failed++
			fail = true
		}
	}
	if !fail {
		return nil
	}
	for i := range f.injected {
		if op == 1<<i {
			f.injected[i]++
		}
	}
	if op == FaultFlush {
		return fmt.Errorf("faulty storage: injected flush failure: %w", syscall.EIO)
	}
	return fmt.Errorf("faulty storage: injected %s failure at sector %d: %w", op, sector, syscall.EIO)
}

// ReadAt implements Storage.
func (f *Faulty) ReadAt(p []byte, off int64) (int, error) {
	if err := f.check(FaultRead, off, int64(len(p))); err != nil {
		return 0, err
	}
	return f.st.ReadAt(p, off)
}

// WriteAt implements Storage.
func (f *Faulty) WriteAt(p []byte, off int64) (int, error) {
	if err := f.check(FaultWrite, off, int64(len(p))); err != nil {
		return 0, err
	}
	return f.st.WriteAt(p, off)
}

// Flush implements Storage.
func (f *Faulty) Flush() error {
	if err := f.check(FaultFlush, 0, 0); err != nil {
		return err
	}
	return f.st.Flush()
}

// Discard implements Storage.
func (f *Faulty) Discard(off, length int64) error {
	if err := f.check(FaultDiscard, off, length); err != nil {
		return err
	}
	return f.st.Discard(off, length)
}

// Size implements Storage.
func (f *Faulty) Size() int64 { return f.st.Size() }

// ReadOnly implements Storage.
func (f *Faulty) ReadOnly() bool { return f.st.ReadOnly() }

// Volatile is a Storage with a volatile write cache in front of another,
// for power-loss tests: a write completes into memory, Flush writes every
// completed write through to the inner storage and flushes it, and PowerCut
// throws away what was not flushed, as a disk losing power loses its
// cache. After PowerCut every operation fails with EIO. It keeps a copy of
// every dirty sector, so it suits test-sized disks; it cannot discard.
type Volatile struct {
	st      Storage
	flushMu sync.Mutex // serialises Flush, so an older write-back never lands after a newer one

	mu    sync.Mutex // protects the fields below; Flush drops it while writing through
	dirty map[int64]dirtySector
	gen   uint64 // generation of the newest write
	cut   bool
}

// dirtySector is one sector's unflushed content.
type dirtySector struct {
	data []byte // SectorSize bytes
	gen  uint64 // the write that put it there
}

var _ Storage = (*Volatile)(nil)

// NewVolatile puts a volatile write cache in front of st.
func NewVolatile(st Storage) *Volatile {
	return &Volatile{st: st, dirty: make(map[int64]dirtySector)}
}

// errPowerCut is what operations return after PowerCut.
func errPowerCut() error {
	return fmt.Errorf("volatile storage: power cut: %w", syscall.EIO)
}

// PowerCut drops every write not yet flushed; later operations fail. A
// Flush running at the time fails too, though some of its writes may have
// reached the inner storage.
func (v *Volatile) PowerCut() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.cut = true
	clear(v.dirty)
}

// Dirty returns the number of sectors written and not yet flushed.
func (v *Volatile) Dirty() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.dirty)
}

// sectorSpan checks that [off, off+n) is whole sectors.
func sectorSpan(n int, off int64) error {
	if n%SectorSize != 0 || off%SectorSize != 0 || off < 0 {
		return fmt.Errorf("%w: volatile storage: %d bytes at %d is not whole sectors", ErrIO, n, off)
	}
	return nil
}

// ReadAt implements Storage: the inner storage's content with the dirty
// sectors laid over it.
func (v *Volatile) ReadAt(p []byte, off int64) (int, error) {
	if err := sectorSpan(len(p), off); err != nil {
		return 0, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cut {
		return 0, errPowerCut()
	}
	n, err := v.st.ReadAt(p, off)
	if err != nil {
		return n, err
	}
	for i := 0; i < len(p); i += SectorSize {
		if d, ok := v.dirty[off+int64(i)]; ok {
			copy(p[i:i+SectorSize], d.data)
		}
	}
	return n, nil
}

// WriteAt implements Storage: the data stays in the cache until Flush.
func (v *Volatile) WriteAt(p []byte, off int64) (int, error) {
	if v.st.ReadOnly() {
		return 0, ErrReadOnly
	}
	if err := sectorSpan(len(p), off); err != nil {
		return 0, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cut {
		return 0, errPowerCut()
	}
	if off > v.st.Size()-int64(len(p)) {
		return 0, fmt.Errorf("%w: volatile storage: write past the end", ErrIO)
	}
	v.gen++
	for i := 0; i < len(p); i += SectorSize {
		v.dirty[off+int64(i)] = dirtySector{data: append([]byte(nil), p[i:i+SectorSize]...), gen: v.gen}
	}
	return len(p), nil
}

// Flush implements Storage: it writes every sector dirty at the time of
// the call through to the inner storage, flushes it, and only then forgets
// them (a sector rewritten meanwhile stays dirty).
func (v *Volatile) Flush() error {
	v.flushMu.Lock()
	defer v.flushMu.Unlock()
	v.mu.Lock()
	if v.cut {
		v.mu.Unlock()
		return errPowerCut()
	}
	snap := make(map[int64]dirtySector, len(v.dirty))
	for off, d := range v.dirty {
		snap[off] = d
	}
	v.mu.Unlock()
	for off, d := range snap {
		if _, err := v.st.WriteAt(d.data, off); err != nil {
			return fmt.Errorf("volatile storage: write back: %w", err)
		}
	}
	err := v.st.Flush()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cut {
		return errPowerCut()
	}
	if err != nil {
		return err
	}
	for off, d := range snap {
		if cur, ok := v.dirty[off]; ok && cur.gen == d.gen {
			delete(v.dirty, off)
		}
	}
	return nil
}

// Discard implements Storage: Volatile cannot discard.
func (v *Volatile) Discard(off, length int64) error {
	return fmt.Errorf("%w: volatile storage", ErrNotSupported)
}

// Size implements Storage.
func (v *Volatile) Size() int64 { return v.st.Size() }

// ReadOnly implements Storage.
func (v *Volatile) ReadOnly() bool { return v.st.ReadOnly() }
