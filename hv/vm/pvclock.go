package vm

import (
	"encoding/binary"
	"math/bits"
	"time"
)

// pvclock holds what a guest needs to turn its TSC into Xen system time
// (vcpu_time_info, xen/include/public/xen.h): system time is nanoseconds
// since the VM was created.
type pvclock struct {
	tscKHz    uint64
	tsc0      uint64    // guest TSC sampled at time t0
	t0        time.Time // host monotonic time of the sample
	start     time.Time // system time 0
	mul       uint32    // tsc_to_system_mul (32.32 fixed point)
	shift     int8      // tsc_shift
	wallStart time.Time // wallclock at system time 0
	// margin is how far the guest's view of system time may lead the
	// host's: deadlines are converted that much later.
	margin time.Duration
}

// newPVClock derives the scaling so that ns = ((tsc << shift) * mul) >> 32
// (with a negative shift meaning a right shift), as Xen's
// set_time_scale does.
func newPVClock(tscKHz, tsc0 uint64, t0, start time.Time) *pvclock {
	p := &pvclock{tscKHz: tscKHz, tsc0: tsc0, t0: t0, start: start, wallStart: time.Now().Add(-time.Since(start))}
	if tscKHz == 0 {
		return p
	}
	// ns per tick = 1e6 / kHz. Normalise the ratio into [0.5, 1) << 32.
	tps := tscKHz * 1000 // ticks per second
	nsps := uint64(1e9)
	shift := int8(0)
	for tps > 2*nsps {
		tps >>= 1
		shift--
	}
	for tps <= nsps {
		tps <<= 1
		shift++
	}
	hi, lo := bits.Mul64(nsps, 1<<32)
	q, _ := bits.Div64(hi, lo, tps)
	p.mul, p.shift = uint32(q), shift
	return p
}

// systemTime returns Xen system time now.
func (p *pvclock) systemTime() uint64 { return uint64(time.Since(p.start).Nanoseconds()) }

// deadline converts an absolute system time to a host time, late enough
// that the guest's view of system time has passed it.
func (p *pvclock) deadline(sys uint64) time.Time {
	return p.start.Add(time.Duration(sys) + p.slack())
}

// slack bounds how far the guest's view of system time may differ from the
// host's: the anchor's uncertainty (margin) plus 1 ppm of the time since
// creation for the difference between the TSC rate the guest is told
// (whole kHz) and the host clock's.
func (p *pvclock) slack() time.Duration {
	return p.margin + time.Since(p.start)/1_000_000
}

// past reports whether system time sys has passed in the guest's view as
// well as the host's (for VCPU_SSHOTTMR_future).
func (p *pvclock) past(sys uint64) bool {
	return time.Duration(sys)+p.slack() < time.Since(p.start)
}

// encode fills a 32-byte vcpu_time_info with the given version.
func (p *pvclock) encode(b []byte, version uint32) {
	le := binary.LittleEndian
	le.PutUint32(b[0:], version)
	le.PutUint32(b[4:], 0)
	le.PutUint64(b[8:], p.tsc0)
	le.PutUint64(b[16:], uint64(p.t0.Sub(p.start).Nanoseconds()))
	le.PutUint32(b[24:], p.mul)
	b[28] = byte(p.shift)
	b[29] = 1 // XEN_PVCLOCK_TSC_STABLE_BIT
	b[30], b[31] = 0, 0
}

// scale applies the guest's formula to a TSC delta (for tests).
func (p *pvclock) scale(delta uint64) uint64 {
	if p.shift >= 0 {
		delta <<= uint(p.shift)
	} else {
		delta >>= uint(-p.shift)
	}
	hi, lo := bits.Mul64(delta, uint64(p.mul))
	return hi<<32 | lo>>32
}
