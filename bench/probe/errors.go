package probe

import "errors"

// ErrUnavailable is returned (wrapped, with the reason) when eBPF tracing
// cannot run here: no privilege, no kernel BTF, or a kernel without the
// needed program types.
var ErrUnavailable = errors.New("probe: eBPF tracing unavailable")

// ErrClosed is returned by a Tracer used after Close.
var ErrClosed = errors.New("probe: tracer closed")

// ErrTooManyThreads is returned by Register when every registered-thread
// slot is in use.
var ErrTooManyThreads = errors.New("probe: too many registered vCPU threads")

// ErrTooManyVMs is returned by AddVM when the VM id space is exhausted.
var ErrTooManyVMs = errors.New("probe: too many VMs")
