// Package require decides whether tests that need host features (KVM,
// root) run, skip, or fail. XENOLITH_REQUIRE=kvm,root turns a skip into a
// failure, so CI on a capable machine cannot silently skip them.
package require

import (
	"os"
	"strings"
	"testing"

	"github.com/xenolith/xenolith/hv/kvm"
)

func required(feature string) bool {
	for _, f := range strings.Split(os.Getenv("XENOLITH_REQUIRE"), ",") {
		if strings.TrimSpace(f) == feature {
			return true
		}
	}
	return false
}

// skipOrFail skips the test with the reason, or fails it if the feature is required.
func skipOrFail(t testing.TB, feature, reason string) {
	t.Helper()
	if required(feature) {
		t.Fatalf("XENOLITH_REQUIRE includes %s but %s", feature, reason)
	}
	t.Skipf("skipping: %s", reason)
}

// KVM skips (or fails) the test unless /dev/kvm can be opened.
func KVM(t testing.TB) {
	t.Helper()
	if ok, why := kvm.Available(); !ok {
		skipOrFail(t, "kvm", why)
	}
}

// Root skips (or fails) the test unless it runs as root.
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "root", "the test needs root")
	}
}

// File skips (or fails, under the "guests" requirement) unless path exists.
func File(t testing.TB, path, hint string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		skipOrFail(t, "guests", path+" is missing ("+hint+")")
	}
}
