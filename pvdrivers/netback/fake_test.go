package netback

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/xenolith/xenolith/pvdrivers/ring"
)

// fakeGrants is a grant table over a []byte "guest memory": ref r grants
// page r when r < len(mem)/PageSize and r is not revoked. It fails the test
// on any range that leaves a page, so the backend's own checks are tested.
type fakeGrants struct {
	t        testing.TB
	mu       sync.Mutex
	mem      []byte
	readOnly map[uint32]bool
	revoked  map[uint32]bool
}

func newFakeGrants(t testing.TB, pages int) *fakeGrants {
	return &fakeGrants{t: t, mem: make([]byte, pages*PageSize), readOnly: map[uint32]bool{}, revoked: map[uint32]bool{}}
}

func (g *fakeGrants) page(ref, offset uint32, n int, write bool) ([]byte, error) {
	if uint64(offset)+uint64(n) > PageSize {
		g.t.Errorf("grant ref %d range %d+%d leaves the page", ref, offset, n)
		return nil, fmt.Errorf("range")
	}
	if uint64(ref) >= uint64(len(g.mem)/PageSize) || g.revoked[ref] {
		return nil, fmt.Errorf("bad ref %d", ref)
	}
	if write && g.readOnly[ref] {
		return nil, fmt.Errorf("read-only ref %d", ref)
	}
	base := int(ref)*PageSize + int(offset)
	return g.mem[base : base+n], nil
}

func (g *fakeGrants) CopyFrom(ref, offset uint32, dst []byte) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	b, err := g.page(ref, offset, len(dst), false)
	if err != nil {
		return err
	}
	copy(dst, b)
	return nil
}

func (g *fakeGrants) CopyTo(ref, offset uint32, src []byte) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	b, err := g.page(ref, offset, len(src), true)
	if err != nil {
		return err
	}
	copy(b, src)
	return nil
}

// fill writes data at offset in page ref (test side, no checks).
func (g *fakeGrants) fill(ref, offset int, data []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	copy(g.mem[ref*PageSize+offset:], data)
}

// read returns n bytes at the start of page ref.
func (g *fakeGrants) read(ref, n int) []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]byte(nil), g.mem[ref*PageSize:ref*PageSize+n]...)
}

// fakeChannel is an event channel: kick() is the guest's send, Notify
// counts the backend's.
type fakeChannel struct {
	kicks    chan struct{}
	mu       sync.Mutex
	notifies int
}

func newFakeChannel() *fakeChannel { return &fakeChannel{kicks: make(chan struct{}, 1)} }

func (c *fakeChannel) kick() {
	select {
	case c.kicks <- struct{}{}:
	default:
	}
}

func (c *fakeChannel) Notify() {
	c.mu.Lock()
	c.notifies++
	c.mu.Unlock()
}

func (c *fakeChannel) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.notifies
}

func (c *fakeChannel) Wait(ctx context.Context) error {
	select {
	case <-c.kicks:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *fakeChannel) Drain() uint64 { return 0 }

// fakeNet records the frames a vif sends.
type fakeNet struct {
	mu     sync.Mutex
	frames [][]byte
}

func (n *fakeNet) Send(f []byte) {
	n.mu.Lock()
	n.frames = append(n.frames, append([]byte(nil), f...))
	n.mu.Unlock()
}

func (n *fakeNet) got() [][]byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([][]byte(nil), n.frames...)
}

// frontend plays Linux netfront over fake grants: pages 0 and 1 are the tx
// and rx rings, the others buffers.
type frontend struct {
	t      *testing.T
	g      *fakeGrants
	tx, rx *ring.Frontend
	txB    *ring.Backend
	rxB    *ring.Backend
}

const (
	txRingPage = 0
	rxRingPage = 1
	testPages  = 96
)

func newFrontend(t *testing.T, start uint32) *frontend {
	g := newFakeGrants(t, testPages)
	f := &frontend{t: t, g: g}
	var err error
	txw := g.mem[txRingPage*PageSize : (txRingPage+1)*PageSize]
	rxw := g.mem[rxRingPage*PageSize : (rxRingPage+1)*PageSize]
	if f.tx, err = ring.NewFrontendAt(txw, TxEntrySize, start); err != nil {
		t.Fatal(err)
	}
	if f.rx, err = ring.NewFrontendAt(rxw, RxEntrySize, start); err != nil {
		t.Fatal(err)
	}
	if f.txB, err = ring.NewBackendAt(txw, TxEntrySize, start); err != nil {
		t.Fatal(err)
	}
	if f.rxB, err = ring.NewBackendAt(rxw, RxEntrySize, start); err != nil {
		t.Fatal(err)
	}
	return f
}

// putTx queues one tx slot (not pushed).
func (f *frontend) putTx(r TxRequest) {
	var b [TxEntrySize]byte
	r.Encode(b[:])
	if err := f.tx.PutRequest(b[:]); err != nil {
		f.t.Fatal(err)
	}
}

// putExtra queues one extra-info slot.
func (f *frontend) putExtra(x ExtraInfo) {
	var b [TxEntrySize]byte
	x.Encode(b[:])
	if err := f.tx.PutRequest(b[:]); err != nil {
		f.t.Fatal(err)
	}
}

// postRx posts rx buffers on pages refs (not pushed).
func (f *frontend) postRx(refs ...uint32) {
	for _, ref := range refs {
		var b [RxEntrySize]byte
		RxRequest{ID: uint16(ref), Gref: ref}.Encode(b[:])
		if err := f.rx.PutRequest(b[:]); err != nil {
			f.t.Fatal(err)
		}
	}
}

// txResponses consumes the tx responses available.
func (f *frontend) txResponses() []TxResponse {
	b := make([]byte, 256*TxEntrySize)
	n, err := f.tx.Consume(b)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []TxResponse
	for i := range n {
		out = append(out, DecodeTxResponse(b[i*TxEntrySize:]))
	}
	return out
}

// rxResponses consumes the rx responses available.
func (f *frontend) rxResponses() []RxResponse {
	b := make([]byte, 256*RxEntrySize)
	n, err := f.rx.Consume(b)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []RxResponse
	for i := range n {
		out = append(out, DecodeRxResponse(b[i*RxEntrySize:]))
	}
	return out
}

// ethFrame returns an n-byte frame from src to dst whose payload bytes
// follow a pattern seeded by seed.
func ethFrame(dst, src byte, n int, seed byte) []byte {
	f := make([]byte, n)
	f[0], f[5] = 0x02, dst
	f[6], f[11] = 0x02, src
	f[12], f[13] = 0x88, 0xb5 // local experimental ethertype
	for i := 14; i < n; i++ {
		f[i] = byte(i) ^ seed
	}
	return f
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
