package probe

import "errors"

// ErrUnavailable is returned (wrapped, with the reason) when eBPF tracing
// cannot run here: no privilege, no kernel BTF, or a kernel without the
// needed program types.
var ErrUnavailable = errors.New("probe: eBPF tracing unavailable")

// ErrClosed is returned by a Tracer used after Close.
var ErrClosed = errors.New("probe: tracer closed")

// ErrTooManyVMs is returned by AddVM when the VM id space is exhausted.
var ErrTooManyVMs = errors.New("probe: too many VMs")
