package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procFleet runs each VM of a density search in its own `xenolith bench
// vm-child` process: the comparison for the shared-runtime fleet.
type procFleet struct {
	exe     string
	prof    *Profile
	ksm     bool
	dir     string // blk probe: where the children make their images
	members []*child
	nextDom uint16
	boots   []bootSample
}

// child is one vm-child process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // the child's stdout, line by line; closed at its end
	last  childSample
	lastT time.Time
}

func newProcFleet(o DensityOptions) (*procFleet, error) {
	exe := o.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("process-per-vm: %w", err)
		}
	}
	f := &procFleet{exe: exe, prof: o.Profile, ksm: o.KSM, nextDom: 1}
	if o.Profile.Probe == "blk" {
		dir, err := os.MkdirTemp("", "xenolith-density-")
		if err != nil {
			return nil, fmt.Errorf("process-per-vm: %w", err)
		}
		f.dir = dir
	}
	return f, nil
}

func (f *procFleet) size() int             { return len(f.members) }
func (f *procFleet) bootLog() []bootSample { return f.boots }

// add starts one child and waits for its guest to reach main: the
// creation latency counts from fork/exec.
func (f *procFleet) add() error {
	prog, args := programOf(f.prof, len(f.members))
	sp := childSpec{Program: prog, Args: args, MemMiB: f.prof.MemMiB, VCPUs: f.prof.VCPUs, DomID: f.nextDom, Mergeable: f.ksm, ImageDir: f.dir}
	f.nextDom++
	if f.nextDom >= 0x7ff0 {
		f.nextDom = 1
	}
	spec, err := json.Marshal(sp)
	if err != nil {
		return err
	}
	cmd := exec.Command(f.exe, "bench", ChildCommand, string(spec))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	c := &child{cmd: cmd, stdin: stdin, lines: make(chan string, 4)}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("process-per-vm: %w", err)
	}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 64<<10)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	select {
	case l, ok := <-c.lines:
		if !ok || l != "main" {
			c.end()
			return fmt.Errorf("process-per-vm: VM %d ended before reaching main (%s)", sp.DomID, truncate(l, 80))
		}
		f.boots = append(f.boots, bootSample{Running: len(f.members), Boot: time.Since(t0)})
	case <-time.After(60 * time.Second):
		c.end()
		return fmt.Errorf("process-per-vm: VM %d did not reach main within 60 s", sp.DomID)
	}
	select {
	case l, ok := <-c.lines:
		if !ok || l != "ready" {
			c.end()
			return fmt.Errorf("process-per-vm: VM %d ended before its workload started (%s)", sp.DomID, truncate(l, 80))
		}
	case <-time.After(60 * time.Second):
		c.end()
		return fmt.Errorf("process-per-vm: VM %d did not start its workload within 60 s", sp.DomID)
	}
	f.members = append(f.members, c)
	return nil
}

// end closes the child's stdin (it stops its VM and exits) and reaps it,
// killing it after 30 s.
func (c *child) end() {
	c.stdin.Close()
	done := make(chan struct{})
	go func() {
		for range c.lines {
		}
		c.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

func (f *procFleet) remove(n int) {
	n = min(n, len(f.members))
	gone := f.members[len(f.members)-n:]
	f.members = f.members[:len(f.members)-n]
	for _, c := range gone {
		c.stdin.Close()
	}
	for _, c := range gone {
		c.end()
	}
}

func (f *procFleet) close() {
	f.remove(len(f.members))
	if f.dir != "" {
		os.RemoveAll(f.dir)
	}
}

// sampleAll asks every child for a sample; children that do not answer
// within 10 s are left out.
func (f *procFleet) sampleAll() {
	for _, c := range f.members {
		fmt.Fprintln(c.stdin, "sample")
	}
	deadline := time.After(10 * time.Second)
	for _, c := range f.members {
		select {
		case l, ok := <-c.lines:
			if !ok {
				continue
			}
			if s, err := parseChildSample(l); err == nil {
				c.last, c.lastT = s, time.Now()
			}
		case <-deadline:
			return
		}
	}
}

func (f *procFleet) exits() uint64 {
	f.sampleAll()
	var n uint64
	for _, c := range f.members {
		n += c.last.exits
	}
	return n
}

func (f *procFleet) probe(window time.Duration) probeSample {
	if f.prof.Probe != "rate" && f.prof.Probe != "blk" {
		time.Sleep(window)
		return probeSample{}
	}
	f.sampleAll()
	type mark struct {
		counter uint64
		t       time.Time
	}
	first := make([]mark, len(f.members))
	for i, c := range f.members {
		first[i] = mark{c.last.counter, c.lastT}
	}
	time.Sleep(window)
	f.sampleAll()
	var ps probeSample
	for i, c := range f.members {
		el := c.lastT.Sub(first[i].t).Seconds()
		if el <= 0 {
			continue
		}
		switch f.prof.Probe {
		case "rate":
			if c.last.counter != 0 && first[i].counter != 0 {
				ps.rates = append(ps.rates, float64(c.last.counter-first[i].counter)/el)
			}
		case "blk":
			ps.rates = append(ps.rates, float64(c.last.reads)/el)
			ps.lats = append(ps.lats, c.last.lats...)
		}
	}
	return ps
}

// sample is this process plus every child: memory, threads, files,
// mappings and CPU time summed.
func (f *procFleet) sample() HostSample {
	h := SampleHost()
	for _, c := range f.members {
		pid := c.cmd.Process.Pid
		dir := "/proc/" + strconv.Itoa(pid) + "/"
		if r := procKV(dir + "smaps_rollup"); r != nil {
			h.RSS += r["Rss"]
			h.PSS += r["Pss"]
		}
		if st := procKV(dir + "status"); st != nil {
			h.Threads += st["Threads"]
		}
		if ents, err := os.ReadDir(dir + "fd"); err == nil {
			h.FDs += uint64(len(ents))
		}
		if b, err := os.ReadFile(dir + "maps"); err == nil {
			h.Maps += uint64(strings.Count(string(b), "\n"))
		}
		h.CPU += procCPU(dir + "stat")
	}
	return h
}

// procCPU reads a process's user + system time from /proc/PID/stat.
func procCPU(path string) time.Duration {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	// The command name may hold spaces; fields count from after its ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clkTck
}
