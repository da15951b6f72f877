package crash

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
)

// vmRun is what one blkstream VM produced.
type vmRun struct {
	console string
	result  vm.Result
	reports []vm.Report
	// detachErr is the error of the disk's detach function (the backend's
	// data path error, if any).
	detachErr error
}

// metric returns the last metric reported under name.
func (r *vmRun) metric(name string) (uint64, bool) {
	for i := len(r.reports) - 1; i >= 0; i-- {
		if rep := r.reports[i]; rep.Kind == vm.ReportMetric && rep.Msg == name {
			return rep.Value, true
		}
	}
	return 0, false
}

// runStream boots blkstream with args on sys. attach, called before the VM
// starts, attaches its disk and returns the function that detaches it;
// that runs after the VM has stopped and before its memory is unmapped, so
// that no backend goroutine outlives the guest RAM it maps. (guestkit.Run
// closes the VM itself, before a caller can stop backends: with a guest
// that ends without closing its disk, the backend then reads unmapped
// memory.) onReport, if not nil, sees each report as it arrives.
func runStream(sys *kvm.System, args string, timeout time.Duration,
	attach func(m *vm.VM) (detach func() error, err error), onReport func(vm.Report)) (*vmRun, error) {
	img, err := guestkit.Program("blkstream")
	if err != nil {
		return nil, err
	}
	var (
		mu      sync.Mutex // protects console and out.reports
		console bytes.Buffer
		out     vmRun
	)
	m, err := vm.New(sys, vm.Config{
		Name: "blkstream", MemBytes: 16 << 20, VCPUs: 1, Kernel: img, Cmdline: "blkstream " + args,
		Console: writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return console.Write(p)
		}),
		OnReport: func(r vm.Report) {
			mu.Lock()
			out.reports = append(out.reports, r)
			mu.Unlock()
			if onReport != nil {
				onReport(r)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	detach, err := attach(m)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := m.Run(ctx)
	out.detachErr = detach()
	if err != nil {
		return nil, err
	}
	if res.Reason == vm.ReasonStopped && ctx.Err() != nil {
		return nil, errors.New("blkstream timed out")
	}
	mu.Lock()
	defer mu.Unlock()
	out.console = console.String()
	out.result = res
	return &out, nil
}

// writerFunc is an io.Writer made of a function.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

var (
	sysOnce sync.Once
	sysKVM  *kvm.System
	sysErr  error
)

// kvmSystem returns the process's /dev/kvm handle, opened on first use and
// left open until the process exits: hv/vm may still be preparing spare
// VMs on it in the background after a test's last VM has gone.
func kvmSystem() (*kvm.System, error) {
	sysOnce.Do(func() { sysKVM, sysErr = kvm.Open() })
	return sysKVM, sysErr
}
