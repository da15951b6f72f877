package guestkit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/xenolith/xenolith/hv/evtchn"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/hv/xenstore"
)

// RunOptions describe one guestkit program run.
type RunOptions struct {
	Program  string        // embedded program name, e.g. "hello"
	Image    []byte        // ELF image; overrides Program when set
	Cmdline  string        // program arguments (argv[0] is the program name)
	VCPUs    int           // default 1
	MemBytes uint64        // default 16 MiB
	Timeout  time.Duration // default 60 s; the VM is stopped after it
	Console  io.Writer     // optional copy of the console
	OnReport func(vm.Report)
	DomID    uint16      // Xen domain id (default 1)
	Hub      *evtchn.Hub // shared event-channel hub (VMs in one process)
	Store    *xenstore.Store
	// Setup runs after the VM is created and before it starts (attach
	// backends, set the command line); an error aborts the run.
	Setup func(m *vm.VM) error
	// OnStart runs once the VM is created, with the VM (e.g. to read its
	// counters from OnReport).
	OnStart func(m *vm.VM)
	// OnVCPUThread is passed to vm.Config.OnVCPUThread (tracers register
	// the vCPU threads with it).
	OnVCPUThread func(vcpu, tid int, start bool)
}

// Outcome is what a run produced.
type Outcome struct {
	Console string
	Result  vm.Result
	Reports []vm.Report
	Created time.Time // when VM creation started
	Main    time.Time // when the guest reported reaching main (zero if never)
	Ended   time.Time
	TSCKHz  uint64
	Exits   uint64 // exits handled across vCPUs
}

// Failures returns the fail and abort reports.
func (o *Outcome) Failures() []vm.Report {
	var out []vm.Report
	for _, r := range o.Reports {
		if r.Kind == vm.ReportFail || r.Kind == vm.ReportAbort {
			out = append(out, r)
		}
	}
	return out
}

// Metric returns the last metric reported under name.
func (o *Outcome) Metric(name string) (uint64, bool) {
	for i := len(o.Reports) - 1; i >= 0; i-- {
		if r := o.Reports[i]; r.Kind == vm.ReportMetric && r.Msg == name {
			return r.Value, true
		}
	}
	return 0, false
}

// Series returns the series reported under name.
func (o *Outcome) Series(name string) []uint64 {
	for _, r := range o.Reports {
		if r.Kind == vm.ReportSeries && r.Msg == name {
			return r.Series
		}
	}
	return nil
}

// Run boots a guestkit program in a new VM on sys and waits for it to end.
func Run(sys *kvm.System, o RunOptions) (*Outcome, error) {
	img := o.Image
	if img == nil {
		var err error
		if img, err = Program(o.Program); err != nil {
			return nil, err
		}
	}
	if o.VCPUs == 0 {
		o.VCPUs = 1
	}
	if o.MemBytes == 0 {
		o.MemBytes = 16 << 20
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	name := o.Program
	if name == "" {
		name = "guest"
	}
	cmdline := name
	if o.Cmdline != "" {
		cmdline += " " + o.Cmdline
	}
	var (
		mu      sync.Mutex
		console bytes.Buffer
		out     Outcome
	)
	w := io.Writer(&lockedWriter{mu: &mu, w: &console})
	if o.Console != nil {
		w = io.MultiWriter(w, o.Console)
	}
	m, err := vm.New(sys, vm.Config{
		Name: name, MemBytes: o.MemBytes, VCPUs: o.VCPUs, Kernel: img, Cmdline: cmdline,
		Console: w, DomID: o.DomID, Hub: o.Hub, Store: o.Store, OnVCPUThread: o.OnVCPUThread,
		OnReport: func(r vm.Report) {
			mu.Lock()
			out.Reports = append(out.Reports, r)
			if r.Kind == vm.ReportMark && r.Msg == "main" && out.Main.IsZero() {
				out.Main = r.Time
			}
			mu.Unlock()
			if o.OnReport != nil {
				o.OnReport(r)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	if o.OnStart != nil {
		o.OnStart(m)
	}
	if o.Setup != nil {
		if err := o.Setup(m); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	res, err := m.Run(ctx)
	out.Ended = time.Now()
	if err != nil {
		return nil, err
	}
	if res.Reason == vm.ReasonStopped && ctx.Err() != nil {
		res.Detail = fmt.Sprintf("timed out after %s", o.Timeout)
	}
	mu.Lock()
	defer mu.Unlock()
	out.Console = console.String()
	out.Result = res
	out.Created = m.Created()
	out.TSCKHz = m.TSCKHz()
	out.Exits = m.Exits()
	return &out, nil
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
