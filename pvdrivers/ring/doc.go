// Package ring implements Xen's shared request/response rings
// (xen/include/public/io/ring.h) over a byte window of guest memory.
//
// A shared ring is one or more granted pages, concatenated in the order of
// their grant refs (ring-ref0, ring-ref1, ...). The first 64 bytes are the
// header: req_prod @0, req_event @4, rsp_prod @8, rsp_event @12 (u32 each),
// then private and padding bytes. Entries start at offset 64; each is as large
// as the bigger of the protocol's request and response structs, and the ring
// holds the largest power of two of entries that fits.
//
// Indices are free-running u32 counters that wrap modulo 2^32; the slot of an
// index is idx & (size-1). The four header words are read and written only
// with atomics (hv/mem); Go's atomics are sequentially consistent, which
// gives the write barrier before each producer store and the full barrier
// ring.h asks for before each event check.
//
// Backend is the view of the side that consumes requests and produces
// responses (the monitor's backends). Every byte of the ring is the other
// side's to change at any time: the backend reads req_prod once per Consume,
// rejects a producer index that claims more requests than the ring can hold
// (ErrBroken: the caller disconnects the device), and copies each request out
// before anyone parses it. Frontend is the mirror view, used by tests and
// end-to-end checks without a guest.
package ring
