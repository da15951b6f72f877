package main

import (
	"os"
	"testing"
)

func TestVMNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{{"web-1", true}, {"a.b_c", true}, {"", false}, {".hidden", false}, {"a/b", false}, {"sp ace", false}} {
		if got := validVMName(tc.name); got != tc.ok {
			t.Errorf("validVMName(%q) = %v", tc.name, got)
		}
	}
	if got := defaultVMName("/x/guestkit/build/hello.elf"); got != "hello" {
		t.Errorf("defaultVMName = %q", got)
	}
}

func TestPublishVMName(t *testing.T) {
	dir := t.TempDir()
	if os.Geteuid() != 0 {
		t.Setenv("XDG_RUNTIME_DIR", dir)
	}
	name := "test-publish-" + t.Name()
	undo, err := publishVMName(name)
	if err != nil {
		t.Fatal(err)
	}
	if pid, err := lookupVM(name); err != nil || pid != os.Getpid() {
		t.Fatalf("lookupVM = %d, %v", pid, err)
	}
	undo()
	if _, err := lookupVM(name); err == nil {
		t.Fatal("the name is still published after undo")
	}
	// A stale file (a pid that is gone) is replaced.
	if err := os.WriteFile(vmNamePath(name), []byte("999999999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	undo, err = publishVMName(name)
	if err != nil {
		t.Fatalf("stale name file: %v", err)
	}
	undo()
}
