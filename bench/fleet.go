package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/evtchn"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/hv/xenstore"
)

// fleet is the set of VMs a density search keeps running in this process.
type fleet struct {
	sys     *kvm.System
	prof    *Profile
	memOpts mem.Options
	hub     *evtchn.Hub
	store   *xenstore.Store
	images  map[string][]byte
	members []*member
	nextDom uint16
	boots   []bootSample // every VM created, in order
}

// member is one VM of the fleet.
type member struct {
	m       *vm.VM
	program string
	counter uint64 // GPA of the work counter (rate probe), 0 if none
	done    chan struct{}
}

// bootSample is one VM's creation-to-main time and how many VMs were running.
type bootSample struct {
	Running int
	Boot    time.Duration
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
	return f, nil
}

// add creates one VM, starts it and waits until its guest reaches main.
func (f *fleet) add() error {
	prog := f.prof.Program
	if f.prof.Alternate != "" && len(f.members)%2 == 1 {
		prog = f.prof.Alternate
	}
	mb := &member{program: prog, done: make(chan struct{})}
	mainc := make(chan time.Time, 1)
	var once sync.Once
	dom := f.nextDom
	f.nextDom++
	if f.nextDom >= 0x7ff0 {
		f.nextDom = 1
	}
	m, err := vm.New(f.sys, vm.Config{
		Name: fmt.Sprintf("d%d", dom), DomID: dom, MemBytes: uint64(f.prof.MemMiB) << 20, VCPUs: f.prof.VCPUs,
		Kernel: f.images[prog], Cmdline: prog + " " + f.prof.Args, Hub: f.hub, Store: f.store, Memory: f.memOpts,
		OnReport: func(r vm.Report) {
			switch {
			case r.Kind == vm.ReportMark && r.Msg == "main":
				once.Do(func() { mainc <- r.Time })
			case r.Kind == vm.ReportMetric && r.Msg == "counter_gpa":
				mb.counter = r.Value
			}
		},
	})
	if err != nil {
		return err
	}
	mb.m = m
	go func() {
		defer close(mb.done)
		m.Run(context.Background())
	}()
	select {
	case t := <-mainc:
		f.boots = append(f.boots, bootSample{Running: len(f.members), Boot: t.Sub(m.Created())})
	case <-mb.done:
		m.Close()
		return fmt.Errorf("VM %d ended before reaching main", dom)
	case <-time.After(60 * time.Second):
		m.Stop()
		<-mb.done
		m.Close()
		return fmt.Errorf("VM %d did not reach main within 60 s", dom)
	}
	f.members = append(f.members, mb)
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
		mb.m.Close()
	}
}

// close removes every VM and waits for KVM to release them.
func (f *fleet) close() {
	f.remove(len(f.members))
	vm.WaitClosed()
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
		if mb.counter == 0 {
			continue
		}
		if v, err := mb.m.Memory().Load64(mem.GPA(mb.counter)); err == nil {
			first = append(first, s{mb, v})
		}
	}
	t0 := time.Now()
	time.Sleep(window)
	el := time.Since(t0).Seconds()
	var out []float64
	for _, x := range first {
		if v, err := x.mb.m.Memory().Load64(mem.GPA(x.mb.counter)); err == nil {
			out = append(out, float64(v-x.v)/el)
		}
	}
	return out
}

// exits sums the user-space exits of every VM.
func (f *fleet) exits() uint64 {
	var n uint64
	for _, mb := range f.members {
		n += mb.m.Exits()
	}
	return n
}
