// Command createlat is an experiment harness for VM creation latency at
// scale: it boots N idle VMs (which run and then sleep in SCHEDOP_block),
// then times the creation of one more VM ioctl by ioctl, at several fleet
// sizes, and prints the medians and p99s of each step. It is not a test:
// run it by hand (as root, with /dev/kvm), without cgo so that vCPU
// threads add no pthread-stack mappings:
//
//	CGO_ENABLED=0 go run ./tests/scale/createlat -sizes 10,1000 -trials 60
//
// -mode norun keeps the fleet's VMs created but never run; -mode threads
// replaces them with idle locked OS threads; -vmas N adds N small mappings
// first; -loop D repeats the timed steps (for perf). CREATELAT_NOSPARES=1
// turns hv/vm's spare VMs off; CREATELAT_DUMPMAPS=1 saves /proc/self/maps
// at each size in /tmp.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/boot"
	"github.com/xenolith/xenolith/hv/evtchn"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/hv/xenstore"
)

func main() {
	sizes := flag.String("sizes", "0,10,250,500,1000", "fleet sizes at which to measure")
	trials := flag.Int("trials", 40, "creations timed at each size")
	full := flag.Bool("full", true, "also time full vm.New + boot to main at each size (the VMs stay)")
	mode := flag.String("mode", "run", "fleet VMs: run (boot idle and keep running), norun (created, never run), threads (no VMs: locked OS threads blocked in read)")
	loop := flag.Duration("loop", 0, "after the last size, repeat the timed creations for this long (for perf)")
	vmas := flag.Int("vmas", 0, "first map this many small touched anonymous regions (no VMs), to test VMA-count effects")
	flag.Parse()
	if *vmas > 0 {
		if err := inflateVMAs(*vmas); err != nil {
			fmt.Fprintln(os.Stderr, "createlat:", err)
			os.Exit(1)
		}
	}
	fleetMode, loopFor = *mode, *loop
	if os.Getenv("CREATELAT_NOSPARES") != "" {
		vm.SetSpares(false)
	}
	if err := run(*sizes, *trials, *full); err != nil {
		fmt.Fprintln(os.Stderr, "createlat:", err)
		os.Exit(1)
	}
}

var (
	fleetMode string
	loopFor   time.Duration
)

type fleetVM struct {
	m    *vm.VM
	done chan struct{}
}

func run(sizeList string, trials int, full bool) error {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		rl.Cur = rl.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	debug.SetMaxThreads(20000)
	sys, err := kvm.Open()
	if err != nil {
		return err
	}
	img, err := guestkit.Program("idle")
	if err != nil {
		return err
	}
	hub, store := evtchn.NewHub(), xenstore.New(xenstore.Options{})
	var fleet []fleetVM
	dom := uint16(1)
	boot1 := func(runIt bool) (time.Duration, vm.CreateBreakdown, error) {
		mainc := make(chan time.Time, 1)
		m, err := vm.New(sys, vm.Config{Name: fmt.Sprintf("d%d", dom), DomID: dom, MemBytes: 16 << 20, VCPUs: 1,
			Kernel: img, Cmdline: "idle", Hub: hub, Store: store,
			OnReport: func(r vm.Report) {
				if r.Kind == vm.ReportMark && r.Msg == "main" {
					select {
					case mainc <- r.Time:
					default:
					}
				}
			}})
		dom++
		if err != nil {
			return 0, vm.CreateBreakdown{}, err
		}
		f := fleetVM{m: m, done: make(chan struct{})}
		if !runIt {
			close(f.done)
			fleet = append(fleet, f)
			return 0, m.Breakdown(), nil
		}
		go func() { defer close(f.done); m.Run(context.Background()) }()
		select {
		case t := <-mainc:
			fleet = append(fleet, f)
			return t.Sub(m.Created()), m.Breakdown(), nil
		case <-time.After(60 * time.Second):
			return 0, vm.CreateBreakdown{}, fmt.Errorf("VM %d did not reach main", dom-1)
		}
	}
	for _, s := range strings.Split(sizeList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		for len(fleet) < n {
			if fleetMode == "threads" {
				if err := startIdleThread(); err != nil {
					return err
				}
				fleet = append(fleet, fleetVM{done: make(chan struct{})})
				continue
			}
			if _, _, err := boot1(fleetMode != "norun"); err != nil {
				return err
			}
		}
		time.Sleep(time.Second)
		if os.Getenv("CREATELAT_DUMPMAPS") != "" {
			b, _ := os.ReadFile("/proc/self/maps")
			os.WriteFile(fmt.Sprintf("/tmp/maps-%d.txt", len(fleet)), b, 0o644)
		}
		fmt.Printf("== %d VMs running; maps %d, threads %s\n", len(fleet), countLines("/proc/self/maps"), status("Threads"))
		if err := measure(sys, img, trials); err != nil {
			return err
		}
		if full {
			var tot, mm, ld, kv, vc, pv, bt []float64
			for i := 0; i < trials; i++ {
				d, b, err := boot1(true)
				if err != nil {
					return err
				}
				tot = append(tot, ms(d))
				mm = append(mm, ms(b.Memory))
				ld = append(ld, ms(b.Load))
				kv = append(kv, ms(b.KVMVM))
				vc = append(vc, ms(b.VCPUs))
				pv = append(pv, ms(b.PV))
				bt = append(bt, ms(d-b.Memory-b.Load-b.KVMVM-b.VCPUs-b.PV))
			}
			report("vm.New..main", tot)
			report("  Memory", mm)
			report("  Load", ld)
			report("  KVMVM", kv)
			report("  VCPUs", vc)
			report("  PV", pv)
			report("  run..main", bt)
		}
	}
	for end := time.Now().Add(loopFor); time.Now().Before(end); {
		if err := measure(sys, img, trials); err != nil {
			return err
		}
	}
	for _, f := range fleet {
		if f.m != nil {
			f.m.Stop()
		}
	}
	for _, f := range fleet {
		if f.m != nil {
			<-f.done
			f.m.Close()
		}
	}
	vm.WaitClosed()
	return nil
}

