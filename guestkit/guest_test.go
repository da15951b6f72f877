package guestkit

import (
	"fmt"
	"strings"
	"testing"

	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/internal/require"
)

// boot runs a program under KVM and turns guest fail/abort reports into
// test errors carrying the guest's file:line.
func boot(t *testing.T, o RunOptions) *Outcome {
	t.Helper()
	require.KVM(t)
	if _, err := Program(o.Program); err != nil {
		require.File(t, "build/"+o.Program+".elf", "run make -C guestkit")
	}
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	out, err := Run(sys, o)
	if err != nil {
		t.Fatalf("run %s: %v", o.Program, err)
	}
	for _, r := range out.Failures() {
		t.Errorf("guest %s %s at %s:%d (vCPU %d): %s", o.Program, r.Kind, r.File, r.Line, r.VCPU, r.Msg)
	}
	if t.Failed() {
		t.Logf("console:\n%s", out.Console)
	}
	return out
}

func TestHello(t *testing.T) {
	out := boot(t, RunOptions{Program: "hello"})
	if out.Result.Reason != vm.ReasonPoweroff {
		t.Errorf("result %s, want poweroff\nconsole:\n%s", out.Result, out.Console)
	}
	if !strings.Contains(out.Console, "hello from guestkit: Xen 4.19") {
		t.Errorf("console lacks the greeting:\n%s", out.Console)
	}
	if out.Main.IsZero() {
		t.Errorf("guest never reported reaching main")
	}
}

func TestHypercallConformance(t *testing.T) {
	out := boot(t, RunOptions{Program: "hypercalls"})
	if out.Result.Reason != vm.ReasonPoweroff {
		t.Errorf("result %s, want poweroff\nconsole:\n%s", out.Result, out.Console)
	}
	passes := 0
	for _, r := range out.Reports {
		if r.Kind == vm.ReportPass {
			passes++
		}
	}
	if passes < 20 {
		t.Errorf("only %d passing checks reported; console:\n%s", passes, out.Console)
	}
}

func TestSMP(t *testing.T) {
	for _, n := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("vcpus=%d", n), func(t *testing.T) {
			out := boot(t, RunOptions{Program: "smp", VCPUs: n})
			if out.Result.Reason != vm.ReasonPoweroff {
				t.Fatalf("result %s, want poweroff\nconsole:\n%s", out.Result, out.Console)
			}
			for i := 0; i < n; i++ {
				if !strings.Contains(out.Console, fmt.Sprintf("vcpu %d up", i)) {
					t.Errorf("vCPU %d never reported in:\n%s", i, out.Console)
				}
			}
			if want := fmt.Sprintf("smp: %d vcpus ok", n); !strings.Contains(out.Console, want) {
				t.Errorf("console lacks %q:\n%s", want, out.Console)
			}
		})
	}
}

func TestShutdownReasons(t *testing.T) {
	cases := []struct {
		arg    string
		reason vm.Reason
		code   int // -1: none
		status int
	}{
		{"poweroff", vm.ReasonPoweroff, -1, 0},
		{"reboot", vm.ReasonReboot, -1, 65},
		{"suspend", vm.ReasonSuspend, -1, 66},
		{"crash", vm.ReasonCrash, -1, 67},
		{"watchdog", vm.ReasonWatchdog, -1, 68},
		{"soft_reset", vm.ReasonSoftReset, -1, 69},
		// SCHEDOP_shutdown_code latches a reason that overrides the later
		// SCHEDOP_shutdown's (xen/common/domain.c, domain_shutdown).
		{"poweroff code=3", vm.ReasonCrash, 3, 67},
		{"crash code=1", vm.ReasonReboot, 1, 65},
		{"triplefault", vm.ReasonDestroyed, -1, 70},
		// Every vCPU in HLT with interrupts off is a poweroff in Xen.
		{"halt", vm.ReasonPoweroff, -1, 0},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.arg, " ", "_"), func(t *testing.T) {
			out := boot(t, RunOptions{Program: "shutdown", Cmdline: c.arg})
			r := out.Result
			if r.Reason != c.reason {
				t.Fatalf("reason %s, want %s\nconsole:\n%s", r.Reason, c.reason, out.Console)
			}
			if c.code >= 0 && (!r.HasCode || int(r.Code) != c.code) {
				t.Errorf("shutdown code %d (set %v), want %d", r.Code, r.HasCode, c.code)
			}
			if r.ExitStatus() != c.status {
				t.Errorf("exit status %d, want %d", r.ExitStatus(), c.status)
			}
			if c.reason == vm.ReasonDestroyed && !strings.Contains(r.Detail, "triple fault") {
				t.Errorf("detail %q does not name the triple fault", r.Detail)
			}
		})
	}
}

func TestSpinRunsNatively(t *testing.T) {
	const iters = 50_000_000
	out := boot(t, RunOptions{Program: "spin", Cmdline: fmt.Sprint(iters)})
	if out.Result.Reason != vm.ReasonPoweroff {
		t.Fatalf("result %s\nconsole:\n%s", out.Result, out.Console)
	}
	n, ok1 := out.Metric("spin_iters")
	cycles, ok2 := out.Metric("spin_cycles")
	if !ok1 || !ok2 || n != iters {
		t.Fatalf("metrics spin_iters=%d (%v) spin_cycles=%d (%v)", n, ok1, cycles, ok2)
	}
	// Emulated code runs at about a microsecond per instruction; natively a
	// loop iteration takes a few cycles. Anything under 100 cycles per
	// iteration is native execution.
	if per := float64(cycles) / float64(n); per > 100 {
		t.Errorf("%.1f cycles per iteration: CPL3 code does not run natively", per)
	}
}

func TestHypercallBenchProgram(t *testing.T) {
	out := boot(t, RunOptions{Program: "hcbench", Cmdline: "200"})
	if out.Result.Reason != vm.ReasonPoweroff {
		t.Fatalf("result %s\nconsole:\n%s", out.Result, out.Console)
	}
	for _, s := range []string{"cpl3_raw", "cpl3_hcall", "cpl0_raw", "cpl0_hcall"} {
		if len(out.Series(s)) == 0 {
			t.Errorf("series %s missing", s)
		}
	}
	if c := out.Reports; len(c) == 0 {
		t.Errorf("no reports")
	}
}
