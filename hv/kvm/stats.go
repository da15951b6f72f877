package kvm

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Stats reads a KVM binary statistics fd (Documentation/virt/kvm/api.rst,
// "KVM_GET_STATS_FD").
type Stats struct {
	fd    int
	descs []statDesc
	data  int64 // offset of the data block
	size  int   // bytes of data
}

type statDesc struct {
	name   string
	offset uint32
	size   uint16 // in u64 units
}

func newStats(fd int) (*Stats, error) {
	h := make([]byte, sizeofStatsHeader)
	if _, err := unix.Pread(fd, h, 0); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("kvm: read stats header: %w", err)
	}
	le := binary.LittleEndian
	nameSize := int(le.Uint32(h[4:]))
	num := int(le.Uint32(h[8:]))
	descOff := int64(le.Uint32(h[16:]))
	dataOff := int64(le.Uint32(h[20:]))
	if num > 4096 || nameSize > 1024 {
		unix.Close(fd)
		return nil, errors.New("kvm: implausible stats header")
	}
	dsz := sizeofStatsDescHeader + nameSize
	buf := make([]byte, num*dsz)
	if _, err := unix.Pread(fd, buf, descOff); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("kvm: read stats descriptors: %w", err)
	}
	s := &Stats{fd: fd, data: dataOff}
	for i := 0; i < num; i++ {
		d := buf[i*dsz:]
		name := d[sizeofStatsDescHeader : sizeofStatsDescHeader+nameSize]
		for j, c := range name {
			if c == 0 {
				name = name[:j]
				break
			}
		}
		sd := statDesc{name: string(name), offset: le.Uint32(d[8:]), size: le.Uint16(d[6:])}
		if end := int(sd.offset) + 8*int(sd.size); end > s.size {
			s.size = end
		}
		s.descs = append(s.descs, sd)
	}
	return s, nil
}

// Read returns every statistic's first value by name.
func (s *Stats) Read() (map[string]uint64, error) {
	buf := make([]byte, s.size)
	if _, err := unix.Pread(s.fd, buf, s.data); err != nil {
		return nil, fmt.Errorf("kvm: read stats: %w", err)
	}
	out := make(map[string]uint64, len(s.descs))
	for _, d := range s.descs {
		if d.size == 0 || int(d.offset)+8 > len(buf) {
			continue
		}
		out[d.name] = binary.LittleEndian.Uint64(buf[d.offset:])
	}
	return out, nil
}

// Close closes the stats fd.
func (s *Stats) Close() error { return unix.Close(s.fd) }
