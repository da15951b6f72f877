package record

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
)

func TestCPUModel(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nmodel name\t: other\n", "AMD EPYC 7B13"},
		{"processor\t: 0\nBogoMIPS\t: 50.00\nModel\t\t: Raspberry Pi 4\n", "Raspberry Pi 4"},
		{"garbage", ""},
	} {
		if got := cpuModel(strings.NewReader(c.in)); got != c.want {
			t.Errorf("cpuModel(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMemTotal(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
	}{
		{"MemTotal:        8046124 kB\nMemFree: 1 kB\n", 8046124 * 1024},
		{"MemFree: 1 kB\n", 0},
		{"MemTotal: lots kB\n", 0},
	} {
		if got := memTotal(strings.NewReader(c.in)); got != c.want {
			t.Errorf("memTotal(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestKVMBackend(t *testing.T) {
	dir := t.TempDir()
	if got := kvmBackend(dir); got != "none" {
		t.Errorf("empty: %q", got)
	}
	os.Mkdir(filepath.Join(dir, "kvm"), 0o755)
	if got := kvmBackend(dir); got != "kvm" {
		t.Errorf("core only: %q", got)
	}
	os.Mkdir(filepath.Join(dir, "kvm_pvm"), 0o755)
	if got := kvmBackend(dir); got != "kvm_pvm" {
		t.Errorf("pvm: %q", got)
	}
}

func TestCollectHost(t *testing.T) {
	h := CollectHost()
	if h.Cores < 1 || h.GoVersion == "" || h.OS == "" || h.Hostname == "" || h.Kernel == "" || h.KVMBackend == "" {
		t.Errorf("incomplete host facts: %+v", h)
	}
	if _, err := os.Stat("/proc/meminfo"); err == nil && h.MemBytes == 0 {
		t.Errorf("no memory size: %+v", h)
	}
}

func TestBuildVCS(t *testing.T) {
	rev, dirty, ok := buildVCS([]debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"}})
	if rev != "abc" || !dirty || !ok {
		t.Errorf("buildVCS = %q %v %v", rev, dirty, ok)
	}
	if _, _, ok := buildVCS(nil); ok {
		t.Error("no settings: ok")
	}
}

func TestGitCheckout(t *testing.T) {
	if _, err := os.Stat("../../.git"); err != nil {
		t.Skip("not inside a git checkout of the project")
	}
	if out, err := exec.Command("git", "-C", "../..", "rev-parse", "HEAD").CombinedOutput(); err != nil {
		t.Skipf("git cannot read the checkout: %v: %s", err, out)
	}
	rev, _, ok := gitCheckout(".")
	if !ok || !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(rev) {
		t.Errorf("gitCheckout(.) = %q, %v", rev, ok)
	}
	// Another project's checkout does not count.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644)
	if isProjectRoot(other) {
		t.Error("example.com/other taken for the project")
	}
	if !isProjectRoot("../..") {
		t.Error("the project root not recognised")
	}
	if rev, dirty := Git(t.TempDir()); rev == "" || (rev == "unknown" && dirty) {
		t.Errorf("Git(outside) = %q, %v", rev, dirty)
	}
}
