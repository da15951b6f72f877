package record

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Host describes the machine a record was measured on.
type Host struct {
	Hostname  string `json:"hostname"`   // os.Hostname
	OS        string `json:"os"`         // runtime.GOOS
	Arch      string `json:"arch"`       // runtime.GOARCH
	Kernel    string `json:"kernel"`     // uname -r
	CPUModel  string `json:"cpu_model"`  // /proc/cpuinfo "model name"
	Cores     int    `json:"cores"`      // logical CPUs usable by the process
	MemBytes  uint64 `json:"mem_bytes"`  // /proc/meminfo MemTotal
	GoVersion string `json:"go_version"` // toolchain that built the binary
	// KVMBackend is the loaded KVM vendor module: "kvm_pvm" (a software
	// backend, nested), "kvm_intel", "kvm_amd", "kvm" when only the core
	// module shows, or "none".
	KVMBackend string `json:"kvm_backend"`
}

// CollectHost reads this machine's facts; a fact it cannot read is
// "unknown" (or zero).
func CollectHost() Host {
	h := Host{
		Hostname:   hostname(),
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
		Kernel:     "unknown",
		CPUModel:   "unknown",
		Cores:      runtime.NumCPU(),
		GoVersion:  runtime.Version(),
		KVMBackend: kvmBackend("/sys/module"),
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		if m := cpuModel(f); m != "" {
			h.CPUModel = m
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		h.MemBytes = memTotal(f)
		f.Close()
	}
	return h
}

// cpuModel returns the first "model name" (x86) or "Model" (arm) value of
// a /proc/cpuinfo listing, or "".
func cpuModel(r io.Reader) string {
	sc := bufio.NewScanner(r)
	fallback := ""
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name":
			return strings.TrimSpace(v)
		case "Model", "Hardware":
			if fallback == "" {
				fallback = strings.TrimSpace(v)
			}
		}
	}
	return fallback
}

// memTotal returns MemTotal of a /proc/meminfo listing in bytes, or 0.
func memTotal(r io.Reader) uint64 {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			n, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				return 0
			}
			if len(f) >= 3 && f[2] == "kB" {
				n *= 1024
			}
			return n
		}
	}
	return 0
}

// kvmBackend names the KVM vendor module loaded under sysModule.
func kvmBackend(sysModule string) string {
	for _, m := range []string{"kvm_pvm", "kvm_intel", "kvm_amd"} {
		if _, err := os.Stat(filepath.Join(sysModule, m)); err == nil {
			return m
		}
	}
	if _, err := os.Stat(filepath.Join(sysModule, "kvm")); err == nil {
		return "kvm"
	}
	return "none"
}

// hostname returns the host's name or "unknown".
func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown"
	}
	return h
}
