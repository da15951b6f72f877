package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xenolith/xenolith/internal/require"
)

// TestMain lets tests run the CLI as a child process (this test binary
// re-executed with XENOLITH_TEST_MAIN=1), to deliver real signals to it.
func TestMain(m *testing.M) {
	if os.Getenv("XENOLITH_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestCtrlCStopsVM(t *testing.T) {
	require.KVM(t)
	img := guestFile(t, "spin")
	cmd := exec.Command(os.Args[0], "run", "--cmdline", "spin 1000000000000", img)
	cmd.Env = append(os.Environ(), "XENOLITH_TEST_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Fatalf("exit: %v, want status 130 (stderr %q)", err, stderr.String())
		}
		if !strings.Contains(stderr.String(), "stopped") {
			t.Errorf("stderr %q does not say the VM was stopped", stderr.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("xenolith run did not stop on SIGINT")
	}
}

func TestProbe(t *testing.T) {
	require.KVM(t)
	st, stdout, stderr := runCLI("probe", "--iterations", "1000000")
	if st != 0 {
		t.Fatalf("status %d, stderr %q", st, stderr)
	}
	for _, want := range []string{"KVM_CAP_IOEVENTFD", "CPL0 (guest kernel)", "CPL3 (guest user)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("probe output lacks %q:\n%s", want, stdout)
		}
	}
}
