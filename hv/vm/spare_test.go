package vm_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/internal/require"
)

// TestSpareVMs checks that VMs built from prepared spares boot like VMs
// built inline, that a bad kernel given to a spare releases it, and that
// WaitClosed leaves no KVM fd behind.
func TestSpareVMs(t *testing.T) {
	require.KVM(t)
	img, err := guestkit.Program("hello")
	if err != nil {
		t.Skip(err)
	}
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	vm.WaitClosed()
	fds0 := countFDs(t)
	vm.SetSpares(true)
	const memBytes = 12 << 20 // a shape no other test uses
	spare := 0
	for i := 0; i < 6; i++ {
		if i == 3 {
			// A kernel the loader rejects, possibly on a spare.
			if _, err := vm.New(sys, vm.Config{MemBytes: memBytes, VCPUs: 1, Kernel: []byte("not an elf")}); err == nil || !vm.IsConfigError(err) {
				t.Fatalf("bad kernel: %v, want a ConfigError", err)
			}
			continue
		}
		m, err := vm.New(sys, vm.Config{MemBytes: memBytes, VCPUs: 1, Kernel: img, Cmdline: "hello"})
		if err != nil {
			t.Fatal(err)
		}
		if m.Breakdown().Spare {
			spare++
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err := m.Run(ctx)
		cancel()
		m.Close()
		if err != nil || res.Reason != vm.ReasonPoweroff {
			t.Fatalf("VM %d (spare %v): %s, %v; want poweroff", i, m.Breakdown().Spare, res, err)
		}
		// Let the filler build the next spare: only then is the path
		// exercised deterministically.
		time.Sleep(50 * time.Millisecond)
	}
	if spare == 0 {
		t.Error("no VM came from a spare")
	}
	vm.WaitClosed()
	if n := countFDs(t); n != fds0 {
		t.Errorf("open files: %d after WaitClosed, %d before", n, fds0)
	}
	vm.SetSpares(false)
	m, err := vm.New(sys, vm.Config{MemBytes: memBytes, VCPUs: 1, Kernel: img, Cmdline: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Breakdown().Spare {
		t.Error("a spare was used with spares off")
	}
	m.Close()
	vm.WaitClosed()
}

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
