package mem

import (
	"errors"
	"sync"
	"testing"
)

func TestMemoryAtomics(t *testing.T) {
	m := newMem(t, PageSize)
	const a = 0x100
	check := func(what string, got, want uint64, err error) {
		t.Helper()
		if err != nil || got != want {
			t.Errorf("%s = %#x, %v; want %#x", what, got, err, want)
		}
	}
	if err := m.Store32(a, 0xF0F0); err != nil {
		t.Fatal(err)
	}
	v32, err := m.Load32(a)
	check("Load32", uint64(v32), 0xF0F0, err)
	v32, err = m.Or32(a, 0x000F)
	check("Or32 old", uint64(v32), 0xF0F0, err)
	v32, err = m.And32(a, 0x00FF)
	check("And32 old", uint64(v32), 0xF0FF, err)
	v32, err = m.Add32(a, 1)
	check("Add32 new", uint64(v32), 0x0100, err)
	v32, err = m.Swap32(a, 7)
	check("Swap32 old", uint64(v32), 0x0100, err)
	ok, err := m.CompareAndSwap32(a, 6, 9)
	check("failed CompareAndSwap32", b2u(ok), 0, err)
	ok, err = m.CompareAndSwap32(a, 7, 9)
	check("CompareAndSwap32", b2u(ok), 1, err)
	v32, err = m.Load32(a)
	check("Load32 after CAS", uint64(v32), 9, err)
	// Little-endian layout, as the guest sees it.
	raw := make([]byte, 4)
	if err := m.ReadAt(raw, a); err != nil || raw[0] != 9 || raw[3] != 0 {
		t.Errorf("bytes of word = %x, %v", raw, err)
	}

	const b = 0x200
	if err := m.Store64(b, 1<<40); err != nil {
		t.Fatal(err)
	}
	v64, err := m.Load64(b)
	check("Load64", v64, 1<<40, err)
	v64, err = m.Or64(b, 3)
	check("Or64 old", v64, 1<<40, err)
	v64, err = m.And64(b, 1)
	check("And64 old", v64, 1<<40|3, err)
	v64, err = m.Add64(b, ^uint64(0))
	check("Add64 new", v64, 0, err)
	v64, err = m.Swap64(b, 5)
	check("Swap64 old", v64, 0, err)
	ok, err = m.CompareAndSwap64(b, 4, 1)
	check("failed CompareAndSwap64", b2u(ok), 0, err)
	ok, err = m.CompareAndSwap64(b, 5, 1)
	check("CompareAndSwap64", b2u(ok), 1, err)
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func TestMemoryAtomicErrors(t *testing.T) {
	m := newMem(t, PageSize)
	tests := []struct {
		name string
		gpa  GPA
		want error
	}{
		{"misaligned by 1", 1, ErrMisaligned},
		{"misaligned by 4 for 64-bit", 4, ErrMisaligned},
		{"last word", PageSize - 8, nil},
		{"straddles the end", PageSize - 4, ErrOutOfRange},
		{"past the end", PageSize, ErrOutOfRange},
		{"wraps", ^GPA(0) - 3, ErrOutOfRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Load64(tt.gpa)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Load64(%#x) = %v, want %v", tt.gpa, err, tt.want)
			}
			for name, err := range map[string]error{
				"Store64": m.Store64(tt.gpa, 0),
				"Swap64":  second(m.Swap64(tt.gpa, 0)),
				"CAS64":   second(m.CompareAndSwap64(tt.gpa, 0, 0)),
				"Add64":   second(m.Add64(tt.gpa, 0)),
				"Or64":    second(m.Or64(tt.gpa, 0)),
				"And64":   second(m.And64(tt.gpa, ^uint64(0))),
			} {
				if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
					t.Errorf("%s(%#x) = %v, want %v", name, tt.gpa, err, tt.want)
				}
			}
		})
	}
	if _, err := m.Load32(2); !errors.Is(err, ErrMisaligned) {
		t.Errorf("Load32(2) = %v, want ErrMisaligned", err)
	}
	if _, err := m.Load32(PageSize - 4); err != nil {
		t.Errorf("Load32(last word) = %v", err)
	}
	if _, err := m.Or32(PageSize-2, 1); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("Or32(straddling) = %v, want ErrOutOfRange", err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestWindowAtomics(t *testing.T) {
	m := newMem(t, PageSize)
	w, err := m.Slice(0x40, 64) // a window starting at an aligned address
	if err != nil {
		t.Fatal(err)
	}
	if err := StoreUint32(w, 4, 10); err != nil {
		t.Fatal(err)
	}
	if v, err := AddUint32(w, 4, 5); v != 15 || err != nil {
		t.Errorf("AddUint32 = %d, %v", v, err)
	}
	if v, err := OrUint32(w, 4, 0x100); v != 15 || err != nil {
		t.Errorf("OrUint32 old = %d, %v", v, err)
	}
	if v, err := AndUint32(w, 4, 0x100); v != 0x10F || err != nil {
		t.Errorf("AndUint32 old = %#x, %v", v, err)
	}
	if v, err := SwapUint32(w, 4, 1); v != 0x100 || err != nil {
		t.Errorf("SwapUint32 old = %#x, %v", v, err)
	}
	if ok, err := CompareAndSwapUint32(w, 4, 1, 2); !ok || err != nil {
		t.Errorf("CompareAndSwapUint32 = %v, %v", ok, err)
	}
	if v, err := LoadUint32(w, 4); v != 2 || err != nil {
		t.Errorf("LoadUint32 = %d, %v", v, err)
	}
	if v, err := m.Load32(0x44); v != 2 || err != nil {
		t.Errorf("Load32 through Memory = %d, %v", v, err)
	}
	if err := StoreUint64(w, 56, 1<<63); err != nil {
		t.Fatal(err)
	}
	if v, err := AddUint64(w, 56, 1); v != 1<<63|1 || err != nil {
		t.Errorf("AddUint64 = %#x, %v", v, err)
	}
	if v, err := OrUint64(w, 56, 2); v != 1<<63|1 || err != nil {
		t.Errorf("OrUint64 old = %#x, %v", v, err)
	}
	if v, err := AndUint64(w, 56, 3); v != 1<<63|3 || err != nil {
		t.Errorf("AndUint64 old = %#x, %v", v, err)
	}
	if v, err := SwapUint64(w, 56, 9); v != 3 || err != nil {
		t.Errorf("SwapUint64 old = %#x, %v", v, err)
	}
	if ok, err := CompareAndSwapUint64(w, 56, 8, 1); ok || err != nil {
		t.Errorf("failed CompareAndSwapUint64 = %v, %v", ok, err)
	}
	if v, err := LoadUint64(w, 56); v != 9 || err != nil {
		t.Errorf("LoadUint64 = %d, %v", v, err)
	}

	errTests := []struct {
		name string
		b    []byte
		off  int
		want error
	}{
		{"negative", w, -8, ErrOutOfRange},
		{"past end", w, 64, ErrOutOfRange},
		{"straddles end", w, 60, ErrOutOfRange},
		{"huge offset", w, int(^uint(0) >> 1), ErrOutOfRange},
		{"empty", w[:0], 0, ErrOutOfRange},
		{"short", w[:7], 0, ErrOutOfRange},
		{"nil", nil, 0, ErrOutOfRange},
		{"misaligned offset", w, 4, ErrMisaligned},
		{"misaligned window", w[1:], 0, ErrMisaligned},
	}
	for _, tt := range errTests {
		if _, err := LoadUint64(tt.b, tt.off); !errors.Is(err, tt.want) {
			t.Errorf("%s: LoadUint64 = %v, want %v", tt.name, err, tt.want)
		}
		if err := StoreUint64(tt.b, tt.off, 0); !errors.Is(err, tt.want) {
			t.Errorf("%s: StoreUint64 = %v, want %v", tt.name, err, tt.want)
		}
	}
	errTests32 := []struct {
		name string
		b    []byte
		off  int
		want error
	}{
		{"negative", w, -4, ErrOutOfRange},
		{"past end", w, 64, ErrOutOfRange},
		{"straddles end", w, 62, ErrOutOfRange},
		{"short", w[:3], 0, ErrOutOfRange},
		{"nil", nil, 0, ErrOutOfRange},
		{"misaligned offset", w, 2, ErrMisaligned},
		{"misaligned window", w[1:], 0, ErrMisaligned},
	}
	for _, tt := range errTests32 {
		if _, err := CompareAndSwapUint32(tt.b, tt.off, 0, 1); !errors.Is(err, tt.want) {
			t.Errorf("%s: CompareAndSwapUint32 = %v, want %v", tt.name, err, tt.want)
		}
		if _, err := OrUint32(tt.b, tt.off, 1); !errors.Is(err, tt.want) {
			t.Errorf("%s: OrUint32 = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := LoadUint32(w, 2); !errors.Is(err, ErrMisaligned) {
		t.Errorf("LoadUint32(off 2) = %v, want ErrMisaligned", err)
	}
	if _, err := LoadUint32(w[3:], 1); err != nil {
		t.Errorf("LoadUint32 at aligned address inside unaligned window = %v", err)
	}
}

// TestAtomicsConcurrent hammers shared words from several goroutines, as a
// vCPU and backends do with ring indices and bitmaps; run it with -race.
func TestAtomicsConcurrent(t *testing.T) {
	m := newMem(t, PageSize)
	w, err := m.Slice(0x800, 64)
	if err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 8, 2000
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bit := uint32(1) << i
			for range rounds {
				if _, err := m.Add32(0, 1); err != nil {
					errs <- err
					return
				}
				// A CAS loop on a 64-bit counter.
				for {
					old, err := m.Load64(8)
					if err != nil {
						errs <- err
						return
					}
					if ok, err := m.CompareAndSwap64(8, old, old+2); err != nil || ok {
						if err != nil {
							errs <- err
							return
						}
						break
					}
				}
				// Each worker owns one bit of a shared bitmap.
				if old, err := m.Or32(16, bit); err != nil || old&bit != 0 {
					errs <- errors.Join(err, errors.New("own bit already set"))
					return
				}
				if old, err := m.And32(16, ^bit); err != nil || old&bit == 0 {
					errs <- errors.Join(err, errors.New("own bit cleared by another worker"))
					return
				}
				if _, err := AddUint64(w, 8, 3); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if v, _ := m.Load32(0); v != workers*rounds {
		t.Errorf("Add32 counter = %d, want %d", v, workers*rounds)
	}
	if v, _ := m.Load64(8); v != 2*workers*rounds {
		t.Errorf("CAS counter = %d, want %d", v, 2*workers*rounds)
	}
	if v, _ := m.Load32(16); v != 0 {
		t.Errorf("bitmap = %#x, want 0", v)
	}
	if v, _ := m.Load64(0x808); v != 3*workers*rounds {
		t.Errorf("window counter = %d, want %d", v, 3*workers*rounds)
	}
}
