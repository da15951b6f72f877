package crash

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/internal/devices"
	"github.com/xenolith/xenolith/internal/require"
	"github.com/xenolith/xenolith/pvdrivers/blkback"
)

// streamRun is one in-process blkstream run over a Faulty.
type streamRun struct {
	out       *vmRun
	writeErrs []uint64 // records whose write the guest saw fail
	readErrs  []uint64 // records whose read-back failed
	flushErrs int
	serveErr  error // the backend's data path error, if any
}

// runFaulty boots blkstream with args on img wrapped in f.
func runFaulty(t *testing.T, sys *kvm.System, img string, f func(blkback.Storage) *blkback.Faulty, args string) *streamRun {
	t.Helper()
	file, err := blkback.OpenFile(img, blkback.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	st := f(file)
	out, err := runStream(sys, args, time.Minute, func(m *vm.VM) (func() error, error) {
		disk, err := devices.AttachStorage(m, 0, st, nil)
		if err != nil {
			return nil, err
		}
		return func() error { disk.Close(); return disk.Err() }, nil
	}, nil)
	if err != nil {
		t.Fatalf("run blkstream %s: %v", args, err)
	}
	r := &streamRun{out: out, serveErr: out.detachErr}
	for _, rep := range out.reports {
		switch {
		case rep.Kind == vm.ReportFail || rep.Kind == vm.ReportAbort:
			t.Errorf("guest %s at %s:%d: %s", rep.Kind, rep.File, rep.Line, rep.Msg)
		case rep.Kind == vm.ReportMetric && rep.Msg == "write_err":
			r.writeErrs = append(r.writeErrs, rep.Value)
		case rep.Kind == vm.ReportMetric && rep.Msg == "read_err":
			r.readErrs = append(r.readErrs, rep.Value)
		case rep.Kind == vm.ReportMetric && rep.Msg == "flush_err":
			r.flushErrs++
		}
	}
	slices.Sort(r.writeErrs)
	slices.Sort(r.readErrs)
	return r
}

// span returns the records first..last inclusive.
func span(first, last uint64) []uint64 {
	var s []uint64
	for i := first; i <= last; i++ {
		s = append(s, i)
	}
	return s
}

// TestFaultInjection runs blkstream over storage that fails chosen
// operations: the guest must see BLKIF_RSP_ERROR for exactly those requests
// (blkstream checks the status), every other request must succeed and land,
// and the VM must run to a clean poweroff with the backend still serving.
func TestFaultInjection(t *testing.T) {
	require.KVM(t)
	if _, err := guestkit.Program("blkstream"); err != nil {
		require.File(t, "../../guestkit/build/blkstream.elf", "run make -C guestkit")
	}
	sys, err := kvmSystem()
	if err != nil {
		t.Fatal(err)
	}
	// 64 records of 8 sectors (one page each) from sector 0.
	const count, bs = 64, 8
	tests := []struct {
		name      string
		rule      blkback.FaultRule
		depth     int
		writeErrs []uint64
		readErrs  []uint64
		flushErrs int
	}{
		{"write range", blkback.FaultRule{Ops: blkback.FaultWrite, FirstSector: 100, Sectors: 30},
			8, span(100/bs, 129/bs), nil, 0},
		{"read range", blkback.FaultRule{Ops: blkback.FaultRead, FirstSector: 200, Sectors: 1},
			8, nil, span(200/bs, 200/bs), 0},
		{"read and write range", blkback.FaultRule{Ops: blkback.FaultRead | blkback.FaultWrite, FirstSector: 8 * 40, Sectors: 16},
			32, span(40, 41), span(40, 41), 0},
		{"two flushes fail", blkback.FaultRule{Ops: blkback.FaultFlush, After: 2, Times: 2},
			8, nil, nil, 2},
		{"disk dies after 20 writes", blkback.FaultRule{Ops: blkback.FaultWrite, After: 20},
			1, span(20, count-1), nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "fault.img")
			if err := os.WriteFile(img, make([]byte, 1<<20), 0o644); err != nil {
				t.Fatal(err)
			}
			var faulty *blkback.Faulty
			wrap := func(st blkback.Storage) *blkback.Faulty {
				faulty = blkback.NewFaulty(st, tc.rule)
				return faulty
			}
			const seed = 0x5eed
			args := fmt.Sprintf("count=%d bs=%d k=4 depth=%d seed=%d tolerate=1 verify=1", count, bs, tc.depth, seed)
			r := runFaulty(t, sys, img, wrap, args)
			if r.out.result.Reason != vm.ReasonPoweroff || !regexp.MustCompile(`blkstream: \d+ passed, 0 failed`).MatchString(r.out.console) {
				t.Fatalf("result %s\nconsole:\n%s", r.out.result, r.out.console)
			}
			if r.serveErr != nil {
				t.Errorf("the backend's data path ended with %v", r.serveErr)
			}
			if !slices.Equal(r.writeErrs, tc.writeErrs) || !slices.Equal(r.readErrs, tc.readErrs) || r.flushErrs != tc.flushErrs {
				t.Errorf("guest saw write errors %v, read errors %v, %d flush errors; want %v, %v, %d\nconsole:\n%s",
					r.writeErrs, r.readErrs, r.flushErrs, tc.writeErrs, tc.readErrs, tc.flushErrs, r.out.console)
			}
			if got := faulty.Injected(blkback.FaultFlush); got != uint64(tc.flushErrs) {
				t.Errorf("%d flush failures injected, guest saw %d", got, tc.flushErrs)
			}
			// The final flush succeeds in every case, so every record
			// whose write succeeded must be in the image.
			flushed, _ := r.out.metric("stream_flushed")
			f, err := os.Open(img)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			c, err := Check(f, Layout{Seed: seed, BS: bs, Count: count}, flushed, func(seq uint64) bool {
				_, failed := slices.BinarySearch(r.writeErrs, seq)
				return failed
			})
			if err != nil {
				t.Fatal(err)
			}
			if flushed != count || c.NumLost != 0 || c.NumCorrupt != 0 {
				t.Errorf("image: %s (want %d flushed); lost %v, corrupt %v", c, count, c.Lost, c.Corrupt)
			}
			t.Logf("guest saw BLKIF_RSP_ERROR for %d writes, %d reads, %d flushes; image: %s",
				len(r.writeErrs), len(r.readErrs), r.flushErrs, c)

			// The same monitor process serves the disk again once the
			// faults stop.
			again := runFaulty(t, sys, img, func(st blkback.Storage) *blkback.Faulty { return blkback.NewFaulty(st) },
				fmt.Sprintf("count=%d bs=%d start=%d verify=1", 16, bs, count*bs))
			if again.out.result.Reason != vm.ReasonPoweroff || len(again.writeErrs)+len(again.readErrs)+again.flushErrs != 0 {
				t.Errorf("second run without faults: result %s\nconsole:\n%s", again.out.result, again.out.console)
			}
		})
	}
}
