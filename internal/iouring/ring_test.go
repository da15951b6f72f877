package iouring

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// newRing returns a ring, skipping the test where io_uring is unavailable.
func newRing(t testing.TB, entries uint32) *Ring {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("io_uring: %v", err)
	}
	r, err := New(entries)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// tempFile returns an open read-write file of size bytes of pattern.
func tempFile(t testing.TB, size int) *os.File {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "f"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i*7 + i>>9)
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		t.Fatal(err)
	}
	return f
}

// reapAll waits for n completions and returns them.
func reapAll(t testing.TB, r *Ring, n int) []CQE {
	t.Helper()
	out := make([]CQE, 0, n)
	buf := make([]CQE, n)
	for len(out) < n {
		if r.Ready() == 0 {
			if _, err := r.Submit(1); err != nil {
				t.Fatal(err)
			}
		}
		k := r.Reap(buf[:n-len(out)])
		out = append(out, buf[:k]...)
	}
	return out
}

func TestOperations(t *testing.T) {
	r := newRing(t, 8)
	f := tempFile(t, 1<<16)
	fd := int(f.Fd())
	want := make([]byte, 4096)
	f.ReadAt(want, 8192)
	tests := []struct {
		name  string
		prep  func() error
		res   int32
		check func(t *testing.T)
	}{
		{"nop", func() error { return r.Nop(0, 1) }, 0, nil},
		{"read", func() error {
			got := make([]byte, 4096)
			t.Cleanup(func() {
				if !bytes.Equal(got, want) {
					t.Error("read data differs from pread")
				}
			})
			return r.Read(fd, got, 8192, 0, 1)
		}, 4096, nil},
		{"read past end", func() error { return r.Read(fd, make([]byte, 512), 1<<16, 0, 1) }, 0, nil},
		{"write", func() error { return r.Write(fd, bytes.Repeat([]byte{0xab}, 512), 512, 0, 1) }, 512, func(t *testing.T) {
			b := make([]byte, 512)
			f.ReadAt(b, 512)
			if !bytes.Equal(b, bytes.Repeat([]byte{0xab}, 512)) {
				t.Error("write did not land")
			}
		}},
		{"fdatasync", func() error { return r.Fsync(fd, true, 0, 1) }, 0, nil},
		{"fsync", func() error { return r.Fsync(fd, false, 0, 1) }, 0, nil},
		{"punch hole", func() error {
			return r.Fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, 4096, 0, 1)
		}, 0, func(t *testing.T) {
			b := make([]byte, 4096)
			f.ReadAt(b, 0)
			if !bytes.Equal(b, make([]byte, 4096)) {
				t.Error("punched range does not read as zeros")
			}
		}},
		{"bad fd", func() error { return r.Read(-5, make([]byte, 8), 0, 0, 1) }, -int32(unix.EBADF), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.prep(); err != nil {
				t.Fatal(err)
			}
			c := reapAll(t, r, 1)
			if c[0].Res != tc.res || c[0].UserData != 1 {
				t.Fatalf("completion %+v, want res %d", c[0], tc.res)
			}
			if tc.check != nil {
				tc.check(t)
			}
		})
	}
}

func TestArguments(t *testing.T) {
	r := newRing(t, 2)
	if err := r.Read(0, nil, -1, 0, 0); !errors.Is(err, ErrArgument) {
		t.Errorf("negative offset: %v", err)
	}
	if err := r.Fallocate(0, 0, 0, -1, 0, 0); !errors.Is(err, ErrArgument) {
		t.Errorf("negative length: %v", err)
	}
	if _, err := New(0); !errors.Is(err, ErrArgument) {
		t.Errorf("zero entries: %v", err)
	}
}

