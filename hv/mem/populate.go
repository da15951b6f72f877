package mem

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// PopulateWrite faults in the n bytes of guest RAM at gpa (rounded out to
// whole pages) as writable private pages, before anything reads them.
//
// A page that is first read maps the shared zero page; the first write
// then replaces it (copy-on-write), and that replacement invalidates the
// range in every MMU notifier of the process: with many KVM VMs in one
// process, one such fault costs time proportional to the number of VMs.
// Populating the pages the monitor itself will read and write avoids it.
// Kernels without MADV_POPULATE_WRITE (before 5.14) fall back to writing
// one byte per page: the memory is known to read as zero at that point.
func (m *Memory) PopulateWrite(gpa GPA, n uint64) error {
	if err := m.check(gpa, n); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	start := uint64(gpa) &^ (PageSize - 1)
	end := (uint64(gpa) + n + PageSize - 1) &^ (PageSize - 1)
	if end > m.size {
		end = m.size
	}
	b := m.mapping[start:end]
	err := unix.Madvise(b, unix.MADV_POPULATE_WRITE)
	if errors.Is(err, unix.EINVAL) {
		for i := 0; i < len(b); i += PageSize {
			b[i] |= 0
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("mem: populate %#x bytes at %#x: %w", end-start, start, err)
	}
	return nil
}
