package xenstore

import (
	"errors"
	"fmt"
)

// Errno is one of the error names that travel in an XS_ERROR reply. The
// wire carries the name ("ENOENT"), never a number; the values here are the
// positions in xsd_errors (xen/include/public/io/xs_wire.h), which new
// errors may only extend, plus one: the zero Errno means "no error" inside
// the package and is never sent.
//
// Errno implements error, so that the Client returns one (wrapped with the
// operation and path) and callers test with errors.Is(err, xenstore.ENOENT).
type Errno uint8

// The error names of xsd_errors, in the header's order.
const (
	EINVAL    Errno = iota + 1 // invalid argument, malformed request, bad path
	EACCES                     // permission denied
	EEXIST                     // watch already registered with this path and token
	EISDIR                     // is a directory (unused by the store)
	ENOENT                     // no such node, transaction or watch
	ENOMEM                     // out of memory
	ENOSPC                     // quota exceeded (nodes, watches, transactions, size)
	EIO                        // internal inconsistency
	ENOTEMPTY                  // directory not empty (unused by the store)
	ENOSYS                     // unsupported message type
	EROFS                      // read-only (unused by the store)
	EBUSY                      // transaction already in progress
	EAGAIN                     // transaction conflicted: retry it
	EISCONN                    // already connected (unused by the store)
	E2BIG                      // reply or request larger than XENSTORE_PAYLOAD_MAX
	EPERM                      // operation not permitted (changing a node's owner)
)

// errnoNames lists the names in xsd_errors order (index = Errno - 1).
var errnoNames = [...]string{"EINVAL", "EACCES", "EEXIST", "EISDIR", "ENOENT", "ENOMEM",
	"ENOSPC", "EIO", "ENOTEMPTY", "ENOSYS", "EROFS", "EBUSY", "EAGAIN", "EISCONN", "E2BIG", "EPERM"}

// Name returns the errno's name as sent on the wire, e.g. "ENOENT".
// Values outside the table are reported as EINVAL, as xenstored does for an
// untranslatable error.
func (e Errno) Name() string {
	if e >= 1 && int(e) <= len(errnoNames) {
		return errnoNames[e-1]
	}
	return errnoNames[0]
}

// Error implements error.
func (e Errno) Error() string { return "xenstore: " + e.Name() }

// errnoByName maps a wire error name back to an Errno.
func errnoByName(name string) (Errno, bool) {
	for i, n := range errnoNames {
		if n == name {
			return Errno(i + 1), true
		}
	}
	return 0, false
}

// Host-side sentinel errors.
var (
	// ErrShortMessage reports a buffer that does not yet hold a whole
	// message (header plus payload).
	ErrShortMessage = errors.New("xenstore: incomplete message")
	// ErrPayloadTooLarge reports a header whose length exceeds
	// XENSTORE_PAYLOAD_MAX. From a guest it breaks the connection, as in
	// xenstored.
	ErrPayloadTooLarge = errors.New("xenstore: payload longer than 4096 bytes")
	// ErrRingIndex reports ring indices that are inconsistent (a producer
	// more than a ring's size ahead of its consumer). It breaks the
	// connection.
	ErrRingIndex = errors.New("xenstore: inconsistent ring index")
	// ErrShortRing reports a ring window smaller than the
	// xenstore_domain_interface given to NewRingConn.
	ErrShortRing = errors.New("xenstore: ring window shorter than the interface")
	// ErrOutputOverflow reports a client that left more than the output
	// limit of replies and watch events unconsumed; its connection is
	// broken.
	ErrOutputOverflow = errors.New("xenstore: output queue limit exceeded")
	// ErrClosed reports use of a closed Client or connection, or of a
	// domain's connection after Store.Release.
	ErrClosed = errors.New("xenstore: connection closed")
	// ErrDuplicateToken reports Client.Watch with a token that the client
	// already uses for another watch (events are routed by token).
	ErrDuplicateToken = errors.New("xenstore: watch token already in use")
	// ErrBadReply reports a reply from the server that does not parse.
	ErrBadReply = errors.New("xenstore: malformed reply")
	// ErrTooManyRetries reports a Client.Transaction whose commit kept
	// failing with EAGAIN.
	ErrTooManyRetries = errors.New("xenstore: transaction kept conflicting")
)

// opError wraps err with the request kind and path for the Client's errors.
func opError(op string, path string, err error) error {
	if path == "" {
		return fmt.Errorf("xenstore %s: %w", op, err)
	}
	return fmt.Errorf("xenstore %s %s: %w", op, path, err)
}