func TestQueueFull(t *testing.T) {
	r := newRing(t, 4)
	for i := 0; i < int(r.Entries()); i++ {
		if err := r.Nop(0, uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if r.Space() != 0 || r.Pending() != int(r.Entries()) {
		t.Fatalf("space %d pending %d", r.Space(), r.Pending())
	}
	if err := r.Nop(0, 99); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("nop on a full queue: %v", err)
	}
	if n, err := r.Submit(0); err != nil || n != int(r.Entries()) {
		t.Fatalf("submit = %d, %v", n, err)
	}
	seen := map[uint64]bool{}
	for _, c := range reapAll(t, r, int(r.Entries())) {
		seen[c.UserData] = true
	}
	if len(seen) != int(r.Entries()) {
		t.Errorf("completions for %d distinct entries, want %d", len(seen), r.Entries())
	}
}

// TestLinkCancels checks that a failed link cancels the rest of its chain
// and that a drained entry completes after everything before it.
func TestLinkCancels(t *testing.T) {
	r := newRing(t, 8)
	f := tempFile(t, 4096)
	fd := int(f.Fd())
	buf := make([]byte, 512)
	r.Read(-5, buf, 0, Link, 1) // fails: EBADF
	r.Read(fd, buf, 0, 0, 2)    // cancelled
	r.Write(fd, buf, 0, 0, 3)
	r.Fsync(fd, true, Drain, 4)
	got := map[uint64]int32{}
	var order []uint64
	for _, c := range reapAll(t, r, 4) {
		got[c.UserData] = c.Res
		order = append(order, c.UserData)
	}
	if got[1] != -int32(unix.EBADF) || got[2] != -int32(unix.ECANCELED) || got[3] != 512 || got[4] != 0 {
		t.Errorf("results %v", got)
	}
	if order[len(order)-1] != 4 {
		t.Errorf("drained fsync completed before earlier entries: order %v", order)
	}
}

func TestClosed(t *testing.T) {
	r := newRing(t, 2)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Nop(0, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("nop after close: %v", err)
	}
	if _, err := r.Submit(0); !errors.Is(err, ErrClosed) {
		t.Errorf("submit after close: %v", err)
	}
	if r.Reap(make([]CQE, 1)) != 0 || r.Ready() != 0 || r.Space() != 0 {
		t.Error("a closed ring reports work")
	}
	if err := r.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

func TestDisabledByEnvironment(t *testing.T) {
	t.Setenv("XENOLITH_IOURING", "off")
	if err := probe(); !errors.Is(err, ErrUnavailable) {
		t.Errorf("probe with XENOLITH_IOURING=off: %v", err)
	}
}

func TestEventFD(t *testing.T) {
	r := newRing(t, 2)
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	if err := r.RegisterEventFD(efd); err != nil {
		t.Fatal(err)
	}
	r.Nop(0, 7)
	reapAll(t, r, 1)
	var b [8]byte
	if n, err := unix.Read(efd, b[:]); err != nil || n != 8 || b[0] == 0 {
		t.Errorf("eventfd read %d, %v, %v", n, err, b)
	}
}

func TestFixedFilesAndBuffers(t *testing.T) {
	r := newRing(t, 8)
	f := tempFile(t, 1<<16)
	if err := r.RegisterFiles(int(f.Fd())); err != nil {
		t.Fatal(err)
	}
	if err := r.RegisterFiles(int(f.Fd())); !errors.Is(err, ErrArgument) {
		t.Fatalf("second RegisterFiles: %v, want ErrArgument", err)
	}
	if err := r.RegisterBufferSlots(4); err != nil {
		if errors.Is(err, unix.EINVAL) {
			t.Skipf("kernel without sparse buffer tables (before 5.19): %v", err)
		}
		t.Fatal(err)
	}
	// Page-aligned memory the kernel can pin, as guest memory is.
	mem, err := unix.Mmap(-1, 0, 3*4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	src, dst := mem[:4096], mem[4096:8192]
	for i := range src {
		src[i] = byte(i*13 + 1)
	}
	if err := r.SetBuffer(0, src); err != nil {
		t.Fatal(err)
	}
	if err := r.SetBuffer(3, dst); err != nil {
		t.Fatal(err)
	}
	// Write 1 KiB from the middle of slot 0 through the fixed file, read it
	// back into the end of slot 3.
	if err := r.WriteFixed(0, src[1024:2048], 4096, 0, FixedFile, 1); err != nil {
		t.Fatal(err)
	}
	if c := reapAll(t, r, 1); c[0].Res != 1024 {
		t.Fatalf("WRITE_FIXED: %+v", c[0])
	}
	if err := r.ReadFixed(0, dst[3072:], 4096, 3, FixedFile, 2); err != nil {
		t.Fatal(err)
	}
	if c := reapAll(t, r, 1); c[0].Res != 1024 || c[0].UserData != 2 {
		t.Fatalf("READ_FIXED: %+v", c[0])
	}
	if !bytes.Equal(dst[3072:], src[1024:2048]) {
		t.Fatal("READ_FIXED data differs from what WRITE_FIXED wrote")
	}
	got := make([]byte, 1024)
	f.ReadAt(got, 4096)
	if !bytes.Equal(got, src[1024:2048]) {
		t.Fatal("file differs from what WRITE_FIXED wrote")
	}
	// Refused before reaching the kernel: buffers outside their slot, an
	// empty slot, a slot or file index out of range.
	if err := r.SetBuffer(0, nil); err != nil {
		t.Fatal(err)
	}
	for name, prep := range map[string]func() error{
		"outside slot":  func() error { return r.ReadFixed(0, mem[4000:4200], 0, 3, FixedFile, 9) },
		"other slot":    func() error { return r.ReadFixed(0, src[:512], 0, 3, FixedFile, 9) },
		"emptied slot":  func() error { return r.ReadFixed(0, src[:512], 0, 0, FixedFile, 9) },
		"slot range":    func() error { return r.WriteFixed(0, dst[:512], 0, 4, FixedFile, 9) },
		"file index":    func() error { return r.ReadFixed(1, dst[:512], 0, 3, FixedFile, 9) },
		"negative off":  func() error { return r.ReadFixed(0, dst[:512], -512, 3, FixedFile, 9) },
		"plain fixfile": func() error { return r.Read(-1, dst[:512], 0, FixedFile, 9) },
	} {
		if err := prep(); !errors.Is(err, ErrArgument) {
			t.Errorf("%s: %v, want ErrArgument", name, err)
		}
	}
	if r.Pending() != 0 {
		t.Fatalf("%d refused entries were queued", r.Pending())
	}
}
