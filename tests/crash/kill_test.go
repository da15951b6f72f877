package crash

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/internal/require"
)

// ciTrials is the default number of kill trials per mode: enough to cover
// the parameter space in seconds (-race included), leaving long runs to -crash.trials.
const ciTrials = 6

// imageBytes is the size of each trial's (sparse) image.
const imageBytes = 32 << 20

// trial is one kill-9 experiment.
type trial struct {
	direct bool   // O_DIRECT image
	bs     uint64 // sectors per record
	k      uint64 // writes between flushes
	depth  uint64 // writes in flight
	drain  bool   // flush only after the writes it covers completed
	seed   uint64 // blkstream seed
	// persistent offers feature-persistent (xen_blkfront.feature_persistent=1):
	// the backend keeps the data grants and, on io_uring, writes from them
	// as registered buffers.
	persistent bool
	// The monitor is killed after it reported killAfter flushes, then
	// sleep more; with killAfter < 0, sleep after it started instead.
	killAfter int
	sleep     time.Duration
}

func (p trial) args() string {
	order := "pipe"
	if p.drain {
		order = "drain"
	}
	a := fmt.Sprintf("bs=%d k=%d depth=%d order=%s seed=%d", p.bs, p.k, p.depth, order, p.seed)
	if p.persistent {
		a += " xen_blkfront.feature_persistent=1"
	}
	return a
}

func (p trial) String() string {
	kill := fmt.Sprintf("after %d flushes + %s", p.killAfter, p.sleep)
	if p.killAfter < 0 {
		kill = fmt.Sprintf("%s after start", p.sleep)
	}
	return fmt.Sprintf("direct=%v %s, kill %s", p.direct, p.args(), kill)
}

// randomTrial draws a trial's parameters.
func randomTrial(r *rand.Rand, direct bool) trial {
	pick := func(v ...uint64) uint64 { return v[r.IntN(len(v))] }
	p := trial{
		direct: direct,
		bs:     pick(1, 8, 8, 24, 128),
		k:      pick(1, 4, 16, 64),
		depth:  pick(1, 8, 32, 32),
		drain:  r.IntN(4) == 0,
		seed:   r.Uint64()>>1 | 1,
		sleep:  time.Duration(r.Int64N(int64(3 * time.Millisecond))),
	}
	p.persistent = r.IntN(2) == 0
	if r.IntN(4) == 0 {
		// Anywhere from VM creation (before any flush) into the stream.
		p.killAfter = -1
		p.sleep = time.Duration(r.Int64N(int64(400 * time.Millisecond)))
	} else {
		p.killAfter = 1 + r.IntN(60)
	}
	return p
}

// outcome is what one trial found.
type outcome struct {
	census  *Census
	flushed uint64 // the last "flushed" the monitor reported
	ended   bool   // the stream finished before the kill
	took    time.Duration
}

// runTrial starts the monitor on a fresh image, kills it with SIGKILL at
// the trial's point and checks the image.
func runTrial(t *testing.T, dir string, p trial) (*outcome, error) {
	img := filepath.Join(dir, "stream.img")
	os.Remove(img)
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		return nil, err
	}
	if err := os.Truncate(img, imageBytes); err != nil {
		return nil, err
	}
	defer os.Remove(img)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	direct := "0"
	if p.direct {
		direct = "1"
	}
	cmd.Env = append(os.Environ(), childEnv+"=1", childImage+"="+img, childDirect+"="+direct, childArgs+"="+p.args())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	lines := make(chan string, 256)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()

	o := &outcome{}
	var (
		count, flushes uint64
		fails          []string
	)
	handle := func(line string) {
		f := strings.Fields(line)
		if len(f) < 2 {
			return
		}
		switch f[0] {
		case "count":
			count, _ = strconv.ParseUint(f[1], 10, 64)
		case "flushed":
			v, err := strconv.ParseUint(f[1], 10, 64)
			if err == nil && v > o.flushed {
				o.flushed = v
			}
			flushes++
		case "end":
			o.ended = true
		case "fail":
			fails = append(fails, line)
		}
	}
	var timer <-chan time.Time
	if p.killAfter < 0 {
		timer = time.After(p.sleep)
	}
	deadline := time.After(2 * time.Minute)
