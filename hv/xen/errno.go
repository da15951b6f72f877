package xen

import "strconv"

// Errno is a Xen errno value (xen/include/public/errno.h). It is positive;
// hypercalls return its negation in RAX. Errno implements error so that a
// Domain can return one directly and have it reach the guest unchanged.
type Errno int64

// Xen errno values, exactly as xen/include/public/errno.h defines them (they
// coincide with Linux's values on x86).
const (
	EPERM         Errno = 1   // operation not permitted
	ENOENT        Errno = 2   // no such file or directory
	ESRCH         Errno = 3   // no such process (domain)
	EINTR         Errno = 4   // interrupted system call
	EIO           Errno = 5   // I/O error
	ENXIO         Errno = 6   // no such device or address
	E2BIG         Errno = 7   // argument list too long
	ENOEXEC       Errno = 8   // exec format error
	EBADF         Errno = 9   // bad file number
	ECHILD        Errno = 10  // no child processes
	EAGAIN        Errno = 11  // try again
	EWOULDBLOCK   Errno = 11  // operation would block (alias of EAGAIN)
	ENOMEM        Errno = 12  // out of memory
	EACCES        Errno = 13  // permission denied
	EFAULT        Errno = 14  // bad address
	EBUSY         Errno = 16  // device or resource busy
	EEXIST        Errno = 17  // file exists
	EXDEV         Errno = 18  // cross-device link
	ENODEV        Errno = 19  // no such device
	ENOTDIR       Errno = 20  // not a directory
	EISDIR        Errno = 21  // is a directory
	EINVAL        Errno = 22  // invalid argument
	ENFILE        Errno = 23  // file table overflow
	EMFILE        Errno = 24  // too many open files
	ENOSPC        Errno = 28  // no space left on device
	EROFS         Errno = 30  // read-only file system
	EMLINK        Errno = 31  // too many links
	EDOM          Errno = 33  // math argument out of domain of function
	ERANGE        Errno = 34  // math result not representable
	EDEADLK       Errno = 35  // resource deadlock would occur
	EDEADLOCK     Errno = 35  // alias of EDEADLK
	ENAMETOOLONG  Errno = 36  // file name too long
	ENOLCK        Errno = 37  // no record locks available
	ENOSYS        Errno = 38  // function not implemented
	ENOTEMPTY     Errno = 39  // directory not empty
	ENODATA       Errno = 61  // no data available
	ETIME         Errno = 62  // timer expired
	EBADMSG       Errno = 74  // not a data message
	EOVERFLOW     Errno = 75  // value too large for defined data type
	EILSEQ        Errno = 84  // illegal byte sequence
	ERESTART      Errno = 85  // interrupted system call should be restarted
	ENOTSOCK      Errno = 88  // socket operation on non-socket
	EMSGSIZE      Errno = 90  // message too large
	EOPNOTSUPP    Errno = 95  // operation not supported
	EADDRINUSE    Errno = 98  // address already in use
	EADDRNOTAVAIL Errno = 99  // cannot assign requested address
	ENOBUFS       Errno = 105 // no buffer space available
	EISCONN       Errno = 106 // transport endpoint is already connected
	ENOTCONN      Errno = 107 // transport endpoint is not connected
	ETIMEDOUT     Errno = 110 // connection timed out
	ECONNREFUSED  Errno = 111 // connection refused
)

var errnoNames = map[Errno]string{
	EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR", EIO: "EIO",
	ENXIO: "ENXIO", E2BIG: "E2BIG", ENOEXEC: "ENOEXEC", EBADF: "EBADF",
	ECHILD: "ECHILD", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES",
	EFAULT: "EFAULT", EBUSY: "EBUSY", EEXIST: "EEXIST", EXDEV: "EXDEV",
	ENODEV: "ENODEV", ENOTDIR: "ENOTDIR", EISDIR: "EISDIR", EINVAL: "EINVAL",
	ENFILE: "ENFILE", EMFILE: "EMFILE", ENOSPC: "ENOSPC", EROFS: "EROFS",
	EMLINK: "EMLINK", EDOM: "EDOM", ERANGE: "ERANGE", EDEADLK: "EDEADLK",
	ENAMETOOLONG: "ENAMETOOLONG", ENOLCK: "ENOLCK", ENOSYS: "ENOSYS",
	ENOTEMPTY: "ENOTEMPTY", ENODATA: "ENODATA", ETIME: "ETIME",
	EBADMSG: "EBADMSG", EOVERFLOW: "EOVERFLOW", EILSEQ: "EILSEQ",
	ERESTART: "ERESTART", ENOTSOCK: "ENOTSOCK", EMSGSIZE: "EMSGSIZE",
	EOPNOTSUPP: "EOPNOTSUPP", EADDRINUSE: "EADDRINUSE",
	EADDRNOTAVAIL: "EADDRNOTAVAIL", ENOBUFS: "ENOBUFS", EISCONN: "EISCONN",
	ENOTCONN: "ENOTCONN", ETIMEDOUT: "ETIMEDOUT", ECONNREFUSED: "ECONNREFUSED",
}

// String returns the errno's symbolic name, e.g. "EINVAL".
func (e Errno) String() string {
	if n, ok := errnoNames[e]; ok {
		return n
	}
	return "errno(" + strconv.FormatInt(int64(e), 10) + ")"
}

// Error implements error.
func (e Errno) Error() string { return "xen: " + e.String() }

// Ret returns the value a hypercall returns in RAX for this errno: -e.
func (e Errno) Ret() int64 { return -int64(e) }

// IsErrno reports whether ret, a hypercall return value, is the negation of
// an errno defined in Xen's errno.h.
func IsErrno(ret int64) bool {
	if ret >= 0 {
		return false
	}
	_, ok := errnoNames[Errno(-ret)]
	return ok
}
