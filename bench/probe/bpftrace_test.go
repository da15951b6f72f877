package probe

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xenolith/xenolith/hv/kvm"
)

// bpftraceScript counts, per thread of process pid, the same tracepoints
// the tracer reads. The BEGIN line tells the test the probes are attached.
const bpftraceScript = `BEGIN { printf("ready\n"); }
tracepoint:kvm:kvm_pio /pid == %[1]d/ { @pio[tid, args->port] = count(); }
tracepoint:kvm:kvm_userspace_exit /pid == %[1]d/ { @exit[tid, args->reason] = count(); }
tracepoint:kvm:kvm_msi_set_irq /pid == %[1]d/ { @msi[tid] = count(); }
`

var bpftraceLine = regexp.MustCompile(`^@(\w+)\[(\d+)(?:, (\d+))?\]: (\d+)$`)

// parseBpftrace reads "@map[tid, key]: n" lines into map -> tid -> key -> n.
func parseBpftrace(out []byte) map[string]map[int]map[uint64]uint64 {
	res := map[string]map[int]map[uint64]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := bpftraceLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		tid, _ := strconv.Atoi(m[2])
		key, _ := strconv.ParseUint(m[3], 10, 64) // empty for one-key maps: 0
		n, _ := strconv.ParseUint(m[4], 10, 64)
		if res[m[1]] == nil {
			res[m[1]] = map[int]map[uint64]uint64{}
		}
		if res[m[1]][tid] == nil {
			res[m[1]][tid] = map[uint64]uint64{}
		}
		res[m[1]][tid][key] += n
	}
	return res
}

func TestParseBpftrace(t *testing.T) {
	got := parseBpftrace([]byte("Attaching 4 probes...\nready\n\n@exit[12, 2]: 5\n@msi[12]: 3\n@pio[12, 192]: 7\n@pio[13, 192]: 1\nnoise\n"))
	if got["exit"][12][2] != 5 || got["msi"][12][0] != 3 || got["pio"][12][192] != 7 || got["pio"][13][192] != 1 {
		t.Fatalf("parse: %v", got)
	}
}

// TestAgreesWithBpftrace runs tracecount under both the tracer and an
// independent bpftrace script and compares the whole run's counts on the
// VM's vCPU threads.
func TestAgreesWithBpftrace(t *testing.T) {
	tr := openTracer(t, Options{})
	needGuest(t)
	path, err := exec.LookPath("bpftrace")
	if err != nil {
		t.Skip("skipping the bpftrace comparison: bpftrace is not installed (apt-get install bpftrace)")
	}
	cmd := exec.Command(path, "-e", fmt.Sprintf(bpftraceScript, os.Getpid()))
	var out lockedBuf
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(out.String(), "ready"); {
		if time.Now().After(deadline) {
			t.Fatalf("bpftrace did not attach: %s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	before, err := tr.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	r := &countRun{hc: 400, raw: 100, db: 250, up: 50}
	runCount(sys, tr, r, 1)
	if r.err != nil {
		t.Fatal(r.err)
	}
	after, err := tr.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGINT) // bpftrace prints its maps and exits
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("bpftrace did not exit on SIGINT: %s", out.String())
	}
	bt := parseBpftrace([]byte(out.String()))
	v := after.Sub(before).VMs[r.id]
	if v == nil {
		t.Fatal("no counters for the VM")
	}
	var pio = map[uint64]uint64{}
	var exits = map[uint64]uint64{}
	var msi uint64
	for tid := range r.out.tids {
		for port, n := range bt["pio"][tid] {
			pio[port] += n
		}
		for reason, n := range bt["exit"][tid] {
			exits[reason] += n
		}
		msi += bt["msi"][tid][0]
	}
	for _, port := range []uint64{0xc0, 0xc4, 0xc8, 0xcc} {
		ours := v.Port(PIOOut, port, true) + v.Port(PIOOut, port, false)
		if ours != pio[port] {
			t.Errorf("port %#x: tracer %d, bpftrace %d", port, ours, pio[port])
		}
	}
	for reason := range NumReasons - 1 {
		if got, want := v.Total.Exits[reason], exits[uint64(reason)]; got != want {
			t.Errorf("exits %s: tracer %d, bpftrace %d", ReasonName(reason), got, want)
		}
	}
	if v.Total.Injections != msi {
		t.Errorf("MSIs from the vCPU thread: tracer %d, bpftrace %d", v.Total.Injections, msi)
	}
	if pio[0xc0] < uint64(r.hc) {
		t.Errorf("bpftrace saw %d hypercalls, the guest made at least %d", pio[0xc0], r.hc)
	}
	if t.Failed() {
		t.Logf("bpftrace output:\n%s", out.String())
	}
}
