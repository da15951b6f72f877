package ring

import "fmt"

// Frontend is the front end's view of a shared ring: it produces requests and
// consumes responses. The monitor has no frontend of its own; this view
// drives backends in tests and guest-free end-to-end checks. A Frontend is
// used by one goroutine.
type Frontend struct {
	shared
	reqProdPvt uint32 // next request slot; published by PushRequests
	rspCons    uint32 // next response to consume
}

// NewFrontend initialises the ring in buf (SHARED_RING_INIT then
// FRONT_RING_INIT): indices 0, events 1, header padding zeroed.
func NewFrontend(buf []byte, entrySize int) (*Frontend, error) {
	return NewFrontendAt(buf, entrySize, 0)
}

// NewFrontendAt initialises the ring with every index at start and both
// events at start+1, so that tests can begin near the u32 wrap point.
func NewFrontendAt(buf []byte, entrySize int, start uint32) (*Frontend, error) {
	s, err := newShared(buf, entrySize)
	if err != nil {
		return nil, err
	}
	for i := 16; i < HeaderSize; i++ {
		buf[i] = 0
	}
	f := &Frontend{shared: s, reqProdPvt: start, rspCons: start}
	f.store(offReqProd, start)
	f.store(offRspProd, start)
	f.store(offReqEvent, start+1)
	f.store(offRspEvent, start+1)
	return f, nil
}

// Size returns the number of entries in the ring.
func (f *Frontend) Size() uint32 { return f.size }

// Free returns how many requests can be put now (RING_FREE_REQUESTS).
func (f *Frontend) Free() uint32 { return f.size - (f.reqProdPvt - f.rspCons) }

// PutRequest copies req (at most the entry size) into the next request slot.
// It is not visible to the backend until PushRequests.
func (f *Frontend) PutRequest(req []byte) error {
	if len(req) > f.entry {
		return fmt.Errorf("%w: request of %d bytes for %d-byte entries", ErrEntrySize, len(req), f.entry)
	}
	if f.Free() == 0 {
		return ErrFull
	}
	copy(f.slot(f.reqProdPvt), req)
	f.reqProdPvt++
	return nil
}

// PushRequests publishes the requests put so far and reports whether the
// backend must be notified (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY).
func (f *Frontend) PushRequests() (notify bool) {
	old := f.load(offReqProd)
	next := f.reqProdPvt
	f.store(offReqProd, next)
	return notifyNeeded(old, next, f.load(offReqEvent))
}

// availableResponses reads rsp_prod once and returns how many responses may
// be consumed, or ErrBroken (RING_RESPONSE_PROD_OVERFLOW, or more responses
// than requests pushed).
func (f *Frontend) availableResponses() (uint32, error) {
	prod := f.load(offRspProd)
	if prod-f.rspCons > f.size || prod-f.rspCons > f.reqProdPvt-f.rspCons {
		return 0, fmt.Errorf("%w: rsp_prod %#x with rsp_cons %#x, req_prod %#x",
			ErrBroken, prod, f.rspCons, f.reqProdPvt)
	}
	return prod - f.rspCons, nil
}

// Consume copies up to len(dst)/entry size unconsumed responses into dst and
// returns how many it copied.
func (f *Frontend) Consume(dst []byte) (int, error) {
	n, err := f.availableResponses()
	if err != nil {
		return 0, err
	}
	limit := len(dst) / f.entry
	if limit == 0 {
		return 0, fmt.Errorf("%w: destination of %d bytes for %d-byte entries", ErrEntrySize, len(dst), f.entry)
	}
	if uint64(n) > uint64(limit) {
		n = uint32(limit)
	}
	for i := uint32(0); i < n; i++ {
		copy(dst[int(i)*f.entry:], f.slot(f.rspCons))
		f.rspCons++
	}
	return int(n), nil
}

// HasUnconsumedResponses reports whether Consume would return a response
// (an impossible rsp_prod counts, so that Consume reports it).
func (f *Frontend) HasUnconsumedResponses() bool {
	n, err := f.availableResponses()
	return err != nil || n > 0
}

// FinalCheckForResponses is RING_FINAL_CHECK_FOR_RESPONSES: if no response
// is waiting, set rsp_event to rsp_cons+1 and check again.
func (f *Frontend) FinalCheckForResponses() bool {
	if f.HasUnconsumedResponses() {
		return true
	}
	f.store(offRspEvent, f.rspCons+1)
	return f.HasUnconsumedResponses()
}
