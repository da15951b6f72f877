package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree creates files (slash-separated path -> contents) under a new
// temporary directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestCheck(t *testing.T) {
	files := map[string]string{
		"go.mod": "module example.com/m\n\ngo 1.26\n",
		// Clean files.
		"hv/kvm/ioctl_unsafe.go": `package kvm
import ("unsafe"; "golang.org/x/sys/unix")
const KVM_RUN = 0xae80
func run(fd int, p unsafe.Pointer) { unix.Syscall(unix.SYS_IOCTL, uintptr(fd), KVM_RUN, uintptr(p)) }
`,
		"hv/kvm/vm_test.go": `package kvm
import "golang.org/x/sys/unix"
func f(fd int) { unix.IoctlSetInt(fd, KVM_RUN, 0) }
`,
		"hv/mem/mmap_unsafe.go": "package mem\nimport \"unsafe\"\nvar _ unsafe.Pointer\n",
		"hv/mem/mem.go": `package mem
import "golang.org/x/sys/unix"
func f(fd int) { unix.Syscall(unix.SYS_MMAP, 0, 0, 0); unix.Close(fd) }
`,
		"pvdrivers/ring/ring.go": "package ring\nimport _ \"example.com/m/hv/mem\"\nimport _ \"example.com/m/hv/vmx\"\n",
		"cmd/x/main.go":          "package main\nimport _ \"example.com/m/hv/vm\"\nfunc main() {}\n",
		"pvdrivers/tap/tap.go":   "package tap\nimport \"golang.org/x/sys/unix\"\nfunc f(fd int) { unix.IoctlIfreq(fd, 0, nil) }\n",
		// Violations.
		"hv/vm/run.go": `package vm
import (
	"unsafe"
	sys "golang.org/x/sys/unix"
)
var _ unsafe.Pointer
func f(fd int) {
	sys.IoctlSetInt(fd, 1, 2)
	sys.Syscall(sys.SYS_IOCTL, 0, 0, 0)
}
`,
		"hv/vm/raw_test.go": `package vm
import "syscall"
func g() { syscall.Syscall(16, 0, 0, 0); syscall.RawSyscall6(syscall.SYS_IOCTL, 0, 0, 0, 0, 0, 0) }
`,
		"hv/xen/consts.go":        "package xen\nconst KVM_EXIT_IO = 2\n",
		"hv/xen/dot.go":           "package xen\nimport . \"golang.org/x/sys/unix\"\nfunc h() { IoctlGetInt(0, 0) }\n",
		"hv/xen/unsafe_helper.go": "package xen\nimport \"unsafe\"\nvar _ = unsafe.Sizeof(0)\n",
		"pvdrivers/tap/kvm.go":    "package tap\nconst KVM_RUN = 1\n",
		"pvdrivers/blk/blk.go":    "package blk\nimport (\n\t_ \"example.com/m/hv/vm\"\n\t_ \"example.com/m/hv/kvm/x\"\n)\n",
		// Skipped directories.
		"hv/boot/testdata/bad.go": "package bad\nimport \"unsafe\"\n",
		"vendor/x/y.go":           "package y\nimport \"unsafe\"\n",
		".hidden/z.go":            "package z\nimport \"unsafe\"\n",
		"nested/go.mod":           "module other\n",
		"nested/n.go":             "package n\nimport \"unsafe\"\n",
	}
	root := writeTree(t, files)
	vs, err := Check(root)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	want := []string{
		`hv/vm/raw_test.go:3:12: raw system call 16 is ioctl: only hv/kvm may issue ioctls`,
		`hv/vm/raw_test.go:3:62: uses syscall.SYS_IOCTL: only hv/kvm may issue ioctls`,
		`hv/vm/run.go:3:2: imports "unsafe": only files named *_unsafe.go may`,
		`hv/vm/run.go:8:2: calls sys.IoctlSetInt: only hv/kvm may issue ioctls`,
		`hv/vm/run.go:9:14: uses sys.SYS_IOCTL: only hv/kvm may issue ioctls`,
		`hv/xen/consts.go:2:7: identifier KVM_EXIT_IO: only hv/kvm may deal in KVM ioctls`,
		`hv/xen/dot.go:3:12: calls IoctlGetInt: only hv/kvm may issue ioctls`,
		`hv/xen/unsafe_helper.go:2:8: imports "unsafe": only files named *_unsafe.go may`,
		`pvdrivers/blk/blk.go:3:2: pvdrivers must not import example.com/m/hv/vm`,
		`pvdrivers/blk/blk.go:4:2: pvdrivers must not import example.com/m/hv/kvm/x`,
		`pvdrivers/tap/kvm.go:2:7: identifier KVM_RUN: only hv/kvm may deal in KVM ioctls`,
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Check found:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCheckErrors(t *testing.T) {
	if _, err := Check(t.TempDir()); err == nil {
		t.Error("Check without go.mod succeeded")
	}
	root := writeTree(t, map[string]string{"go.mod": "module m\n", "a/a.go": "package a\nfunc {\n"})
	if _, err := Check(root); err == nil || !strings.Contains(err.Error(), "parse") {
		t.Errorf("Check with a syntax error = %v, want a parse error", err)
	}
}

// TestRepository runs the check on this repository, as CI does with
// `go run ./tools/archcheck`.
func TestRepository(t *testing.T) {
	vs, err := Check("../..")
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	for _, v := range vs {
		t.Error(v)
	}
}
