package kvm

import (
	"encoding/binary"
	"fmt"
)

// Exit is a decoded kvm_run exit. Only the fields of its Reason are set.
type Exit struct {
	Reason ExitReason
	IO     IOExit   // ExitIO
	MMIO   MMIOExit // ExitMMIO
	MSR    MSRExit  // ExitX86RDMSR, ExitX86WRMSR
	// Suberror and Data describe ExitInternalError, ExitFailEntry and
	// ExitSystemEvent (type in Suberror).
	Suberror uint32
	Data     [4]uint64
}

// IOExit describes a port-I/O exit.
type IOExit struct {
	In    bool   // true for IN, false for OUT
	Size  uint8  // 1, 2 or 4
	Port  uint16 // port number
	Count uint32 // repetitions (string I/O)
	// DataOffset is where the data lives inside the kvm_run page.
	DataOffset uint64
}

// MMIOExit describes an MMIO exit.
type MMIOExit struct {
	PhysAddr uint64
	Data     [8]byte
	Len      uint32
	IsWrite  bool
}

// MSRExit describes a user-space MSR exit.
type MSRExit struct {
	Index  uint32
	Data   uint64
	Reason uint32 // MSRExit* bits
}

// String describes the exit for logs.
func (e Exit) String() string {
	switch e.Reason {
	case ExitIO:
		dir := "out"
		if e.IO.In {
			dir = "in"
		}
		return fmt.Sprintf("IO %s port %#x size %d", dir, e.IO.Port, e.IO.Size)
	case ExitMMIO:
		return fmt.Sprintf("MMIO %#x len %d write %v", e.MMIO.PhysAddr, e.MMIO.Len, e.MMIO.IsWrite)
	case ExitX86RDMSR, ExitX86WRMSR:
		return fmt.Sprintf("%s %#x data %#x", e.Reason, e.MSR.Index, e.MSR.Data)
	case ExitInternalError:
		return fmt.Sprintf("INTERNAL_ERROR suberror %d data %#x", e.Suberror, e.Data)
	case ExitFailEntry:
		return fmt.Sprintf("FAIL_ENTRY reason %#x", e.Data[0])
	case ExitSystemEvent:
		return fmt.Sprintf("SYSTEM_EVENT type %d", e.Suberror)
	}
	return e.Reason.String()
}

func decodeExit(run []byte) Exit {
	le := binary.LittleEndian
	e := Exit{Reason: ExitReason(le.Uint32(run[runOffExitReason:]))}
	u := run[runOffExit : runOffExit+sizeofRunExitUnion]
	switch e.Reason {
	case ExitIO:
		e.IO = IOExit{In: u[0] == 0, Size: u[1], Port: le.Uint16(u[2:]), Count: le.Uint32(u[4:]), DataOffset: le.Uint64(u[8:])}
	case ExitMMIO:
		e.MMIO.PhysAddr = le.Uint64(u[0:])
		copy(e.MMIO.Data[:], u[8:16])
		e.MMIO.Len = le.Uint32(u[16:])
		e.MMIO.IsWrite = u[20] != 0
	case ExitX86RDMSR, ExitX86WRMSR:
		e.MSR = MSRExit{Reason: le.Uint32(u[8:]), Index: le.Uint32(u[12:]), Data: le.Uint64(u[16:])}
	case ExitInternalError, ExitSystemEvent:
		e.Suberror = le.Uint32(u[0:])
		n := int(le.Uint32(u[4:]))
		for i := 0; i < n && i < len(e.Data); i++ {
			e.Data[i] = le.Uint64(u[8+8*i:])
		}
	case ExitFailEntry:
		e.Data[0] = le.Uint64(u[0:])
		e.Data[1] = uint64(le.Uint32(u[8:]))
	}
	return e
}
