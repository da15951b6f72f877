package guestkit

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/xenolith/xenolith/bench/stats"
	"github.com/xenolith/xenolith/hv/evtchn"
	"github.com/xenolith/xenolith/hv/gnttab"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/hv/xenstore"
	"github.com/xenolith/xenolith/internal/require"
	"github.com/xenolith/xenolith/pvdrivers/xenbus"
)

var summaryRE = regexp.MustCompile(`(\d+) passed, (\d+) failed`)

// conformance boots a guest test program and requires a clean summary.
func conformance(t *testing.T, o RunOptions) *Outcome {
	t.Helper()
	out := boot(t, o)
	if out.Result.Reason != vm.ReasonPoweroff {
		t.Fatalf("%s: result %s\nconsole:\n%s", o.Program, out.Result, out.Console)
	}
	m := summaryRE.FindStringSubmatch(out.Console)
	if m == nil {
		t.Fatalf("%s: no summary line\nconsole:\n%s", o.Program, out.Console)
	}
	if m[2] != "0" || m[1] == "0" {
		t.Errorf("%s: %s passed, %s failed\nconsole:\n%s", o.Program, m[1], m[2], out.Console)
	}
	return out
}

func TestEventChannelConformance(t *testing.T) { conformance(t, RunOptions{Program: "evtchn"}) }
func TestXenstoreConformance(t *testing.T)     { conformance(t, RunOptions{Program: "xenstore"}) }
func TestGrantConformance(t *testing.T)        { conformance(t, RunOptions{Program: "grants"}) }
func TestConsoleRing(t *testing.T) {
	out := conformance(t, RunOptions{Program: "conring"})
	if !regexp.MustCompile(`(?m)^conring: .*ring`).MatchString(out.Console) {
		t.Logf("console:\n%s", out.Console)
	}
}

// TestTimerAccuracy checks VIRQ_TIMER never arrives before its deadline
// and logs how late it is.
func TestTimerAccuracy(t *testing.T) {
	out := conformance(t, RunOptions{Program: "timer"})
	late := out.Series("timer_late_ns")
	if len(late) == 0 {
		t.Fatal("no timer_late_ns series")
	}
	var ns []float64
	for _, v := range late {
		if int64(v) < 0 {
			t.Errorf("a timer fired %d ns early", -int64(v))
		}
		ns = append(ns, float64(int64(v)))
	}
	s := stats.Summarize(ns)
	t.Logf("VIRQ_TIMER lateness over %d timers: p50 %.0f us, p99 %.0f us, max %.0f us", s.N, s.P50/1e3, s.P99/1e3, s.Max/1e3)
}

// TestPingPongTwoVMs runs the pingpong program in two VMs of one process
// that find each other through xenstore and an interdomain event channel.
func TestPingPongTwoVMs(t *testing.T) {
	require.KVM(t)
	if _, err := Program("pingpong"); err != nil {
		require.File(t, "build/pingpong.elf", "run make -C guestkit")
	}
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	hub, store := evtchn.NewHub(), xenstore.New(xenstore.Options{})
	var wg sync.WaitGroup
	outs := make([]*Outcome, 2)
	errs := make([]error, 2)
	for i, args := range []string{"server peer=2 rounds=1000", "client peer=1 rounds=1000"} {
		wg.Add(1)
		go func(i int, args string) {
			defer wg.Done()
			outs[i], errs[i] = Run(sys, RunOptions{Program: "pingpong", Cmdline: args, DomID: uint16(i + 1), Hub: hub, Store: store, Timeout: 60 * time.Second})
		}(i, args)
	}
	wg.Wait()
	for i, out := range outs {
		if errs[i] != nil {
			t.Fatalf("VM %d: %v", i+1, errs[i])
		}
		for _, r := range out.Failures() {
			t.Errorf("VM %d: %s at %s:%d: %s", i+1, r.Kind, r.File, r.Line, r.Msg)
		}
		if out.Result.Reason != vm.ReasonPoweroff {
			t.Errorf("VM %d: %s\nconsole:\n%s", i+1, out.Result, out.Console)
		}
	}
	if rtt := outs[1].Series("rtt"); len(rtt) != 1000 {
		t.Errorf("client reported %d round trips, want 1000\nconsole:\n%s", len(rtt), outs[1].Console)
	}
}

