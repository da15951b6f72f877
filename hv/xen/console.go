package xen

import "math"

// console_io sub-commands (xen/include/public/xen.h).
const (
	ConsoleIOWrite = 0
	ConsoleIORead  = 1
)

// consoleIO mirrors do_console_io (xen/drivers/char/console.c). With
// Options.DenyConsoleIO every command fails with -EPERM first, as
// xsm_console_io does for a domU on a release Xen.
func (x *Dispatcher) consoleIO(v VCPU, cmd, count uint32, buf uint64) int64 {
	if x.opts.DenyConsoleIO {
		return EPERM.Ret()
	}
	switch cmd {
	case ConsoleIOWrite:
		return x.consoleWrite(v, count, buf)
	case ConsoleIORead:
		// The result is a count or an errno, so counts must fit in an int.
		if count > math.MaxInt32 {
			return E2BIG.Ret()
		}
		return x.consoleRead(v, count, buf)
	}
	return ENOSYS.Ret()
}

// consoleWrite hands count bytes at buf to Domain.ConsoleWrite in chunks
// that never cross a guest page, so memory use is bounded and a fault stops
// the write exactly at the faulting page (what was before it is printed, as
// guest_console_write does with its 127-byte chunks).
func (x *Dispatcher) consoleWrite(v VCPU, count uint32, buf uint64) int64 {
	scratch := x.bufPool.Get().(*[PageSize]byte)
	defer x.bufPool.Put(scratch)
	for count > 0 {
		n := min(uint64(count), PageSize-buf%PageSize)
		chunk := scratch[:n]
		if !copyIn(v, buf, chunk) {
			return EFAULT.Ret()
		}
		x.dom.ConsoleWrite(chunk)
		buf += n
		count -= uint32(n)
	}
	return 0
}

// consoleRead copies up to count bytes of console input to buf and returns
// the number copied. Input taken from the Domain is lost if the copy to the
// guest faults (Xen leaves it in its ring); the call then fails with -EFAULT
// as in Xen.
func (x *Dispatcher) consoleRead(v VCPU, count uint32, buf uint64) int64 {
	scratch := x.bufPool.Get().(*[PageSize]byte)
	defer x.bufPool.Put(scratch)
	var done uint32
	for done < count {
		n := min(uint64(count-done), PageSize)
		got := x.dom.ConsoleRead(scratch[:n])
		if got <= 0 {
			break
		}
		got = min(got, int(n)) // never trust the Domain beyond what it was given
		if !copyOut(v, buf+uint64(done), scratch[:got]) {
			return EFAULT.Ret()
		}
		done += uint32(got)
	}
	return int64(done)
}
