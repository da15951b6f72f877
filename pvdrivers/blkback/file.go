package blkback

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
)

// FileOptions configures OpenFile.
type FileOptions struct {
	// ReadOnly opens the image read-only: writes and discards fail.
	ReadOnly bool
	// Direct opens the image with O_DIRECT, bypassing the host page
	// cache. I/O goes through page-aligned bounce buffers, so guest
	// buffers need no alignment; offsets and lengths must be multiples of
	// 512 bytes, and the file system must accept 512-byte direct I/O.
	Direct bool
}

// File is a raw disk image in a host file (sparse files are fine).
type File struct {
	f      *os.File
	size   int64
	ro     bool
	direct bool
	bounce *bouncePool // nil unless direct
}

// OpenFile opens a raw image. The file's size must be a whole number of
// 512-byte sectors.
func OpenFile(path string, opts FileOptions) (*File, error) {
	flag := os.O_RDWR
	if opts.ReadOnly {
		flag = os.O_RDONLY
	}
	if opts.Direct {
		flag |= syscall.O_DIRECT
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, fmt.Errorf("open disk image: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat disk image: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrImage, path)
	}
	if fi.Size()%SectorSize != 0 {
		f.Close()
		return nil, fmt.Errorf("%w: %s has %d bytes, not a multiple of %d", ErrImage, path, fi.Size(), SectorSize)
	}
	d := &File{f: f, size: fi.Size(), ro: opts.ReadOnly, direct: opts.Direct}
	if opts.Direct {
		d.bounce = newBouncePool(bounceBuffers, bounceSize)
	}
	return d, nil
}

// Close closes the image.
func (d *File) Close() error {
	err := d.f.Close()
	if d.bounce != nil {
		d.bounce.close()
	}
	return err
}

// Size implements Storage.
func (d *File) Size() int64 { return d.size }

// ReadOnly implements Storage.
func (d *File) ReadOnly() bool { return d.ro }

// ReadAt implements Storage.
func (d *File) ReadAt(p []byte, off int64) (int, error) {
	if !d.direct {
		return d.f.ReadAt(p, off)
	}
	if err := directAligned(len(p), off); err != nil {
		return 0, err
	}
	done := 0
	for done < len(p) {
		buf, err := d.bounce.get()
		if err != nil {
			return done, err
		}
		n := min(len(p)-done, len(buf))
		m, err := d.f.ReadAt(buf[:n], off+int64(done))
		copy(p[done:], buf[:m])
		d.bounce.put(buf)
		done += m
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// WriteAt implements Storage.
func (d *File) WriteAt(p []byte, off int64) (int, error) {
	if d.ro {
		return 0, ErrReadOnly
	}
	if !d.direct {
		return d.f.WriteAt(p, off)
	}
	if err := directAligned(len(p), off); err != nil {
		return 0, err
	}
	done := 0
	for done < len(p) {
		buf, err := d.bounce.get()
		if err != nil {
			return done, err
		}
		n := copy(buf, p[done:])
		m, err := d.f.WriteAt(buf[:n], off+int64(done))
		d.bounce.put(buf)
		done += m
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// Flush implements Storage with fdatasync.
func (d *File) Flush() error {
	if err := syscall.Fdatasync(int(d.f.Fd())); err != nil {
		return fmt.Errorf("fdatasync disk image: %w", err)
	}
	return nil
}

// Discard implements Storage by punching a hole (fallocate
// FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE); file systems without hole
// punching report ErrNotSupported.
func (d *File) Discard(off, length int64) error {
	if d.ro {
		return ErrReadOnly
	}
	if length == 0 {
		return nil
	}
	const punchHole, keepSize = 0x2, 0x1 // FALLOC_FL_* (linux/falloc.h)
	err := syscall.Fallocate(int(d.f.Fd()), punchHole|keepSize, off, length)
	if errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS) {
		return fmt.Errorf("%w: punch hole: %w", ErrNotSupported, err)
	}
	if err != nil {
		return fmt.Errorf("punch hole: %w", err)
	}
	return nil
}

// directAligned checks an O_DIRECT transfer's length and offset.
func directAligned(n int, off int64) error {
	if n%SectorSize != 0 || off%SectorSize != 0 {
		return fmt.Errorf("%w: direct i/o of %d bytes at %d is not sector-aligned", ErrIO, n, off)
	}
	return nil
}

// Bounce buffers for O_DIRECT.
const (
	bounceBuffers = 64        // buffers per image, the most direct I/Os in flight
	bounceSize    = 128 << 10 // bytes per buffer
)

// bouncePool hands out page-aligned buffers (anonymous mappings), allocated
// on first use up to a fixed count.
type bouncePool struct {
	free chan []byte
	size int

	mu        sync.Mutex // protects allocated and all
	allocated int
	all       [][]byte
}

func newBouncePool(count, size int) *bouncePool {
	return &bouncePool{free: make(chan []byte, count), size: size}
}

// get returns a free buffer, mapping a new one while under the count and
// waiting for one otherwise.
func (p *bouncePool) get() ([]byte, error) {
	select {
	case b := <-p.free:
		return b, nil
	default:
	}
	p.mu.Lock()
	if p.allocated < cap(p.free) {
		p.allocated++
		p.mu.Unlock()
		b, err := syscall.Mmap(-1, 0, p.size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err != nil {
			p.mu.Lock()
			p.allocated--
			p.mu.Unlock()
			return nil, fmt.Errorf("%w: bounce buffer: %w", ErrIO, err)
		}
		p.mu.Lock()
		p.all = append(p.all, b)
		p.mu.Unlock()
		return b, nil
	}
	p.mu.Unlock()
	return <-p.free, nil
}

func (p *bouncePool) put(b []byte) { p.free <- b }

// close unmaps every buffer; none may be in use.
func (p *bouncePool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.all {
		syscall.Munmap(b)
	}
	p.all = nil
}

// rawFD implements rawFile: a buffered image may be read and written
// straight from guest memory; an O_DIRECT one needs aligned bounce buffers.
func (d *File) rawFD() (int, bool) { return int(d.f.Fd()), !d.direct }
