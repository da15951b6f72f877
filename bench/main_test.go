package bench

import (
	"os"
	"testing"
)

// TestMain lets process-per-VM tests re-execute this test binary as a
// vm-child (os.Args "bench vm-child SPEC"), as the xenolith binary would be.
func TestMain(m *testing.M) {
	RunChildIfAsked()
	os.Exit(m.Run())
}
