// Package xenstore is Xenolith's Xenstore: the store daemon for every VM in
// the monitor's process, speaking the wire protocol of
// xen/include/public/io/xs_wire.h as docs/misc/xenstore.txt and
// docs/misc/xenstore-ring.txt describe it. Domain 0 is the monitor itself.
//
// # Pieces
//
//   - Store: the tree of nodes (value, sorted children, permissions), the
//     introduced domains, quotas, and every connection's watches and
//     transactions. One mutex guards it; nothing under it blocks.
//   - Conn: a guest's connection over its shared ring page. The monitor
//     calls Service when the guest signals the store event channel.
//   - Client: domain 0's client, in process (Store.Dom0) or over a unix
//     socket (Dial, answered by Serve), both speaking the wire protocol.
//   - ParseMessage/DecodeHeader: the message codec.
//
// # Use
//
//	store := xenstore.New(xenstore.Options{})
//	store.Introduce(d)                                   // creates /local/domain/<d>, owned by d
//	conn := xenstore.NewRingConn(store, uint16(d), ringPage, raiseStoreEvtchn)
//	conn.Service()                                       // on each guest kick of the store channel
//	store.Release(d)                                     // on VM destruction (closes conn)
//	dom0 := store.Dom0()                                 // monitor/backends: Write, Watch, Transaction...
//	go xenstore.Serve(ctx, store, unixListener)          // for `xenolith xenstore` (Dial)
//
// # Semantics (following tools/xenstored)
//
// Paths use letters, digits and -/_@; a path not starting with '/' is
// relative to /local/domain/<domid> (for domain 0: /local/domain/0);
// '@' paths are special watches (@introduceDomain, @releaseDomain, and
// @releaseDomain/<domid> with the watch-depth feature) and are accepted
// only by WATCH, UNWATCH, GET_PERMS and SET_PERMS. Absolute paths are at
// most 3072 bytes; an unprivileged domain's paths at most its PathLen quota
// (2048) below /local/domain/<n>/. Bad paths get EINVAL.
//
// A node's first permission entry names its owner, who may do anything
// (including SET_PERMS, but not giving the node away: EPERM), and gives
// everybody else's default; later entries grant r, w, b or n to one domain
// (DOMID_ANY: all). Domain 0 may do anything. New nodes inherit their
// parent's permissions and belong to the unprivileged domain creating them.
// A denied request gets EACCES, and a missing node gets ENOENT only if its
// nearest existing ancestor grants the access asked for (else EACCES), so a
// domain sees only its own subtree and what it was granted. Introduce
// creates /local/domain/<d> owned by d; Release removes every node d owns
// and every permission entry naming it.
//
// WRITE and MKDIR create missing parents; RM is recursive (a missing node
// is fine if its parent exists). WATCH fires once at once with the watched
// path, then for every change at or below it (creation, value or
// permission change, removal; removal of a watched node's ancestor fires
// on the watched node), with relative paths for relative watches; events
// go only to connections that may read the node or its parent, and an
// event identical to one still queued is dropped. Transactions see their
// own changes; commit fails with EAGAIN if any node the transaction read or
// wrote changed since, else applies everything and fires the queued
// events. Privileged types (INTRODUCE, RELEASE, RESUME, SET_TARGET,
// IS_DOMAIN_INTRODUCED) from a domain get EACCES. Unsupported types
// (CONTROL, SET_FEATURE, GET_QUOTA, SET_QUOTA, the server-only WATCH_EVENT
// and ERROR, the removed RESTRICT, and any unknown number) get ENOSYS,
// which is what xenstored and xenstore.txt specify. A reply that would
// exceed PayloadMax becomes E2BIG.
//
// # Limits
//
// Unprivileged domains are held to a Quota (DefaultQuota: 1000 nodes, 128
// watches, 10 transactions, 1024 nodes accessed per transaction, 4096-byte
// values, 2048-byte relative paths, 5 permission entries); exceeding one
// gives ENOSPC, xenstored's quota error. Each connection's queued output is
// bounded by Options.OutputLimit (1 MiB); a ring connection stops reading
// requests while 64 KiB of output wait, and is broken if the queue still
// overflows (watch events for a guest that never consumes).
//
// # Differences from xenstored
//
// The monitor maps rings itself, so INTRODUCE's gfn and event channel are
// only checked, and Introduce creates the domain's home (xenstored leaves
// that to the toolstack). Permission entries for unknown domains are kept
// rather than marked ignored. The store tracks no domain shutdown, so
// RESUME only validates its argument. Transactions record generations per
// node rather than copying the database, and check written nodes as well
// as read ones.
package xenstore
