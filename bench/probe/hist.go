package probe

import (
	"fmt"
	"math"
	"time"
)

// Histogram is a log2 histogram of durations: bucket 0 counts zero, bucket
// b > 0 counts [2^(b-1), 2^b) nanoseconds.
type Histogram [65]uint64

// Count returns the number of samples.
func (h *Histogram) Count() uint64 { return sum(h[:]) }

// Sub returns h minus an earlier histogram.
func (h *Histogram) Sub(old *Histogram) Histogram {
	var d Histogram
	for i := range h {
		d[i] = h[i] - old[i]
	}
	return d
}

// Percentile returns the upper bound of the bucket holding quantile q
// (0..1): the true value is at most this and more than half of it. It
// returns 0 for an empty histogram.
func (h *Histogram) Percentile(q float64) time.Duration {
	n := h.Count()
	if n == 0 {
		return 0
	}
	q = math.Max(0, math.Min(1, q))
	rank := uint64(math.Ceil(q * float64(n)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for b, c := range h {
		seen += c
		if seen >= rank {
			return bucketUpper(b)
		}
	}
	return bucketUpper(len(h) - 1)
}

func bucketUpper(b int) time.Duration {
	if b == 0 {
		return 0
	}
	if b >= 63 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(uint64(1) << b)
}

// reasons names KVM_EXIT_* values (include/uapi/linux/kvm.h).
var reasons = map[int]string{
	0: "unknown", 1: "exception", 2: "io", 3: "hypercall", 4: "debug", 5: "hlt", 6: "mmio",
	7: "irq_window_open", 8: "shutdown", 9: "fail_entry", 10: "intr", 11: "set_tpr",
	12: "tpr_access", 17: "internal_error", 24: "system_event", 26: "ioapic_eoi",
	29: "x86_rdmsr", 30: "x86_wrmsr",
}

// ReasonName names exit reason i of Counters.Exits.
func ReasonName(i int) string {
	if i == NumReasons-1 {
		return "other"
	}
	if s, ok := reasons[i]; ok {
		return s
	}
	return fmt.Sprintf("reason_%d", i)
}