wait:
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				break wait // the monitor ended by itself
			}
			handle(line)
			if timer == nil && p.killAfter >= 0 && flushes >= uint64(p.killAfter) {
				timer = time.After(p.sleep)
			}
		case <-timer:
			break wait
		case <-deadline:
			cmd.Process.Kill()
			cmd.Wait()
			return nil, fmt.Errorf("monitor never reached the kill point; stderr:\n%s", stderr.String())
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	// Reports written before the kill are still in the pipe: read them all.
	for line := range lines {
		handle(line)
	}
	err = cmd.Wait()
	o.took = time.Since(start)
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !o.ended && !(ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL) {
		return nil, fmt.Errorf("monitor ended with %v before the kill; stderr:\n%s", err, stderr.String())
	}
	if len(fails) > 0 {
		return nil, fmt.Errorf("guest reported failures: %s", strings.Join(fails, "; "))
	}
	if count == 0 {
		count = imageBytes / SectorSize / p.bs
	}
	data, err := os.ReadFile(img)
	if err != nil {
		return nil, err
	}
	o.census, err = Check(bytes.NewReader(data), Layout{Seed: p.seed, BS: p.bs, Count: count}, o.flushed, nil)
	return o, err
}

// trialCount returns the number of trials per mode: -crash.trials, else
// $XENOLITH_CRASH_TRIALS, else ciTrials.
func trialCount(t *testing.T) int {
	if *trialsFlag > 0 {
		return *trialsFlag
	}
	if s := os.Getenv("XENOLITH_CRASH_TRIALS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("XENOLITH_CRASH_TRIALS=%q: want a positive number", s)
		}
		return n
	}
	if testing.Short() {
		return 3
	}
	return ciTrials
}

// TestKillDuringStream kills the monitor with SIGKILL at random points of
// blkstream write/flush streams and checks that every record whose flush
// completed is intact in the image, and that no record is corrupt.
func TestKillDuringStream(t *testing.T) {
	require.KVM(t)
	if _, err := guestkit.Program("blkstream"); err != nil {
		require.File(t, "../../guestkit/build/blkstream.elf", "run make -C guestkit")
	}
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("trial seed %d (rerun with -crash.seed=%d)", seed, seed)
	n := trialCount(t)
	for _, direct := range []bool{false, true} {
		name := "buffered"
		if direct {
			name = "direct"
		}
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, uint64(len(name))))
			dir := t.TempDir()
			var flushed, lost, corrupt, beyond, torn, ended, early uint64
			for i := range n {
				p := randomTrial(r, direct)
				o, err := runTrial(t, dir, p)
				if err != nil {
					t.Fatalf("trial %d (%s): %v", i, p, err)
				}
				c := o.census
				if testing.Verbose() {
					t.Logf("trial %d (%s): %s, ended %v, took %s", i, p, c, o.ended, o.took.Round(time.Millisecond))
				}
				if c.NumLost > 0 || c.NumCorrupt > 0 {
					t.Errorf("trial %d (%s): %s; lost %v, corrupt %v", i, p, c, c.Lost, c.Corrupt)
				}
				flushed += c.Flushed
				lost += c.NumLost
				corrupt += c.NumCorrupt
				beyond += c.Beyond[Intact]
				torn += c.Beyond[Torn]
				if o.ended {
					ended++
				}
				if c.Flushed == 0 {
					early++
				}
			}
			t.Logf("%s: %d trials, %d flushed records checked, %d lost, %d corrupt; "+
				"beyond the last flush %d intact and %d torn records; %d killed before the first flush, %d ran to the end",
				name, n, flushed, lost, corrupt, beyond, torn, early, ended)
		})
	}
}
