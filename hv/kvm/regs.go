package kvm

import "encoding/binary"

// Regs is struct kvm_regs.
type Regs struct {
	RAX, RBX, RCX, RDX, RSI, RDI, RSP, RBP uint64
	R8, R9, R10, R11, R12, R13, R14, R15   uint64
	RIP, RFLAGS                            uint64
}

func (r *Regs) decode(b []byte) {
	le := binary.LittleEndian
	r.RAX, r.RBX, r.RCX, r.RDX = le.Uint64(b[0:]), le.Uint64(b[8:]), le.Uint64(b[16:]), le.Uint64(b[24:])
	r.RSI, r.RDI, r.RSP, r.RBP = le.Uint64(b[32:]), le.Uint64(b[40:]), le.Uint64(b[48:]), le.Uint64(b[56:])
	r.R8, r.R9, r.R10, r.R11 = le.Uint64(b[64:]), le.Uint64(b[72:]), le.Uint64(b[80:]), le.Uint64(b[88:])
	r.R12, r.R13, r.R14, r.R15 = le.Uint64(b[96:]), le.Uint64(b[104:]), le.Uint64(b[112:]), le.Uint64(b[120:])
	r.RIP, r.RFLAGS = le.Uint64(b[128:]), le.Uint64(b[136:])
}

func (r *Regs) encode(b []byte) {
	le := binary.LittleEndian
	for i, v := range [...]uint64{r.RAX, r.RBX, r.RCX, r.RDX, r.RSI, r.RDI, r.RSP, r.RBP,
		r.R8, r.R9, r.R10, r.R11, r.R12, r.R13, r.R14, r.R15, r.RIP, r.RFLAGS} {
		le.PutUint64(b[8*i:], v)
	}
}

// Segment is struct kvm_segment.
type Segment struct {
	Base                           uint64
	Limit                          uint32
	Selector                       uint16
	Type                           uint8
	Present, DPL, DB, S, L, G, AVL uint8
	Unusable                       uint8
}

func (s *Segment) decode(b []byte) {
	le := binary.LittleEndian
	s.Base, s.Limit, s.Selector = le.Uint64(b[0:]), le.Uint32(b[8:]), le.Uint16(b[12:])
	s.Type, s.Present, s.DPL, s.DB, s.S, s.L, s.G, s.AVL, s.Unusable =
		b[14], b[15], b[16], b[17], b[18], b[19], b[20], b[21], b[22]
}

func (s *Segment) encode(b []byte) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], s.Base)
	le.PutUint32(b[8:], s.Limit)
	le.PutUint16(b[12:], s.Selector)
	b[14], b[15], b[16], b[17], b[18], b[19], b[20], b[21], b[22], b[23] =
		s.Type, s.Present, s.DPL, s.DB, s.S, s.L, s.G, s.AVL, s.Unusable, 0
}

// DTable is struct kvm_dtable (GDTR/IDTR).
type DTable struct {
	Base  uint64
	Limit uint16
}

// Sregs is struct kvm_sregs.
type Sregs struct {
	CS, DS, ES, FS, GS, SS, TR, LDT Segment
	GDT, IDT                        DTable
	CR0, CR2, CR3, CR4, CR8         uint64
	EFER, APICBase                  uint64
	InterruptBitmap                 [4]uint64
}

func (s *Sregs) decode(b []byte) {
	le := binary.LittleEndian
	for i, seg := range []*Segment{&s.CS, &s.DS, &s.ES, &s.FS, &s.GS, &s.SS, &s.TR, &s.LDT} {
		seg.decode(b[i*sizeofSegment:])
	}
	o := 8 * sizeofSegment
	s.GDT = DTable{Base: le.Uint64(b[o:]), Limit: le.Uint16(b[o+8:])}
	s.IDT = DTable{Base: le.Uint64(b[o+16:]), Limit: le.Uint16(b[o+24:])}
	o += 2 * sizeofDTable
	s.CR0, s.CR2, s.CR3, s.CR4, s.CR8 = le.Uint64(b[o:]), le.Uint64(b[o+8:]), le.Uint64(b[o+16:]), le.Uint64(b[o+24:]), le.Uint64(b[o+32:])
	s.EFER, s.APICBase = le.Uint64(b[o+40:]), le.Uint64(b[o+48:])
	for i := range s.InterruptBitmap {
		s.InterruptBitmap[i] = le.Uint64(b[o+56+8*i:])
	}
}

func (s *Sregs) encode(b []byte) {
	le := binary.LittleEndian
	for i, seg := range []*Segment{&s.CS, &s.DS, &s.ES, &s.FS, &s.GS, &s.SS, &s.TR, &s.LDT} {
		seg.encode(b[i*sizeofSegment:])
	}
	o := 8 * sizeofSegment
	le.PutUint64(b[o:], s.GDT.Base)
	le.PutUint16(b[o+8:], s.GDT.Limit)
	le.PutUint64(b[o+16:], s.IDT.Base)
	le.PutUint16(b[o+24:], s.IDT.Limit)
	o += 2 * sizeofDTable
	for i, v := range [...]uint64{s.CR0, s.CR2, s.CR3, s.CR4, s.CR8, s.EFER, s.APICBase} {
		le.PutUint64(b[o+8*i:], v)
	}
	for i, v := range s.InterruptBitmap {
		le.PutUint64(b[o+56+8*i:], v)
	}
}
