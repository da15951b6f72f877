// Package blkback is the monitor's Xen block backend (io/blkif.h): it
// decodes blkif requests copied out of the shared ring (pvdrivers/ring),
// validates them, moves data between the guest's granted pages and a
// Storage, and produces blkif responses.
//
// # Requests
//
// READ, WRITE, FLUSH_DISKCACHE (with or without data), DISCARD and INDIRECT
// (READ or WRITE with up to Config.MaxIndirectSegments segments in granted
// indirect pages) are served; WRITE_BARRIER, RESERVED_1 and unknown
// operations, and features not offered in Config, get BLKIF_RSP_EOPNOTSUPP.
// A request that breaks the rules (segment count, first_sect > last_sect,
// last_sect > 7, a sector range outside the disk, an unusable grant, a write
// to a read-only disk) and any storage failure get BLKIF_RSP_ERROR. The
// response's operation is the request's effective operation (indirect_op for
// INDIRECT), as Linux blkfront expects; its id is always the request's.
//
// Every request is a private copy before it is decoded; indirect segment
// pages are copied out of the grant before they are checked. The backend
// touches guest memory only through Grants, and only inside the sectors each
// segment names: a READ acquires its pages for writing (the backend writes
// guest memory), a WRITE for reading.
//
// # Engines
//
// ServeWith runs a ring on one of two engines. Where the kernel offers
// io_uring (internal/iouring) and the Storage is a File opened without
// O_DIRECT, the ring consumer goroutine itself decodes a batch of requests,
// submits one io_uring entry per segment (pread/pwrite straight between
// the image and the granted guest pages, no bounce copy; DISCARD as
// fallocate punch-hole; flushes as fdatasync) with one system call, reaps
// the completions (page-cache hits complete during that call) and pushes
// the batch's responses with at most one notification. Otherwise (no
// io_uring, io_uring disabled by sysctl or XENOLITH_IOURING=off, O_DIRECT
// images, which need aligned bounce buffers, or wrapped storages such as
// a fault injector) requests run on Engine, a bounded pool of worker
// goroutines calling the Storage.
//
// The io_uring consumer takes at most a chunk of requests (24) from the ring
// at a time, submits them and pushes their responses before it looks at the
// ring again, so the guest refills the ring while a chunk runs and its
// refills join the next chunk. It holds grants as gnttab.Hold values
// (TableGrants), which costs no allocation per request. After its last piece of work it keeps
// polling the ring before it sets req_event and sleeps on the event channel;
// the polling window adapts, as KVM's halt polling does, between 10 us
// and ServeOptions.Spin (DefaultSpin, 1 ms) to how soon the guest's next
// request followed earlier sleeps, so a guest that keeps its queue busy
// never needs to kick while an idle one costs almost no polling.
//
// # Persistent grants
//
// BackendKeys offers feature-persistent=1 (io/blkif.h). When the frontend
// writes feature-persistent=1 too (RingConfig.Persistent, passed on as
// ServeOptions.Persistent), the io_uring consumer keeps a whole-page hold
// of every data grant ref it sees, up to MaxPersistentGrants per ring,
// until the ring disconnects, so that a frontend reusing its grants costs
// no change to its grant entries per request; refs beyond the bound are
// held per request as before. Every cached use is checked as a fresh one:
// the sectors must lie in the page, and a ref first held read-only (for a
// WRITE) is held afresh for writing when a READ uses it, which fails for a
// read-only grant. Indirect pages and the worker pool never persist.
// Where the kernel has sparse registered-buffer tables (Linux 5.19), each
// cached page is also registered with the ring as a fixed buffer when first
// held, so its reads and writes go as READ_FIXED and WRITE_FIXED (pinned
// until the ring closes, at most MaxPersistentGrants pages per ring); the
// image itself is in the ring's registered file table wherever io_uring
// runs.
//
// # Write ordering and flushes
//
// Requests on the ring are independent, as on a disk with a volatile write
// cache: both engines run them concurrently and complete them in any order,
// and a completed WRITE is in the host page cache (or, with O_DIRECT,
// handed to the device), not necessarily durable. The guarantee is the one
// BLKIF_OP_FLUSH_DISKCACHE promises, on either engine:
//
//   - A FLUSH_DISKCACHE starts only after every write-type request (WRITE,
//     INDIRECT write, DISCARD, flush with data) that the backend took from
//     the ring before it has completed, then calls Storage.Flush (fdatasync
//     for File). So when the guest sees the flush's OKAY, every write it had
//     seen completed before issuing the flush — and every write it issued
//     before the flush — is durable: it survives a kill -9 of the monitor
//     and a host crash (to the extent the host's storage honours fdatasync).
//   - A FLUSH_DISKCACHE carrying data segments (Linux sends flush and FUA
//     writes this way) flushes, writes its data, and flushes again before
//     completing, so its own data is durable too.
//   - On io_uring the flush's fdatasync entry carries IOSQE_IO_DRAIN, so
//     the kernel starts it only after every entry submitted before it (every
//     earlier write) has completed; a flush with data is the chain
//     fdatasync -> writes -> fdatasync joined by IOSQE_IO_LINK, and a
//     failure anywhere fails the request. On the worker pool the flush waits
//     for the tickets of every earlier write, then calls Storage.Flush.
//   - Nothing is promised for writes issued after a flush, nor for the
//     order in which concurrent writes to the same sectors land.
//   - A flush failure is BLKIF_RSP_ERROR; the guest must assume nothing
//     since its last successful flush is durable.
package blkback
