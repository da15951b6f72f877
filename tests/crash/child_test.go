package crash

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/internal/devices"
)

// The test binary doubles as the monitor that TestKillDuringStream kills:
// with childEnv set, TestMain runs one blkstream VM instead of the tests.
const (
	childEnv    = "XENOLITH_CRASH_CHILD"  // "1" selects the monitor mode
	childImage  = "XENOLITH_CRASH_IMAGE"  // disk image path
	childDirect = "XENOLITH_CRASH_DIRECT" // "1" opens the image with O_DIRECT
	childArgs   = "XENOLITH_CRASH_ARGS"   // blkstream's command line
)

var (
	trialsFlag = flag.Int("crash.trials", 0, "kill trials per mode in TestKillDuringStream (0: $XENOLITH_CRASH_TRIALS or the CI default)")
	seedFlag   = flag.Uint64("crash.seed", 0, "seed of the trial randomness (0: from the clock; logged)")
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(childMain())
	}
	os.Exit(m.Run())
}

// childMain runs blkstream with the image attached and prints one line per
// event on stdout, written as it happens (os.Stdout is unbuffered):
//
//	count N     the stream has N records
//	flushed N   records 0..N-1 are durable (a flush completed)
//	fail MSG    a guest fail or abort report
//	end RESULT  the VM ended
//
// A "flushed" line is written only after the guest saw the flush's OKAY,
// which it sees only after the backend's fdatasync returned.
func childMain() int {
	say := func(format string, a ...any) { fmt.Fprintf(os.Stdout, format+"\n", a...) }
	sys, err := kvmSystem()
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 1
	}
	spec := devices.DiskSpec{Path: os.Getenv(childImage), Direct: os.Getenv(childDirect) == "1"}
	out, err := runStream(sys, os.Getenv(childArgs), 5*time.Minute, func(m *vm.VM) (func() error, error) {
		f, err := devices.OpenDisk(spec)
		if err != nil {
			return nil, err
		}
		disk, err := devices.AttachDisk(m, 0, f, nil)
		if err != nil {
			f.Close()
			return nil, err
		}
		return disk.Close, nil
	}, func(r vm.Report) {
		switch {
		case r.Kind == vm.ReportMetric && r.Msg == "flushed":
			say("flushed %d", r.Value)
		case r.Kind == vm.ReportMetric && r.Msg == "stream_count":
			say("count %d", r.Value)
		case r.Kind == vm.ReportFail || r.Kind == vm.ReportAbort:
			say("fail %s:%d: %s", r.File, r.Line, strconv.Quote(r.Msg))
		}
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 1
	}
	say("end %s", out.result)
	fmt.Fprint(os.Stderr, out.console)
	return 0
}
