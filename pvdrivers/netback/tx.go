package netback

import (
	"fmt"

	"github.com/xenolith/xenolith/pvdrivers/ring"
)

// Phases of tx packet assembly: what the next slot is.
const (
	phaseFirst  = iota // the first data slot of a packet
	phaseExtras        // an extra-info slot
	phaseData          // a following data slot
)

// txSlot is a consumed tx slot waiting for its response: a data request,
// or an extra-info slot (answered NETIF_RSP_NULL).
type txSlot struct {
	req   TxRequest // the data request (zero for an extra)
	extra ExtraInfo // the extra (when isExtra)
	isXtr bool      // the slot is an extra-info slot
}

// txPath assembles packets from the tx ring. It is used by one goroutine.
// A packet may span several Consume batches: its slots wait in slots until
// the chain ends.
type txPath struct {
	ring  *ring.Backend
	g     Grants
	send  func(frame []byte) // where complete frames go; must not keep frame
	c     *counters
	limit int // malformed packets that end the connection (0: no limit)

	buf    []byte   // Consume buffer: one ring's worth of slots
	frame  []byte   // frame assembly buffer, MaxFrame bytes
	slots  []txSlot // slots of the packet being assembled
	phase  int      // phase* of the next slot
	nData  int      // data slots in slots
	nExtra int      // extra slots in slots
	seen   uint8    // extra types seen, as 1<<type
	bad    error    // first rule the packet broke, nil if none yet
	errs   int      // malformed packets on this connection
	rsp    [TxEntrySize]byte
}

// newTxPath makes the tx side of a connection.
func newTxPath(r *ring.Backend, g Grants, send func([]byte), c *counters, limit int) *txPath {
	return &txPath{
		ring: r, g: g, send: send, c: c, limit: limit,
		buf:   make([]byte, int(r.Size())*TxEntrySize),
		frame: make([]byte, MaxFrame),
		slots: make([]txSlot, 0, MaxTxSlots+MaxExtras),
	}
}

// consume takes every slot the ring holds, sends each packet completed and
// puts its responses (not pushed). It reports how many slots it took and
// whether it put responses. ErrRing means the frontend broke the ring,
// ErrAbuse that it sent too many malformed packets: either ends the
// connection.
func (t *txPath) consume() (int, bool, error) {
	n, err := t.ring.Consume(t.buf)
	if err != nil {
		return 0, false, fmt.Errorf("%w: tx: %w", ErrRing, err)
	}
	put := false
	for i := range n {
		if !t.slot(t.buf[i*TxEntrySize : (i+1)*TxEntrySize]) {
			continue
		}
		if err := t.finish(); err != nil {
			return n, put, err
		}
		put = true
	}
	if t.limit > 0 && t.errs >= t.limit {
		return n, put, fmt.Errorf("%w: %d malformed tx packets", ErrAbuse, t.errs)
	}
	return n, put, nil
}

// malformed records the first rule the current packet broke.
func (t *txPath) malformed(format string, args ...any) {
	if t.bad == nil {
		t.bad = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

// slot takes one slot (a private copy) and reports whether it ends the
// packet.
func (t *txPath) slot(e []byte) bool {
	switch t.phase {
	case phaseExtras:
		x := DecodeExtraInfo(e)
		t.slots = append(t.slots, txSlot{extra: x, isXtr: true})
		t.nExtra++
		switch {
		case x.Type == ExtraNone || x.Type >= ExtraTypeMax:
			t.malformed("extra type %d", x.Type)
		case t.seen&(1<<x.Type) != 0:
			t.malformed("extra type %d twice", x.Type)
		}
		t.seen |= 1 << (x.Type & 7)
		if x.Flags&ExtraFlagMore != 0 {
			if t.nExtra >= MaxExtras {
				t.malformed("more than %d extras", MaxExtras)
				return true
			}
			return false
		}
		if t.slots[0].req.Flags&TxMoreData != 0 {
			t.phase = phaseData
			return false
		}
		return true
	default:
		r := DecodeTxRequest(e)
		t.slots = append(t.slots, txSlot{req: r})
		t.nData++
		if t.phase == phaseFirst && r.Flags&TxExtraInfo != 0 {
			t.phase = phaseExtras
			return false
		}
		if t.nData >= MaxTxSlots && r.Flags&TxMoreData != 0 {
			t.malformed("more than %d slots", MaxTxSlots)
			return true
		}
		if r.Flags&TxMoreData != 0 {
			t.phase = phaseData
			return false
		}
		return true
	}
}

// finish handles a complete packet: builds and sends it unless it is
// malformed, then answers each of its slots.
func (t *txPath) finish() error {
	if t.bad == nil {
		t.bad = t.build()
	}
	status := int16(RspOkay)
	if t.bad != nil {
		status = RspError
		t.errs++
		t.c.txErrors.Add(1)
	}
	var err error
	for _, s := range t.slots {
		r := TxResponse{ID: s.req.ID, Status: status}
		if s.isXtr {
			r = TxResponse{Status: RspNull}
		}
		r.Encode(t.rsp[:])
		if perr := t.ring.PutResponse(t.rsp[:]); perr != nil && err == nil {
			err = fmt.Errorf("%w: tx response: %w", ErrRing, perr)
		}
	}
	t.slots = t.slots[:0]
	t.phase, t.nData, t.nExtra, t.seen, t.bad = phaseFirst, 0, 0, 0, nil
	return err
}

// build checks the sizes and offsets of the packet's data slots, copies the
// frame out of the guest's grants, completes a blank checksum and sends it.
// A packet carrying multicast add/del extras is only an update of the
// filter list and is not sent.
func (t *txPath) build() error {
	if t.seen&(1<<ExtraGSO|1<<ExtraHash) != 0 {
		t.c.txExtraSkipped.Add(1)
	}
	if t.seen&(1<<ExtraMcastAdd|1<<ExtraMcastDel) != 0 {
		t.c.txMcast.Add(1)
		return nil
	}
	first := t.slots[0].req
	total := int(first.Size)
	rest := 0
	for _, s := range t.slots[1:] {
		if !s.isXtr {
			rest += int(s.req.Size)
		}
	}
	if rest > total {
		return fmt.Errorf("%w: following slots hold %d bytes of a %d-byte packet", ErrMalformed, rest, total)
	}
	if total < MinFrame {
		return fmt.Errorf("%w: %d-byte frame", ErrMalformed, total)
	}
	pos := 0
	for i, s := range t.slots {
		if s.isXtr {
			continue
		}
		n := int(s.req.Size)
		if i == 0 {
			n = total - rest
		}
		if int(s.req.Offset)+n > PageSize {
			return fmt.Errorf("%w: slot %d: %d bytes at offset %d leave the page", ErrMalformed, i, n, s.req.Offset)
		}
		if n == 0 {
			continue
		}
		if err := t.g.CopyFrom(s.req.Gref, uint32(s.req.Offset), t.frame[pos:pos+n]); err != nil {
			return fmt.Errorf("%w: slot %d ref %d: %w", ErrGrant, i, s.req.Gref, err)
		}
		pos += n
	}
	f := t.frame[:total]
	if first.Flags&TxCsumBlank != 0 {
		if CompleteChecksum(f) {
			t.c.txCsumFilled.Add(1)
		} else {
			t.c.txCsumSkipped.Add(1)
		}
	}
	t.c.txPackets.Add(1)
	t.c.txBytes.Add(uint64(total))
	t.send(f)
	return nil
}
