package bench

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/evtchn"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/hv/xenstore"
)

// vmFleet is a set of running VMs a density search grows and shrinks: all
// in this process (fleet) or one child process per VM (procFleet).
type vmFleet interface {
	size() int
	add() error   // create one VM and wait until its guest reaches main
	remove(n int) // stop and release the newest n VMs
	close()       // remove all and wait until the kernel released them
	bootLog() []bootSample
	exits() uint64 // user-space exits of every VM so far
	probe(window time.Duration) probeSample
	sample() HostSample // memory and CPU of whatever hosts the VMs
}

// fleet is the set of VMs a density search keeps running in this process.
type fleet struct {
	sys     *kvm.System
	prof    *Profile
	memOpts mem.Options
	hub     *evtchn.Hub
	store   *xenstore.Store
	images  map[string][]byte
	dir     string        // blk probe: where each VM's image lives
	net     *netResponder // net probe: the fleet's switch and responder
	members []*member
	nextDom uint16
	boots   []bootSample // every VM created, in order
	trace   *Trace       // eBPF probes (--trace), or nil
}

// member is one VM of the fleet.
type member struct {
	m       *vm.VM
	program string
	counter atomic.Uint64 // GPA of the work counter (rate probe), 0 if none
	ringGPA atomic.Uint64 // GPA of the latency ring (blk probe), 0 if none
	ring    ringReader    // used by the measuring goroutine only
	disk    *probeDisk
	nic     *probeNIC // net probe: the VM's vif
	done    chan struct{}
}

// bootSample is one VM's creation-to-main time and how many VMs were running.
type bootSample struct {
	Running int
	Boot    time.Duration
}

// programOf returns the guest program and arguments of the i-th VM of a
// profile.
func programOf(p *Profile, i int) (string, string) {
	if p.Alternate != "" && i%2 == 1 {
		return p.Alternate, ""
	}
	return p.Program, p.Args
}

func newFleet(sys *kvm.System, prof *Profile, memOpts mem.Options) (*fleet, error) {
	f := &fleet{sys: sys, prof: prof, memOpts: memOpts, hub: evtchn.NewHub(), store: xenstore.New(xenstore.Options{}),
		images: map[string][]byte{}, nextDom: 1}
	for _, p := range []string{prof.Program, prof.Alternate} {
		if p == "" {
			continue
		}
		img, err := guestkit.Program(p)
		if err != nil {
			return nil, err
		}
		f.images[p] = img
	}
	if prof.Probe == "blk" {
		dir, err := os.MkdirTemp("", "xenolith-density-")
		if err != nil {
			return nil, fmt.Errorf("fleet: %w", err)
		}
		f.dir = dir
	}
	if prof.Probe == "net" {
		f.net = newNetResponder()
	}
	return f, nil
}

func (f *fleet) size() int             { return len(f.members) }
func (f *fleet) bootLog() []bootSample { return f.boots }
func (f *fleet) sample() HostSample    { return SampleHost() }

// add creates one VM, starts it and waits until its guest reaches main.
func (f *fleet) add() error {
	prog, args := programOf(f.prof, len(f.members))
	mb := &member{program: prog, done: make(chan struct{})}
	dom := f.nextDom
	if f.net != nil {
		args = strings.TrimSpace(args + " " + netProbeArgs(dom))
	}
	mainc := make(chan time.Time, 1)
	var once sync.Once
	f.nextDom++
	if f.nextDom >= 0x7ff0 {
		f.nextDom = 1
	}
	m, err := vm.New(f.sys, vm.Config{
		OnVCPUThread: f.trace.Hook(fmt.Sprintf("d%d", dom)),
		Name:         fmt.Sprintf("d%d", dom), DomID: dom, MemBytes: uint64(f.prof.MemMiB) << 20, VCPUs: f.prof.VCPUs,
		Kernel: f.images[prog], Cmdline: prog + " " + args, Hub: f.hub, Store: f.store, Memory: f.memOpts,
		OnReport: func(r vm.Report) {
			switch {
			case r.Kind == vm.ReportMark && r.Msg == "main":
				once.Do(func() { mainc <- r.Time })
			case r.Kind == vm.ReportMetric && r.Msg == "counter_gpa":
				mb.counter.Store(r.Value)
			case r.Kind == vm.ReportMetric && r.Msg == "lat_ring_gpa":
				mb.ringGPA.Store(r.Value)
			}
		},
	})
	if err != nil {
		return err
	}
	mb.m = m
	if f.dir != "" {
		if mb.disk, err = attachProbeDisk(m, f.dir, dom); err != nil {
			m.Close() // no disk attached
			return err
		}
	}
	if f.net != nil {
		if mb.nic, err = f.net.attach(m); err != nil {
			mb.disk.close()
			m.Close()
			return err
		}
	}
	go func() {
		defer close(mb.done)
		m.Run(context.Background())
	}()
	select {
	case t := <-mainc:
		f.boots = append(f.boots, bootSample{Running: len(f.members), Boot: t.Sub(m.Created())})
	case <-mb.done:
		mb.nic.close()
		mb.disk.close()
		m.Close()
		return fmt.Errorf("VM %d ended before reaching main", dom)
	case <-time.After(60 * time.Second):
		m.Stop()
		<-mb.done
		mb.nic.close()
		mb.disk.close()
		m.Close()
		return fmt.Errorf("VM %d did not reach main within 60 s", dom)
	}
	if f.prof.Probe == "blk" || f.prof.Probe == "net" {
		if err := waitRing(mb); err != nil {
			m.Stop()
			<-mb.done
			mb.nic.close()
			mb.disk.close()
			m.Close()
			return fmt.Errorf("VM %d: %w", dom, err)
		}
	}
	f.members = append(f.members, mb)
	return nil
}

