package mem

import (
	"bytes"
	"errors"
	"syscall"
	"testing"
)

func TestNewBackings(t *testing.T) {
	const size = 1 << 20
	for _, backing := range []Backing{Private, Shared, Memfd} {
		t.Run(backing.String(), func(t *testing.T) {
			m, err := New(size, Options{Backing: backing})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if m.Size() != size || len(m.Bytes()) != size || m.Backing() != backing {
				t.Fatalf("Size %#x, len(Bytes) %#x, Backing %v", m.Size(), len(m.Bytes()), m.Backing())
			}
			if f := m.File(); (f != nil) != (backing == Memfd) {
				t.Fatalf("File() = %v for %v", f, backing)
			}
			b, err := m.Slice(0, size)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, make([]byte, size)) {
				t.Fatal("fresh memory is not zero")
			}
			msg := []byte("xenolith guest ram")
			if err := m.WriteAt(msg, size-GPA(len(msg))); err != nil {
				t.Fatalf("WriteAt: %v", err)
			}
			got := make([]byte, len(msg))
			if err := m.ReadAt(got, size-GPA(len(msg))); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("ReadAt = %q, %v", got, err)
			}
			if backing == Memfd {
				// The memfd must hold the same bytes as the mapping.
				fromFile := make([]byte, len(msg))
				if _, err := m.File().ReadAt(fromFile, size-int64(len(msg))); err != nil || !bytes.Equal(fromFile, msg) {
					t.Fatalf("memfd ReadAt = %q, %v", fromFile, err)
				}
			}
			if err := m.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := m.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			checkClosed(t, m)
		})
	}
}

// checkClosed verifies that every accessor of a closed Memory fails with
// ErrClosed.
func checkClosed(t *testing.T, m *Memory) {
	t.Helper()
	if m.Bytes() != nil || m.File() != nil {
		t.Error("Bytes or File non-nil after Close")
	}
	calls := map[string]error{}
	_, calls["Slice"] = m.Slice(0, 1)
	calls["ReadAt"] = m.ReadAt(make([]byte, 1), 0)
	calls["WriteAt"] = m.WriteAt(make([]byte, 1), 0)
	_, calls["Load32"] = m.Load32(0)
	calls["Store64"] = m.Store64(0, 1)
	_, calls["CompareAndSwap32"] = m.CompareAndSwap32(0, 0, 1)
	_, calls["Or64"] = m.Or64(0, 1)
	_, calls["Translate"] = m.Translate(Paging{}, 0, false)
	calls["CopyFromGuest"] = m.CopyFromGuest(Paging{}, 0, make([]byte, 8))
	calls["CopyToGuest"] = m.CopyToGuest(Paging{}, 0, nil)
	for name, err := range calls {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func TestNewAdvice(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"private huge", Options{Backing: Private, HugePages: true}},
		{"private mergeable", Options{Backing: Private, Mergeable: true}},
		{"private both", Options{Backing: Private, HugePages: true, Mergeable: true}},
		{"shared huge", Options{Backing: Shared, HugePages: true}},
		{"memfd huge", Options{Backing: Memfd, HugePages: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(4<<20, tt.opts)
			if errors.Is(err, syscall.EINVAL) {
				t.Skipf("host kernel lacks THP or KSM: %v", err)
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer m.Close()
			if err := m.Store64(2<<20, 42); err != nil {
				t.Fatal(err)
			}
			if v, err := m.Load64(2 << 20); v != 42 || err != nil {
				t.Fatalf("Load64 = %d, %v", v, err)
			}
		})
	}
}

func TestNewInvalid(t *testing.T) {
	tests := []struct {
		name string
		size uint64
		opts Options
		want error
	}{
		{"zero", 0, Options{}, ErrInvalidSize},
		{"unaligned small", 4095, Options{}, ErrInvalidSize},
		{"unaligned", 4097, Options{}, ErrInvalidSize},
		{"too big", MaxSize + PageSize, Options{}, ErrInvalidSize},
		{"huge", ^uint64(0) &^ (PageSize - 1), Options{}, ErrInvalidSize},
		{"unknown backing", PageSize, Options{Backing: 7}, ErrInvalidOptions},
		{"negative backing", PageSize, Options{Backing: -1}, ErrInvalidOptions},
		{"mergeable shared", PageSize, Options{Backing: Shared, Mergeable: true}, ErrInvalidOptions},
		{"mergeable memfd", PageSize, Options{Backing: Memfd, Mergeable: true}, ErrInvalidOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(tt.size, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("New(%#x, %+v) = %v, want %v", tt.size, tt.opts, err, tt.want)
			}
			if m != nil {
				t.Fatal("non-nil Memory with error")
			}
		})
	}
}

