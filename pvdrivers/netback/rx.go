package netback

import (
	"fmt"

	"github.com/xenolith/xenolith/pvdrivers/ring"
)

// rxPath copies frames into the guest's posted rx buffers. Requests are
// consumed ahead into a FIFO, so a frame is answered only once all the slots
// it needs are there; each response goes into its own request's slot, as
// Linux netfront requires. It is used by one goroutine.
type rxPath struct {
	ring *ring.Backend
	g    Grants
	c    *counters
	sg   bool // the frontend takes multi-slot frames (feature-sg)

	buf  []byte      // Consume buffer
	reqs []RxRequest // consumed requests not answered yet, oldest first
	rsp  [RxEntrySize]byte
}

// newRxPath makes the rx side of a connection.
func newRxPath(r *ring.Backend, g Grants, c *counters, sg bool) *rxPath {
	n := int(r.Size())
	return &rxPath{ring: r, g: g, c: c, sg: sg, buf: make([]byte, n*RxEntrySize), reqs: make([]RxRequest, 0, n)}
}

// fill consumes the requests the guest has posted.
func (r *rxPath) fill() error {
	if len(r.reqs) == cap(r.reqs) {
		return nil
	}
	n, err := r.ring.Consume(r.buf[:(cap(r.reqs)-len(r.reqs))*RxEntrySize])
	if err != nil {
		return fmt.Errorf("%w: rx: %w", ErrRing, err)
	}
	for i := range n {
		r.reqs = append(r.reqs, DecodeRxRequest(r.buf[i*RxEntrySize:]))
	}
	return nil
}

// slotsFor returns how many rx slots frame needs, 0 if it cannot be
// delivered at all.
func (r *rxPath) slotsFor(frame []byte) int {
	n := (len(frame) + PageSize - 1) / PageSize
	if n == 0 || len(frame) > MaxFrame || (n > 1 && !r.sg) {
		return 0
	}
	return n
}

// deliver copies frame into the guest and puts its responses (not pushed).
// It reports false, leaving the frame, when the guest has not posted enough
// buffers. A frame that can never be delivered is dropped (true).
func (r *rxPath) deliver(frame []byte) (bool, error) {
	need := r.slotsFor(frame)
	if need == 0 {
		r.c.rxDropped.Add(1)
		return true, nil
	}
	if len(r.reqs) < need {
		if err := r.fill(); err != nil {
			return false, err
		}
		if len(r.reqs) < need {
			return false, nil
		}
	}
	failed := false
	for i := range need {
		chunk := frame[i*PageSize : min((i+1)*PageSize, len(frame))]
		req := r.reqs[i]
		rsp := RxResponse{ID: req.ID, Status: int16(len(chunk))}
		if i < need-1 {
			rsp.Flags = RxMoreData
		}
		if err := r.g.CopyTo(req.Gref, 0, chunk); err != nil {
			rsp.Status = RspError
			failed = true
		}
		rsp.Encode(r.rsp[:])
		if err := r.ring.PutResponse(r.rsp[:]); err != nil {
			return false, fmt.Errorf("%w: rx response: %w", ErrRing, err)
		}
	}
	r.reqs = append(r.reqs[:0], r.reqs[need:]...)
	if failed {
		r.c.rxErrors.Add(1)
	} else {
		r.c.rxPackets.Add(1)
		r.c.rxBytes.Add(uint64(len(frame)))
	}
	return true, nil
}

// posted returns how many consumed requests wait for frames.
func (r *rxPath) posted() int { return len(r.reqs) }
