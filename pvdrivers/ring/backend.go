package ring

import "fmt"

// Backend is the back end's view of a shared ring: it consumes requests and
// produces responses. It keeps its own indices (req_cons, rsp_prod_pvt) and
// trusts nothing in the window. A Backend is used by one goroutine.
type Backend struct {
	shared
	reqCons    uint32 // next request to consume
	rspProdPvt uint32 // next response slot; published by PushResponses
}

// NewBackend attaches a back end to the ring in buf (BACK_RING_INIT): both
// private indices start at 0, as the frontend's SHARED_RING_INIT leaves the
// shared ones. entrySize is the protocol's entry size.
func NewBackend(buf []byte, entrySize int) (*Backend, error) {
	return NewBackendAt(buf, entrySize, 0)
}

// NewBackendAt attaches a back end whose private indices start at start
// (BACK_RING_ATTACH), for rings the frontend started elsewhere.
func NewBackendAt(buf []byte, entrySize int, start uint32) (*Backend, error) {
	s, err := newShared(buf, entrySize)
	if err != nil {
		return nil, err
	}
	return &Backend{shared: s, reqCons: start, rspProdPvt: start}, nil
}

// Size returns the number of entries in the ring.
func (b *Backend) Size() uint32 { return b.size }

// EntrySize returns the size of one entry in bytes.
func (b *Backend) EntrySize() int { return b.entry }

// RequestCons returns the index of the next request to consume.
func (b *Backend) RequestCons() uint32 { return b.reqCons }

// ResponseProd returns the index of the next response to put.
func (b *Backend) ResponseProd() uint32 { return b.rspProdPvt }

// InFlight returns how many consumed requests have no response yet.
func (b *Backend) InFlight() uint32 { return b.reqCons - b.rspProdPvt }

// available reads req_prod once and returns how many requests may be
// consumed now, or ErrBroken if the index is impossible.
func (b *Backend) available() (uint32, error) {
	prod := b.load(offReqProd)
	// RING_REQUEST_PROD_OVERFLOW: more requests than slots since the last
	// response; the second test also catches an index that moved back
	// behind req_cons.
	if prod-b.rspProdPvt > b.size || prod-b.reqCons > b.size {
		return 0, fmt.Errorf("%w: req_prod %#x with req_cons %#x, rsp_prod %#x, size %d",
			ErrBroken, prod, b.reqCons, b.rspProdPvt, b.size)
	}
	n := prod - b.reqCons
	// Never consume into slots whose responses are not yet written.
	if room := b.size - (b.reqCons - b.rspProdPvt); n > room {
		n = room
	}
	return n, nil
}

// Consume copies up to len(dst)/EntrySize() unconsumed requests into dst,
// one entry after another, and returns how many it copied. It reads req_prod
// once. The copies are the only bytes anyone should parse: the ring itself
// may change under them. ErrBroken means the frontend broke the protocol;
// the device should be disconnected.
func (b *Backend) Consume(dst []byte) (int, error) {
	n, err := b.available()
	if err != nil {
		return 0, err
	}
	limit := len(dst) / b.entry
	if limit == 0 {
		return 0, fmt.Errorf("%w: destination of %d bytes for %d-byte entries", ErrEntrySize, len(dst), b.entry)
	}
	if uint64(n) > uint64(limit) {
		n = uint32(limit)
	}
	for i := uint32(0); i < n; i++ {
		copy(dst[int(i)*b.entry:], b.slot(b.reqCons))
		b.reqCons++
	}
	return int(n), nil
}

// HasUnconsumedRequests reports whether Consume would return a request
// (RING_HAS_UNCONSUMED_REQUESTS). An impossible producer index counts as
// work, so that the next Consume reports it.
func (b *Backend) HasUnconsumedRequests() bool {
	n, err := b.available()
	return err != nil || n > 0
}

// PutResponse copies rsp (at most EntrySize bytes) into the next response
// slot. It is not visible to the frontend until PushResponses. Responses may
// only answer consumed requests (ErrNoRequest).
func (b *Backend) PutResponse(rsp []byte) error {
	if len(rsp) > b.entry {
		return fmt.Errorf("%w: response of %d bytes for %d-byte entries", ErrEntrySize, len(rsp), b.entry)
	}
	if b.reqCons == b.rspProdPvt {
		return ErrNoRequest
	}
	copy(b.slot(b.rspProdPvt), rsp)
	b.rspProdPvt++
	return nil
}

// PushResponses publishes the responses put so far and reports whether the
// frontend must be notified (RING_PUSH_RESPONSES_AND_CHECK_NOTIFY): the
// atomic store of rsp_prod orders the entries before it and the event check
// after it.
func (b *Backend) PushResponses() (notify bool) {
	old := b.load(offRspProd)
	next := b.rspProdPvt
	b.store(offRspProd, next)
	return notifyNeeded(old, next, b.load(offRspEvent))
}

// FinalCheckForRequests reports whether requests are waiting; if none are,
// it first asks the frontend to notify on the next one by setting req_event
// to req_cons+1, then checks again, closing the race with a request pushed
// in between (RING_FINAL_CHECK_FOR_REQUESTS). Call it before going idle.
func (b *Backend) FinalCheckForRequests() bool {
	if b.HasUnconsumedRequests() {
		return true
	}
	b.store(offReqEvent, b.reqCons+1)
	return b.HasUnconsumedRequests()
}