func TestNewMaxSize(t *testing.T) {
	m, err := New(MaxSize, Options{})
	if err != nil {
		t.Skipf("host cannot reserve %#x bytes of address space: %v", uint64(MaxSize), err)
	}
	defer m.Close()
	if err := m.Store32(MaxSize-4, 7); err != nil {
		t.Fatal(err)
	}
}

func TestSliceBounds(t *testing.T) {
	const size = 4 * PageSize
	m := newMem(t, size)
	tests := []struct {
		gpa GPA
		n   uint64
		ok  bool
	}{
		{0, 0, true},
		{0, size, true},
		{size, 0, true},
		{size - 1, 1, true},
		{size - 1, 2, false},
		{size, 1, false},
		{size + 1, 0, false},
		{1, size, false},
		{^GPA(0), 2, false},
		{2, ^uint64(0), false},
		{^GPA(0), ^uint64(0), false},
	}
	for _, tt := range tests {
		b, err := m.Slice(tt.gpa, tt.n)
		if tt.ok {
			if err != nil || uint64(len(b)) != tt.n || uint64(cap(b)) != tt.n {
				t.Errorf("Slice(%#x, %#x) = len %d cap %d, %v", tt.gpa, tt.n, len(b), cap(b), err)
			}
			continue
		}
		if !errors.Is(err, ErrOutOfRange) || !errors.Is(err, ErrFault) || b != nil {
			t.Errorf("Slice(%#x, %#x) = %v, want ErrOutOfRange", tt.gpa, tt.n, err)
		}
		if err := m.ReadAt(make([]byte, min(tt.n, 64)), tt.gpa); tt.n <= 64 && !errors.Is(err, ErrOutOfRange) {
			t.Errorf("ReadAt(%#x, %d bytes) = %v, want ErrOutOfRange", tt.gpa, tt.n, err)
		}
		if err := m.WriteAt(make([]byte, min(tt.n, 64)), tt.gpa); tt.n <= 64 && !errors.Is(err, ErrOutOfRange) {
			t.Errorf("WriteAt(%#x, %d bytes) = %v, want ErrOutOfRange", tt.gpa, tt.n, err)
		}
	}
}

func TestSliceAliases(t *testing.T) {
	m := newMem(t, PageSize)
	b, err := m.Slice(100, 4)
	if err != nil {
		t.Fatal(err)
	}
	copy(b, "abcd")
	got := make([]byte, 6)
	if err := m.ReadAt(got, 99); err != nil || string(got) != "\x00abcd\x00" {
		t.Fatalf("ReadAt = %q, %v", got, err)
	}
	if err := m.WriteAt([]byte("xy"), 101); err != nil || string(b) != "axyd" {
		t.Fatalf("slice after WriteAt = %q, %v", b, err)
	}
}

func TestBackingString(t *testing.T) {
	for b, want := range map[Backing]string{Private: "private", Shared: "shared", Memfd: "memfd", 9: "backing(9)"} {
		if got := b.String(); got != want {
			t.Errorf("Backing(%d).String() = %q, want %q", int(b), got, want)
		}
	}
}