// measure times each step of a VM's kernel-side creation, trials times.
func measure(sys *kvm.System, img []byte, trials int) error {
	names := []string{"mem.New", "boot.Load", "CREATE_VM", "SET_TSS_ADDR", "SET_USER_MEMORY_REGION", "CREATE_IRQCHIP", "ENABLE_CAP", "CREATE_VCPU+mmap", "SET_CPUID2", "close(bg)"}
	samples := make([][]float64, len(names))
	supported, err := sys.SupportedCPUID()
	if err != nil {
		return err
	}
	var gc0 runtime.MemStats
	runtime.ReadMemStats(&gc0)
	var closers []func()
	for i := 0; i < trials; i++ {
		step := 0
		t := time.Now()
		lap := func() {
			now := time.Now()
			samples[step] = append(samples[step], ms(now.Sub(t)))
			step++
			t = now
		}
		m, err := mem.New(16<<20, mem.Options{})
		if err != nil {
			return err
		}
		lap()
		if _, err := boot.Load(m.Bytes(), img, boot.Options{Cmdline: "idle", FreshRAM: true}); err != nil {
			return err
		}
		lap()
		k, err := sys.CreateVM()
		if err != nil {
			return err
		}
		lap()
		if err := k.SetTSSAddr(0xfffbd000); err != nil {
			return err
		}
		lap()
		if err := k.SetUserMemoryRegion(kvm.MemoryRegion{Memory: m.Bytes()}); err != nil {
			return err
		}
		lap()
		if err := k.CreateIRQChip(); err != nil {
			return err
		}
		lap()
		if err := k.EnableCap(kvm.CapX86UserSpaceMSR, kvm.MSRExitInval|kvm.MSRExitUnknown|kvm.MSRExitFilter); err != nil {
			return err
		}
		lap()
		c, err := k.CreateVCPU(0)
		if err != nil {
			return err
		}
		lap()
		if err := c.SetCPUID(supported); err != nil {
			return err
		}
		lap()
		c.Close()
		closers = append(closers, func() { k.Close(); m.Close() })
		lap()
	}
	var gc1 runtime.MemStats
	runtime.ReadMemStats(&gc1)
	for i, n := range names {
		report(n, samples[i])
	}
	fmt.Printf("  GC during trials: %d cycles, pause total %.3f ms, heap %d MiB\n", gc1.NumGC-gc0.NumGC, float64(gc1.PauseTotalNs-gc0.PauseTotalNs)/1e6, gc1.HeapAlloc>>20)
	t := time.Now()
	for _, f := range closers {
		f()
	}
	fmt.Printf("  closing %d KVM VMs: %.1f ms each\n", len(closers), ms(time.Since(t))/float64(len(closers)))
	return nil
}

// inflateVMAs maps n one-page regions, alternately readable and
// read-write so that neighbours never merge, and touches the writable ones.
func inflateVMAs(n int) error {
	for i := 0; i < n; i++ {
		prot := syscall.PROT_READ
		if i%2 == 0 {
			prot |= syscall.PROT_WRITE
		}
		b, err := syscall.Mmap(-1, 0, 4096, prot, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
		if err != nil {
			return fmt.Errorf("map region %d: %w", i, err)
		}
		if i%2 == 0 {
			b[0] = 1
		}
	}
	return nil
}

// startIdleThread starts a goroutine locked to its own OS thread that
// blocks in read(2) on a pipe forever.
func startIdleThread() error {
	var p [2]int
	if err := syscall.Pipe(p[:]); err != nil {
		return fmt.Errorf("pipe: %w", err)
	}
	go func() {
		runtime.LockOSThread()
		var b [1]byte
		syscall.Read(p[0], b[:])
	}()
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func report(name string, xs []float64) {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	p := func(q float64) float64 { return s[min(len(s)-1, int(q*float64(len(s))))] }
	fmt.Printf("  %-24s p50 %7.3f  p90 %7.3f  p99 %7.3f  max %7.3f ms\n", name, p(0.5), p(0.9), p(0.99), s[len(s)-1])
}

func countLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	return strings.Count(string(b), "\n")
}

func status(key string) string {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, key+":") {
			return strings.TrimSpace(l[len(key)+1:])
		}
	}
	return "?"
}
