package vm_test

import (
	"testing"

	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/evtchn"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/internal/require"
)

// TestDoorbellReconnect checks that a doorbell goes with its endpoint: a
// backend that reconnects to the same guest port number (a frontend that
// closed and reopened its device) registers its doorbell again, which KVM
// would refuse (EEXIST) if the first were still there; a second Doorbell
// on a port replaces the first.
func TestDoorbellReconnect(t *testing.T) {
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
	m, err := vm.New(sys, vm.Config{MemBytes: 16 << 20, VCPUs: 1, Kernel: img})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { m.Close(); vm.WaitClosed() }()
	evt := m.EventChannels()
	port, err := evt.AllocPortForBackend(0)
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		ep, err := evt.BindBackend(port)
		if err != nil {
			t.Fatalf("round %d: bind: %v", round, err)
		}
		if err := m.Doorbell(port, ep.KickFD()); err != nil {
			t.Fatalf("round %d: doorbell: %v", round, err)
		}
		if err := m.Doorbell(port, ep.KickFD()); err != nil {
			t.Fatalf("round %d: doorbell again: %v", round, err)
		}
		ep.Close() // the port reverts to unbound for domain 0
	}
	if _, err := evt.BindBackend(evtchn.Port(1 << 20)); err == nil {
		t.Error("BindBackend of a port out of range succeeded")
	}
}
