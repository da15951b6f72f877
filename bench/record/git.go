package record

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"
)

// modulePath identifies a checkout of this project.
const modulePath = "github.com/xenolith/xenolith"

// Git returns the revision of the running build and whether its tree was
// dirty. It prefers the VCS stamp the Go toolchain put in the binary (it
// describes the build itself); failing that, it asks git about the
// checkout holding dir when that checkout is this project's, where files
// under results/ do not count as dirt (records are written there); failing
// both, it returns "unknown" and false.
func Git(dir string) (rev string, dirty bool) {
	if bi, ok := debug.ReadBuildInfo(); ok {
		if rev, dirty, ok := buildVCS(bi.Settings); ok {
			return rev, dirty
		}
	}
	if rev, dirty, ok := gitCheckout(dir); ok {
		return rev, dirty
	}
	return "unknown", false
}

// buildVCS extracts vcs.revision and vcs.modified from build settings.
func buildVCS(settings []debug.BuildSetting) (rev string, dirty, ok bool) {
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	return rev, dirty, rev != ""
}

// gitCheckout runs git in dir's checkout if it is this project's.
func gitCheckout(dir string) (rev string, dirty, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	git := func(args ...string) (string, bool) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		cmd.Stderr = nil
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), err == nil
	}
	top, ok := git("rev-parse", "--show-toplevel")
	if !ok || !isProjectRoot(top) {
		return "", false, false
	}
	dir = top
	rev, ok = git("rev-parse", "HEAD")
	if !ok || rev == "" {
		return "", false, false
	}
	status, ok := git("status", "--porcelain", "--", ".", ":(exclude)results")
	if !ok {
		return "", false, false
	}
	return rev, status != "", true
}

// isProjectRoot reports whether dir holds this project's go.mod.
func isProjectRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "module" {
			return f[1] == modulePath
		}
	}
	return false
}
