package vm

import (
	"math"
	"testing"
	"time"
)

func TestPVClockScale(t *testing.T) {
	for _, khz := range []uint64{1000, 1_000_000, 2_596_150, 3_700_000, 100_000_000} {
		now := time.Now()
		p := newPVClock(khz, 0, now, now)
		ticks := khz * 1000 // one second
		got := float64(p.scale(ticks))
		if math.Abs(got-1e9) > 1e9*1e-6 {
			t.Errorf("%d kHz: one second of ticks scales to %.0f ns", khz, got)
		}
	}
}
