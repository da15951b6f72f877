package vm

import "encoding/binary"

// copyInFunc copies guest-virtual memory at gva into dst, failing for an
// address that is not mapped guest RAM (vcpu.CopyIn).
type copyInFunc func(gva uint64, dst []byte) error

// readGuestString reads a NUL-terminated string of at most max bytes at
// gva, 64 bytes at a time and never across a page it does not need; a bad
// address yields "<bad address>", a string cut by an unmapped page what was
// read before it.
func readGuestString(copyIn copyInFunc, gva uint64, max int) string {
	if gva == 0 {
		return ""
	}
	buf := make([]byte, 0, 64)
	var chunk [64]byte
	for len(buf) < max {
		n := len(chunk)
		// Stay within the page so that a string ending just before an
		// unmapped page still reads.
		if room := 4096 - int(gva%4096); room < n {
			n = room
		}
		if err := copyIn(gva, chunk[:n]); err != nil {
			if len(buf) == 0 {
				return "<bad address>"
			}
			break
		}
		for i := 0; i < n; i++ {
			if chunk[i] == 0 {
				buf = append(buf, chunk[:i]...)
				if len(buf) > max {
					buf = buf[:max]
				}
				return string(buf)
			}
		}
		buf = append(buf, chunk[:n]...)
		gva += uint64(n)
	}
	if len(buf) > max {
		buf = buf[:max]
	}
	return string(buf)
}

// readGuestSeries reads struct { u64 count; u64 v[count]; } at gva. The
// values are copied a page at a time, so that memory is spent only on
// values the guest really has: a count of 2^20 in front of an unmapped
// page costs nothing (each such report used to allocate 16 MiB). A bad
// series yields nil and the guest fault to count.
func readGuestSeries(copyIn copyInFunc, gva uint64) ([]uint64, string) {
	var hdr [8]byte
	if err := copyIn(gva, hdr[:]); err != nil {
		return nil, "bad series address"
	}
	n := binary.LittleEndian.Uint64(hdr[:])
	if n > maxReportSeries {
		return nil, "series too long"
	}
	out := make([]uint64, 0, min(n, 512))
	var chunk [4096]byte
	for addr := gva + 8; uint64(len(out)) < n; {
		m := min(uint64(len(chunk)), 8*(n-uint64(len(out))))
		if err := copyIn(addr, chunk[:m]); err != nil {
			return nil, "bad series address"
		}
		for i := uint64(0); i < m; i += 8 {
			out = append(out, binary.LittleEndian.Uint64(chunk[i:]))
		}
		addr += m
	}
	return out, ""
}
