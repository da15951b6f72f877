package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// A running `xenolith run` publishes its VM's name as socketDir()/vm-NAME.pid
// (holding the monitor's pid), so that `xenolith trace --vm NAME` finds it.

// validVMName reports whether name can be a VM name: letters, digits, '-',
// '_' and '.', not starting with '.', at most 64 bytes.
func validVMName(name string) bool {
	if name == "" || len(name) > 64 || name[0] == '.' {
		return false
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}

// defaultVMName is the kernel file's base name without its extension.
func defaultVMName(kernelPath string) string {
	base := strings.TrimSuffix(filepath.Base(kernelPath), filepath.Ext(kernelPath))
	if !validVMName(base) {
		return "vm"
	}
	return base
}

func vmNamePath(name string) string { return filepath.Join(socketDir(), "vm-"+name+".pid") }

// publishVMName records that this process runs VM name and returns the
// function that withdraws it. A name held by another live monitor is an
// error; a stale file (its monitor gone) is replaced.
func publishVMName(name string) (func(), error) {
	if err := os.MkdirAll(socketDir(), 0o700); err != nil {
		return nil, fmt.Errorf("vm name: %w", err)
	}
	path := vmNamePath(name)
	if pid, err := readVMPid(path); err == nil && pid != os.Getpid() {
		return nil, fmt.Errorf("vm name %q is in use by monitor %d", name, pid)
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("vm name: %w", err)
	}
	return func() {
		if pid, err := readVMPid(path); err == nil && pid == os.Getpid() {
			os.Remove(path)
		}
	}, nil
}

// readVMPid returns the pid in a name file if that process is alive.
func readVMPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s: not a pid", path)
	}
	if err := syscall.Kill(pid, 0); err != nil && err != syscall.EPERM {
		return 0, fmt.Errorf("monitor %d is gone", pid)
	}
	return pid, nil
}

// lookupVM returns the pid of the monitor running VM name.
func lookupVM(name string) (int, error) {
	if !validVMName(name) {
		return 0, usagef("--vm: %q is not a VM name (letters, digits, '-', '_', '.')", name)
	}
	pid, err := readVMPid(vmNamePath(name))
	if err != nil {
		return 0, usagef("--vm: no running VM named %q (xenolith run --name)", name)
	}
	return pid, nil
}
