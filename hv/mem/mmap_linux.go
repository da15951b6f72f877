package mem

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// allocate maps guest RAM as opts asks. Arguments are already validated.
func allocate(size uint64, opts Options) (*Memory, error) {
	const prot = unix.PROT_READ | unix.PROT_WRITE
	m := &Memory{size: size, backing: opts.Backing}
	var (
		b   []byte
		err error
	)
	switch opts.Backing {
	case Private:
		b, err = unix.Mmap(-1, 0, int(size), prot, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	case Shared:
		b, err = unix.Mmap(-1, 0, int(size), prot, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	case Memfd:
		m.file, err = newMemfd(size)
		if err != nil {
			return nil, err
		}
		b, err = unix.Mmap(int(m.file.Fd()), 0, int(size), prot, unix.MAP_SHARED)
	}
	if err != nil {
		err = fmt.Errorf("mem: map %#x bytes of %v memory: %w", size, opts.Backing, err)
		if m.file != nil {
			err = errors.Join(err, m.file.Close())
		}
		return nil, err
	}
	m.mapping = b
	m.unmap = func() error {
		err := unix.Munmap(b)
		if m.file != nil {
			err = errors.Join(err, m.file.Close())
		}
		return err
	}
	if err := advise(b, opts); err != nil {
		return nil, errors.Join(err, m.unmap())
	}
	return m, nil
}

// newMemfd creates a close-on-exec memfd of the given size.
func newMemfd(size uint64) (*os.File, error) {
	fd, err := unix.MemfdCreate("xenolith-guest-ram", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("mem: memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "memfd:xenolith-guest-ram")
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return nil, errors.Join(fmt.Errorf("mem: size memfd to %#x: %w", size, err), f.Close())
	}
	return f, nil
}

// advise applies the madvise hints opts asks for.
func advise(b []byte, opts Options) error {
	if opts.HugePages {
		if err := unix.Madvise(b, unix.MADV_HUGEPAGE); err != nil {
			return fmt.Errorf("mem: madvise huge pages: %w", err)
		}
	}
	if opts.Mergeable {
		if err := unix.Madvise(b, unix.MADV_MERGEABLE); err != nil {
			return fmt.Errorf("mem: madvise mergeable: %w", err)
		}
	}
	return nil
}
