package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/vm"
)

// ChildCommand is the hidden subcommand (after "bench") under which the
// xenolith binary runs one VM of a process-per-VM density search.
const ChildCommand = "vm-child"

// childSpec is the one argument of a vm-child process: the VM to run.
type childSpec struct {
	Program   string `json:"program"`
	Args      string `json:"args,omitempty"`
	MemMiB    int    `json:"mem_mib"`
	VCPUs     int    `json:"vcpus"`
	DomID     uint16 `json:"dom_id"`
	Mergeable bool   `json:"mergeable,omitempty"` // guest RAM may be merged by KSM
	ImageDir  string `json:"image_dir,omitempty"` // blk probe: give the VM an image made here
}

// The child's protocol, one line each way. The child writes "main" when
// its guest reaches main, then "ready" when its workload runs; each "sample" line on its stdin gets the answer
// "sample EXITS COUNTER READS [LAT_NS...]" (the work counter, the block
// reads completed since the previous sample and their latencies); end of
// stdin stops the VM and the process. A VM that ends early makes the child
// write "ended REASON" and exit with status 1.
const maxChildLats = 512 // latencies per sample answer, the newest

// ChildMain runs the VM described by args (one JSON argument) for a parent
// density search, talking over stdin and stdout. The CLI calls it for
// `xenolith bench vm-child`; it is not meant for people.
func ChildMain(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("vm-child: expected one JSON argument, got %d", len(args))
	}
	var sp childSpec
	dec := json.NewDecoder(strings.NewReader(args[0]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sp); err != nil {
		return fmt.Errorf("vm-child: %w", err)
	}
	if sp.Program == "" {
		// An empty monitor process: the memory floor of one process per VM.
		fmt.Fprintln(stdout, "main")
		fmt.Fprintln(stdout, "ready")
		io.Copy(io.Discard, stdin)
		return nil
	}
	img, err := guestkit.Program(sp.Program)
	if err != nil {
		return err
	}
	sys, err := kvm.Open()
	if err != nil {
		return err
	}
	defer sys.Close()
	if err := sys.Require(kvm.MonitorRequirements); err != nil {
		return err
	}
	var outMu sync.Mutex
	say := func(format string, a ...any) {
		outMu.Lock()
		fmt.Fprintf(stdout, format+"\n", a...)
		outMu.Unlock()
	}
	var counter, ringGPA atomic.Uint64
	var once sync.Once
	m, err := vm.New(sys, vm.Config{
		Name: fmt.Sprintf("d%d", sp.DomID), DomID: sp.DomID, MemBytes: uint64(sp.MemMiB) << 20, VCPUs: sp.VCPUs,
		Kernel: img, Cmdline: sp.Program + " " + sp.Args, Memory: mem.Options{Mergeable: sp.Mergeable},
		OnReport: func(r vm.Report) {
			switch {
			case r.Kind == vm.ReportMark && r.Msg == "main":
				once.Do(func() {
					say("main")
					if sp.ImageDir == "" {
						say("ready")
					}
				})
			case r.Kind == vm.ReportMetric && r.Msg == "counter_gpa":
				counter.Store(r.Value)
			case r.Kind == vm.ReportMetric && r.Msg == "lat_ring_gpa":
				if ringGPA.Swap(r.Value) == 0 && sp.ImageDir != "" {
					say("ready")
				}
			}
		},
	})
	if err != nil {
		return err
	}
	defer m.Close()
	if sp.ImageDir != "" {
		d, err := attachProbeDisk(m, sp.ImageDir, sp.DomID)
		if err != nil {
			return err
		}
		defer d.close()
	}
	done := make(chan vm.Result, 1)
	go func() {
		r, _ := m.Run(context.Background())
		done <- r
	}()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var ring ringReader
	for {
		select {
		case r := <-done:
			say("ended %s", r)
			return fmt.Errorf("vm-child: guest ended: %s", r)
		case l, ok := <-lines:
			if !ok {
				m.Stop()
				<-done
				return nil
			}
			if l != "sample" {
				continue
			}
			var c uint64
			if g := counter.Load(); g != 0 {
				c, _ = m.Memory().Load64(mem.GPA(g))
			}
			ring.follow(ringGPA.Load())
			lats, reads := ring.take(m.Memory(), m.TSCKHz())
			if len(lats) > maxChildLats {
				lats = lats[len(lats)-maxChildLats:]
			}
			var b strings.Builder
			fmt.Fprintf(&b, "sample %d %d %d", m.Exits(), c, reads)
			for _, v := range lats {
				b.WriteByte(' ')
				b.WriteString(strconv.FormatInt(int64(v), 10))
			}
			say("%s", b.String())
		}
	}
}

// childSample is a parsed "sample" answer.
type childSample struct {
	exits, counter, reads uint64
	lats                  []float64
}

// parseChildSample parses a child's "sample" line.
func parseChildSample(line string) (childSample, error) {
	f := strings.Fields(line)
	if len(f) < 4 || f[0] != "sample" {
		return childSample{}, fmt.Errorf("vm-child: bad sample line %q", truncate(line, 80))
	}
	var s childSample
	var err error
	for i, p := range []*uint64{&s.exits, &s.counter, &s.reads} {
		if *p, err = strconv.ParseUint(f[1+i], 10, 64); err != nil {
			return childSample{}, fmt.Errorf("vm-child: bad sample field %q", truncate(f[1+i], 40))
		}
	}
	if len(f)-4 > maxChildLats {
		return childSample{}, fmt.Errorf("vm-child: %d latencies in one sample", len(f)-4)
	}
	for _, x := range f[4:] {
		v, err := strconv.ParseUint(x, 10, 64)
		if err != nil {
			return childSample{}, fmt.Errorf("vm-child: bad latency %q", truncate(x, 40))
		}
		s.lats = append(s.lats, float64(v))
	}
	return s, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// isChild reports whether args (after the program name) ask for a vm-child.
func isChild(args []string) bool {
	return len(args) >= 2 && args[0] == "bench" && args[1] == ChildCommand
}

// RunChildIfAsked runs ChildMain and exits when this process was started
// as a vm-child (os.Args[1:] begin "bench vm-child"); test binaries that
// run process-per-VM searches call it from TestMain.
func RunChildIfAsked() {
	if !isChild(os.Args[1:]) {
		return
	}
	if err := ChildMain(os.Args[3:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "xenolith: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}