// vtestBackend is the test device behind the xenbus program: it checks the
// frontend's grant, binds its event channel and exchanges one event each way.
type vtestBackend struct {
	m        *vm.VM
	mu       sync.Mutex
	ep       *evtchn.Endpoint
	ring     []byte
	kicked   chan struct{}
	kickOnce sync.Once
	connects int
}

// sawKick records that the frontend sent on the event channel.
func (b *vtestBackend) sawKick() { b.kickOnce.Do(func() { close(b.kicked) }) }

func (b *vtestBackend) Connect(fe *xenbus.Frontend) error {
	ref, err := fe.ReadUint("ring-ref")
	if err != nil {
		return err
	}
	port, err := fe.ReadUint("event-channel")
	if err != nil {
		return err
	}
	mp, err := b.m.Grants().Acquire(0, uint32(ref), 0, 4096, gnttab.Write)
	if err != nil {
		return fmt.Errorf("ring-ref %d: %w", ref, err)
	}
	b.mu.Lock()
	b.ring = append([]byte(nil), mp.Bytes()[:16]...)
	b.mu.Unlock()
	mp.Release()
	ep, err := b.m.EventChannels().BindBackend(evtchn.Port(port))
	if err != nil {
		return fmt.Errorf("event-channel %d: %w", port, err)
	}
	if err := b.m.Doorbell(evtchn.Port(port), ep.KickFD()); err != nil {
		ep.Close()
		return err
	}
	b.mu.Lock()
	b.ep = ep
	b.connects++
	b.mu.Unlock()
	ep.Drain() // the kick bind_interdomain implies
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if ep.Wait(ctx) == nil {
			b.sawKick()
		}
	}()
	ep.Notify()
	return nil
}

func (b *vtestBackend) Disconnect() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ep != nil {
		// The guest may send, close and disconnect before the waiting
		// goroutine has run: count the kicks still in the eventfd.
		if b.ep.Drain() > 0 {
			b.sawKick()
		}
		b.ep.Close()
		b.ep = nil
	}
}

// TestXenbusHandshake runs the xenbus program against the vtest backend and
// checks that both sides reached Connected and exchanged events.
func TestXenbusHandshake(t *testing.T) {
	require.KVM(t)
	if _, err := Program("xenbus"); err != nil {
		require.File(t, "build/xenbus.elf", "run make -C guestkit")
	}
	xenbusHandshake(t)
}

func xenbusHandshake(t *testing.T) {
	sys, err := kvm.Open()
	if err != nil {
		t.Fatalf("%v", err)
	}
	defer sys.Close()
	store := xenstore.New(xenstore.Options{})
	be := &vtestBackend{kicked: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var dev *xenbus.Device
	runErr := make(chan error, 1)
	out, err := Run(sys, RunOptions{
		Program: "xenbus", Store: store, Timeout: 60 * time.Second,
		Setup: func(m *vm.VM) error {
			be.m = m
			d, err := xenbus.Create(store.Dom0(), "vtest", m.DomID(), 0, nil)
			if err != nil {
				return err
			}
			dev = d
			go func() { runErr <- d.Run(ctx, be) }()
			return nil
		},
	})
	if err != nil {
		t.Fatalf("%v", err)
	}
	for _, r := range out.Failures() {
		t.Errorf("guest %s at %s:%d: %s", r.Kind, r.File, r.Line, r.Msg)
	}
	if out.Result.Reason != vm.ReasonPoweroff {
		t.Fatalf("result %s\nconsole:\n%s", out.Result, out.Console)
	}
	// The guest may connect and close again faster than the backend's
	// state can be sampled, so Connected is judged from Connect itself:
	// the backend switches to Connected right after it succeeds.
	select {
	case <-be.kicked:
	case <-time.After(5 * time.Second):
		t.Errorf("the frontend never sent on the event channel\nconsole:\n%s", out.Console)
	}
	if be.connects != 1 {
		t.Errorf("Connect called %d times", be.connects)
	}
	cancel()
	if err := <-runErr; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("backend: %v", err)
	}
	_ = dev
}
