package blkback

import (
	"fmt"
	"sync"
	"testing"
)

// fakeGrants is a grant table over a []byte "guest memory": ref r grants
// page r, writable unless listed in readOnly. It fails the test on any
// range that leaves a page, and counts holds so tests can check releases.
type fakeGrants struct {
	t        testing.TB
	mem      []byte
	readOnly map[uint32]bool

	mu   sync.Mutex
	held int
}

func newFakeGrants(t testing.TB, pages int) *fakeGrants {
	return &fakeGrants{t: t, mem: make([]byte, pages*PageSize), readOnly: map[uint32]bool{}}
}

type fakeMapping struct {
	g *fakeGrants
	b []byte
}

func (m *fakeMapping) Bytes() []byte { return m.b }

func (m *fakeMapping) Release() {
	m.g.mu.Lock()
	m.g.held--
	m.g.mu.Unlock()
}

func (g *fakeGrants) Acquire(ref, offset, length uint32, write bool) (Mapping, error) {
	if uint64(offset)+uint64(length) > PageSize {
		g.t.Errorf("acquire ref %d range %d+%d leaves the page", ref, offset, length)
		return nil, fmt.Errorf("range")
	}
	if uint64(ref) >= uint64(len(g.mem)/PageSize) {
		return nil, fmt.Errorf("bad ref %d", ref)
	}
	if write && g.readOnly[ref] {
		return nil, fmt.Errorf("read-only ref %d", ref)
	}
	g.mu.Lock()
	g.held++
	g.mu.Unlock()
	base := int(ref)*PageSize + int(offset)
	return &fakeMapping{g: g, b: g.mem[base : base+int(length) : base+int(length)]}, nil
}

func (g *fakeGrants) checkReleased() {
	g.t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held != 0 {
		g.t.Errorf("%d grants still held", g.held)
	}
}

// memStorage is a Storage over a []byte that fails the test on any access
// outside it.
type memStorage struct {
	t       testing.TB
	mu      sync.Mutex
	data    []byte
	ro      bool
	flushes int
	fail    bool // every I/O fails
}

func (s *memStorage) check(n int, off int64) error {
	if off < 0 || off+int64(n) > int64(len(s.data)) {
		s.t.Errorf("storage access %d+%d outside %d", off, n, len(s.data))
		return fmt.Errorf("range")
	}
	if s.fail {
		return fmt.Errorf("injected failure")
	}
	return nil
}

func (s *memStorage) ReadAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(len(p), off); err != nil {
		return 0, err
	}
	return copy(p, s.data[off:]), nil
}

func (s *memStorage) WriteAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ro {
		return 0, ErrReadOnly
	}
	if err := s.check(len(p), off); err != nil {
		return 0, err
	}
	return copy(s.data[off:], p), nil
}

func (s *memStorage) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushes++
	if s.fail {
		return fmt.Errorf("injected failure")
	}
	return nil
}

func (s *memStorage) Discard(off, length int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ro {
		return ErrReadOnly
	}
	if err := s.check(int(length), off); err != nil {
		return err
	}
	clear(s.data[off : off+length])
	return nil
}

func (s *memStorage) Size() int64    { return int64(len(s.data)) }
func (s *memStorage) ReadOnly() bool { return s.ro }
