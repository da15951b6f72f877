package probe

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// Options configure a Tracer.
type Options struct {
	// PID is the monitor process to trace; 0 means this process.
	PID int
	// Discover learns vCPU threads of PID by themselves, from the vCPU fd
	// each passes to KVM_RUN, grouping them by KVM VM (for a monitor that
	// does not register its threads, such as another process).
	Discover bool
	// NoBlock leaves the block tracepoints detached.
	NoBlock bool
}

// Tracer holds the loaded eBPF programs, their links and the VM names.
type Tracer struct {
	pid      int
	discover bool
	coll     *ebpf.Collection
	links    []link.Link
	tps      []Tracepoint

	mu     sync.Mutex            // protects the fields below
	vms    map[VMID]string       // names of registered VMs
	slotOf map[uint32]threadSlot // registered thread -> its slot in threads
	free   []uint32              // free registered slots
	gen    uint32                // last slot generation given out
	folded map[VMID]*VMStats     // counts of unregistered threads
	next   VMID
	closed bool
}

// Open loads the probes and attaches them. It returns an error wrapping
// ErrUnavailable, with the reason, when eBPF cannot run here.
func Open(o Options) (*Tracer, error) {
	if o.PID == 0 {
		o.PID = os.Getpid()
	}
	if o.PID < 0 {
		return nil, fmt.Errorf("probe: invalid pid %d", o.PID)
	}
	if ok, why := Available(); !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, why)
	}
	if err := mountTracefs(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	_ = rlimit.RemoveMemlock() // kernels before 5.11 charge maps to RLIMIT_MEMLOCK
	spec, err := loadProbe()
	if err != nil {
		return nil, err
	}
	plan := planAttach(o)
	useFPU := false
	for _, p := range plan {
		if p.prog == "kvm_fpu" && p.attach {
			useFPU = true
		}
	}
	vars := map[string]any{"target_tgid": uint32(o.PID), "use_fpu": useFPU, "autoreg": o.Discover}
	for name, v := range vars {
		if err := spec.Variables[name].Set(v); err != nil {
			return nil, fmt.Errorf("probe: set %s: %w", name, err)
		}
	}
	for _, p := range plan {
		if !p.attach {
			delete(spec.Programs, p.prog)
		}
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, ebpf.ErrNotSupported) {
			return nil, fmt.Errorf("%w: load: %v", ErrUnavailable, err)
		}
		return nil, fmt.Errorf("probe: load: %w", err)
	}
	if err := checkThreads(coll.Maps["threads"]); err != nil {
		coll.Close()
		return nil, err
	}
	t := &Tracer{pid: o.PID, discover: o.Discover, coll: coll, vms: map[VMID]string{}, slotOf: map[uint32]threadSlot{},
		folded: map[VMID]*VMStats{}, free: freeSlots(), next: 1}
	for _, p := range plan {
		st := Tracepoint{Name: p.String(), Exists: p.exists, Why: p.why}
		if p.attach {
			l, err := p.link(coll.Programs[p.prog])
			if err != nil {
				st.Why = err.Error()
				if p.required {
					t.Close()
					return nil, fmt.Errorf("probe: attach %s: %w", p, err)
				}
			} else {
				st.Attached = true
				t.links = append(t.links, l)
			}
		}
		t.tps = append(t.tps, st)
	}
	return t, nil
}

// Available reports whether eBPF tracing can be tried here, and if not why.
func Available() (bool, string) {
	if os.Geteuid() != 0 {
		return false, "needs root (CAP_BPF and CAP_PERFMON)"
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return false, "no kernel BTF (/sys/kernel/btf/vmlinux)"
	}
	return true, ""
}

// mountTracefs mounts tracefs at /sys/kernel/tracing when it is missing:
// classic tracepoints are found by their id there.
func mountTracefs() error {
	if _, err := os.Stat(tracefs + "/events"); err == nil {
		return nil
	}
	if err := unix.Mount("tracefs", tracefs, "tracefs", 0, ""); err != nil {
		return fmt.Errorf("mount tracefs on %s: %w", tracefs, err)
	}
	return nil
}

// PID returns the traced process.
func (t *Tracer) PID() int { return t.pid }

// Close detaches the probes and frees the maps.
func (t *Tracer) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	for _, l := range t.links {
		l.Close()
	}
	t.links = nil
	t.coll.Close()
	return nil
}