// waitRing waits until a blk-probe guest has opened its disk and published
// its latency ring (its workload runs from then on).
func waitRing(mb *member) error {
	deadline := time.Now().Add(60 * time.Second)
	for mb.ringGPA.Load() == 0 {
		select {
		case <-mb.done:
			return fmt.Errorf("guest ended before its block probe started")
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("block probe did not start within 60 s")
		}
	}
	return nil
}

// remove stops and closes the newest n VMs.
func (f *fleet) remove(n int) {
	if n > len(f.members) {
		n = len(f.members)
	}
	gone := f.members[len(f.members)-n:]
	f.members = f.members[:len(f.members)-n]
	for _, mb := range gone {
		mb.m.Stop()
	}
	for _, mb := range gone {
		<-mb.done
		f.trace.AccountVM(fmt.Sprintf("d%d", mb.m.DomID()), mb.m)
		mb.nic.close()  // likewise for the vif's rings
		mb.disk.close() // before guest RAM goes: the backend reads the ring
		mb.m.Close()
	}
}

// close removes every VM and waits for KVM to release them.
func (f *fleet) close() {
	f.remove(len(f.members))
	vm.WaitClosed()
	f.net.close()
	if f.dir != "" {
		os.RemoveAll(f.dir)
	}
}

// probe measures the profile's probe across window (rate or blk), or just
// waits for window.
func (f *fleet) probe(window time.Duration) probeSample {
	switch f.prof.Probe {
	case "rate":
		return probeSample{rates: f.rates(window)}
	case "blk", "net":
		return f.blkLatencies(window) // netprobe keeps blkprobe's ring
	}
	time.Sleep(window)
	return probeSample{}
}

// rates samples every rate-probed VM's work counter across window and
// returns units per second per VM.
func (f *fleet) rates(window time.Duration) []float64 {
	type s struct {
		mb *member
		v  uint64
	}
	var first []s
	for _, mb := range f.members {
		if mb.counter.Load() == 0 {
			continue
		}
		if v, err := mb.m.Memory().Load64(mem.GPA(mb.counter.Load())); err == nil {
			first = append(first, s{mb, v})
		}
	}
	t0 := time.Now()
	time.Sleep(window)
	el := time.Since(t0).Seconds()
	var out []float64
	for _, x := range first {
		if v, err := x.mb.m.Memory().Load64(mem.GPA(x.mb.counter.Load())); err == nil {
			out = append(out, float64(v-x.v)/el)
		}
	}
	return out
}

// blkLatencies collects every VM's block read latencies completed during
// window, and each VM's reads per second.
func (f *fleet) blkLatencies(window time.Duration) probeSample {
	for _, mb := range f.members {
		mb.ring.follow(mb.ringGPA.Load())
		mb.ring.take(mb.m.Memory(), mb.m.TSCKHz()) // discard what came before
	}
	t0 := time.Now()
	time.Sleep(window)
	el := time.Since(t0).Seconds()
	var ps probeSample
	for _, mb := range f.members {
		if mb.ring.gpa == 0 {
			continue
		}
		lats, n := mb.ring.take(mb.m.Memory(), mb.m.TSCKHz())
		ps.lats = append(ps.lats, lats...)
		ps.rates = append(ps.rates, float64(n)/el)
		ps.done += n
	}
	return ps
}

// exits sums the user-space exits of every VM.
func (f *fleet) exits() uint64 {
	var n uint64
	for _, mb := range f.members {
		n += mb.m.Exits()
	}
	return n
}
