package mem

import (
	"errors"
	"testing"
)

func TestPopulateWrite(t *testing.T) {
	m, err := New(16*PageSize, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tests := []struct {
		name string
		gpa  GPA
		n    uint64
		ok   bool
	}{
		{"one page", 0, PageSize, true},
		{"unaligned span", PageSize + 100, 2 * PageSize, true},
		{"last byte", 16*PageSize - 1, 1, true},
		{"empty", 3 * PageSize, 0, true},
		{"past the end", 15 * PageSize, 2 * PageSize, false},
		{"wraps", GPA(^uint64(0) - 10), 100, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := m.PopulateWrite(tc.gpa, tc.n)
			if (err == nil) != tc.ok {
				t.Fatalf("PopulateWrite(%#x, %d) = %v, want ok %v", tc.gpa, tc.n, err, tc.ok)
			}
			if tc.ok && tc.n > 0 {
				b, _ := m.Slice(tc.gpa, tc.n)
				for i, c := range b {
					if c != 0 {
						t.Fatalf("byte %d = %#x after populate, want 0", i, c)
					}
				}
			}
		})
	}
	m.Close()
	if err := m.PopulateWrite(0, PageSize); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}
