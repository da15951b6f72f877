package vm_test

import (
	"context"
	"testing"
	"time"

	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/internal/require"
)

// TestStopKicksSpinningVCPU checks that a kick (immediate_exit plus a
// signal) takes a vCPU out of KVM_RUN while the guest spins at CPL3 without
// exiting.
func TestStopKicksSpinningVCPU(t *testing.T) {
	require.KVM(t)
	img, err := guestkit.Program("spin")
	if err != nil {
		t.Skip(err)
	}
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	for _, vcpus := range []int{1, 2} {
		m, err := vm.New(sys, vm.Config{MemBytes: 16 << 20, VCPUs: vcpus, Kernel: img, Cmdline: "spin 1000000000000"})
		if err != nil {
			t.Fatal(err)
		}
		started := make(chan struct{})
		go func() {
			time.Sleep(100 * time.Millisecond)
			close(started)
			m.Stop()
		}()
		t0 := time.Now()
		res, err := m.Run(context.Background())
		<-started
		if err != nil {
			t.Fatal(err)
		}
		if res.Reason != vm.ReasonStopped {
			t.Errorf("vcpus=%d: result %s, want stopped", vcpus, res)
		}
		if d := time.Since(t0); d > 5*time.Second {
			t.Errorf("vcpus=%d: stopping took %s", vcpus, d)
		}
		m.Close()
	}
	vm.WaitClosed()
}

// TestContextCancelStops checks that cancelling Run's context stops the VM.
func TestContextCancelStops(t *testing.T) {
	require.KVM(t)
	img, err := guestkit.Program("spin")
	if err != nil {
		t.Skip(err)
	}
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	m, err := vm.New(sys, vm.Config{MemBytes: 16 << 20, VCPUs: 1, Kernel: img, Cmdline: "spin 1000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	res, err := m.Run(ctx)
	if err != nil || res.Reason != vm.ReasonStopped || res.ExitStatus() != 130 {
		t.Errorf("result %s (status %d), err %v; want stopped, 130", res, res.ExitStatus(), err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []vm.Config{
		{MemBytes: 16 << 20, VCPUs: 0, Kernel: []byte("x")},
		{MemBytes: 0, VCPUs: 1, Kernel: []byte("x")},
		{MemBytes: 16 << 20, VCPUs: 1, Kernel: []byte("not an elf")},
	} {
		if err := vm.CheckConfig(cfg); err == nil || !vm.IsConfigError(err) {
			t.Errorf("CheckConfig(%d vcpus, %d bytes): %v, want a ConfigError", cfg.VCPUs, cfg.MemBytes, err)
		}
	}
}
