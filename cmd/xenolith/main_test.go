package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/internal/require"
)

// runCLI runs the command line in-process and returns status, stdout, stderr.
func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	st := run(args, &out, &errb)
	return st, out.String(), errb.String()
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadInput(t *testing.T) {
	notELF := writeFile(t, "notelf", []byte("#!/bin/sh\necho hi\n"))
	empty := writeFile(t, "empty.elf", nil)
	truncated := writeFile(t, "trunc.elf", []byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0})
	oddDisk := writeFile(t, "odd.img", make([]byte, 1000))
	cases := []struct {
		name string
		args []string
		want string // substring of the one-line error
	}{
		{"no command", nil, ""},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"unknown flag", []string{"run", "--bogus", "x.elf"}, "unknown flag: --bogus"},
		{"no kernel", []string{"run"}, "expected one KERNEL.elf"},
		{"missing file", []string{"run", "/nonexistent/kernel.elf"}, "no such file"},
		{"not an ELF", []string{"run", notELF}, "not an ELF file"},
		{"empty file", []string{"run", empty}, "not an ELF file"},
		{"truncated ELF", []string{"run", truncated}, "ELF"},
		{"zero memory", []string{"run", "--mem", "0", notELF}, "larger than zero"},
		{"bad memory", []string{"run", "--mem", "lots", notELF}, "invalid size"},
		{"unaligned memory", []string{"run", "--mem", "4097", notELF}, "multiple of 4 KiB"},
		{"zero vcpus", []string{"run", "--vcpus", "0", notELF}, "out of range"},
		{"too many vcpus", []string{"run", "--vcpus", "1000", notELF}, "out of range"},
		{"missing disk", []string{"run", "--disk", "/nonexistent/disk.img", notELF}, "no such file"},
		{"disk not whole sectors", []string{"run", "--disk", oddDisk, notELF}, "not a multiple of 512"},
		{"disk bad option", []string{"run", "--disk", oddDisk + ",fast", notELF}, "unknown option"},
		{"bench unknown suite", []string{"bench", "nosuch"}, "unknown suite"},
		{"bench bad runs", []string{"bench", "hypercall", "--runs", "0"}, "--runs"},
		{"probe extra arg", []string{"probe", "x"}, "unexpected argument"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, _, stderr := runCLI(c.args...)
			if st != 2 {
				t.Errorf("exit status %d, want 2 (stderr %q)", st, stderr)
			}
			if c.want == "" {
				return
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "xenolith: ") {
				t.Errorf("stderr is not one 'xenolith: ...' line: %q", stderr)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr %q lacks %q", stderr, c.want)
			}
			if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
				t.Errorf("stderr shows a Go panic: %q", stderr)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"run", "--help"}, {"probe", "--help"}, {"bench", "--help"}, {"bench", "hypercall", "--help"}} {
		st, stdout, _ := runCLI(args...)
		if st != 0 || !strings.Contains(stdout, "Usage") {
			t.Errorf("%v: status %d, stdout %q", args, st, stdout)
		}
	}
}

func guestFile(t *testing.T, prog string) string {
	img, err := guestkit.Program(prog)
	if err != nil {
		require.File(t, "../../guestkit/build/"+prog+".elf", "run make -C guestkit")
		t.Fatal(err)
	}
	return writeFile(t, prog+".elf", img)
}

func TestRunHello(t *testing.T) {
	require.KVM(t)
	st, stdout, stderr := runCLI("run", "--mem", "16M", guestFile(t, "hello"))
	if st != 0 {
		t.Fatalf("exit status %d, stderr %q", st, stderr)
	}
	if !strings.Contains(stdout, "hello from guestkit") {
		t.Errorf("stdout %q lacks the greeting", stdout)
	}
	if stderr != "" {
		t.Errorf("unexpected stderr %q", stderr)
	}
}

func TestRunShutdownStatus(t *testing.T) {
	require.KVM(t)
	img := guestFile(t, "shutdown")
	for _, c := range []struct {
		arg    string
		status int
		stderr string
	}{
		{"poweroff", 0, ""},
		{"crash", 67, "guest crash"},
		{"reboot", 65, "guest reboot"},
		{"triplefault", 70, "triple fault"},
	} {
		st, _, stderr := runCLI("run", "--cmdline", c.arg, img)
		if st != c.status {
			t.Errorf("%s: exit status %d, want %d (stderr %q)", c.arg, st, c.status, stderr)
		}
		if c.stderr != "" && !strings.Contains(stderr, c.stderr) {
			t.Errorf("%s: stderr %q lacks %q", c.arg, stderr, c.stderr)
		}
	}
}

func TestXenstoreCLI(t *testing.T) {
	require.KVM(t)
	sock := filepath.Join(t.TempDir(), "xs.sock")
	img := guestFile(t, "spin")
	cmd := exec.Command(os.Args[0], "run", "--xenstore-socket", sock, "--cmdline", "spin 1000000000000", img)
	cmd.Env = append(os.Environ(), "XENOLITH_TEST_MAIN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGINT); cmd.Wait() }()
	for i := 0; i < 200; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st, _, stderr := runCLI("xenstore", "--socket", sock, "write", "/local/domain/1/data/x", "42"); st != 0 {
		t.Fatalf("write: status %d, %s", st, stderr)
	}
	st, stdout, stderr := runCLI("xenstore", "--socket", sock, "read", "/local/domain/1/data/x")
	if st != 0 || stdout != "42\n" {
		t.Fatalf("read: status %d, stdout %q, stderr %q", st, stdout, stderr)
	}
	st, stdout, _ = runCLI("xenstore", "--socket", sock, "ls", "/local/domain/1")
	if st != 0 || !strings.Contains(stdout, `x = "42"`) {
		t.Errorf("ls: status %d, stdout %q", st, stdout)
	}
	if st, _, stderr := runCLI("xenstore", "--socket", sock, "read", "/nonexistent"); st != 1 || !strings.Contains(stderr, "ENOENT") {
		t.Errorf("read missing: status %d, stderr %q", st, stderr)
	}
	if st, _, _ := runCLI("xenstore", "--socket", sock, "frob"); st != 2 {
		t.Errorf("unknown command: status %d, want 2", st)
	}
}
