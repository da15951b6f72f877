package xenstore

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// serveTemp serves s on a unix socket in a temporary directory and
// returns its path; the server stops at the end of the test.
func serveTemp(t *testing.T, s *Store) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "xenstored.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, s, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return path
}

func recvEvent(t *testing.T, ch <-chan WatchEvent) WatchEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no watch event")
	}
	return WatchEvent{}
}

func TestSocketClient(t *testing.T) {
	s, _ := newTestStore(t)
	path := serveTemp(t, s)
	c, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	ch, err := c.Watch("/local/domain/5", "w")
	if err != nil {
		t.Fatal(err)
	}
	if ev := recvEvent(t, ch); ev != (WatchEvent{"/local/domain/5", "w"}) {
		t.Errorf("first event %v", ev)
	}
	if _, err := c.Watch("/other", "w"); !errors.Is(err, ErrDuplicateToken) {
		t.Errorf("duplicate token: %v", err)
	}
	if err := c.Write("/local/domain/5/name", []byte("guest")); err != nil {
		t.Fatal(err)
	}
	if ev := recvEvent(t, ch); ev != (WatchEvent{"/local/domain/5/name", "w"}) {
		t.Errorf("event %v", ev)
	}
	v, err := c.Read("/local/domain/5/name")
	if err != nil || string(v) != "guest" {
		t.Errorf("Read = %q, %v", v, err)
	}
	if _, err := c.Read("/local/domain/5/none"); !errors.Is(err, ENOENT) {
		t.Errorf("Read missing: %v, want ENOENT", err)
	}
	// Relative paths of socket clients resolve against domain 0's home.
	if err := c.Write("rel", []byte("r")); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Read("/local/domain/0/rel"); err != nil || string(v) != "r" {
		t.Errorf("relative write landed elsewhere: %q, %v", v, err)
	}
	names, err := c.Directory("/local/domain")
	if err != nil || !slices.Equal(names, []string{"0", "5", "6"}) {
		t.Errorf("Directory = %v, %v", names, err)
	}
	if err := c.Mkdir("/a/b"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPerms("/a/b", []Perm{{5, AccessRead}, {6, AccessWrite}}); err != nil {
		t.Fatal(err)
	}
	if perms, err := c.GetPerms("/a/b"); err != nil || !slices.Equal(perms, []Perm{{5, AccessRead}, {6, AccessWrite}}) {
		t.Errorf("GetPerms = %v, %v", perms, err)
	}
	if err := c.Rm("/a"); err != nil {
		t.Fatal(err)
	}
	if p, err := c.GetDomainPath(5); err != nil || p != "/local/domain/5" {
		t.Errorf("GetDomainPath = %q, %v", p, err)
	}
	if err := c.Introduce(12, 0xfeffc, 1); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.IsIntroduced(12); err != nil || !ok {
		t.Errorf("IsIntroduced = %v, %v", ok, err)
	}
	if err := c.Unwatch("/local/domain/5", "w"); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-ch; ok {
		t.Error("channel not closed by Unwatch")
	}
	if err := c.Transaction(func(tx *Tx) error { return tx.Write("/t", []byte("x")) }); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read("/t"); !errors.Is(err, ErrClosed) {
		t.Errorf("Read after Close: %v, want ErrClosed", err)
	}
}

func TestSocketOversizedHeaderCloses(t *testing.T) {
	s := New(Options{})
	path := serveTemp(t, s)
	nc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Write(Header{Type: TypeRead, Len: PayloadMax + 1}.Append(nil)); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	if _, err := nc.Read(b[:]); err == nil {
		t.Error("connection still open after an oversized header")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Error("connection not closed after an oversized header")
	}
}

func TestDom0ClientConcurrent(t *testing.T) {
	s, c := newTestStore(t)
	g := newGuest(t, s, 5, 0)
	ch, err := c.Watch("/local/domain/5", "all")
	if err != nil {
		t.Fatal(err)
	}
	recvEvent(t, ch)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := s.Dom0()
			defer cl.Close()
			for i := range 50 {
				p := "/local/domain/5/w" + itoa(uint64(w)) + "/" + itoa(uint64(i))
				if err := cl.Write(p, []byte("v")); err != nil {
					t.Error(err)
					return
				}
				if _, err := cl.Read(p); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	// The guest services its ring meanwhile, as the monitor's event
	// channel handler would.
	stop := make(chan struct{})
	var gwg sync.WaitGroup
	gwg.Add(1)
	go func() {
		defer gwg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			g.conn.Service()
		}
	}()
	n := 0
	go func() { wg.Wait(); c.Close() }()
	for range ch {
		n++
	}
	close(stop)
	gwg.Wait()
	if n == 0 {
		t.Error("no events")
	}
}
