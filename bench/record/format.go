package record

import (
	"fmt"
	"math"
)

// FormatValue formats a metric value for people: durations in "ns" scaled
// to ns/us/ms/s, sizes in "bytes" (or "B") to B/KiB/MiB/GiB, other units
// with three significant digits followed by the unit (no unit for
// "count").
func FormatValue(unit string, v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprint(v)
	}
	if unit == "ns" {
		a := math.Abs(v)
		switch {
		case a >= 1e9:
			return sig3(v/1e9) + "s"
		case a >= 1e6:
			return sig3(v/1e6) + "ms"
		case a >= 1e3:
			return sig3(v/1e3) + "us"
		}
		return sig3(v) + "ns"
	}
	if unit == "bytes" || unit == "B" {
		a := math.Abs(v)
		switch {
		case a >= 1<<30:
			return sig3(v/(1<<30)) + " GiB"
		case a >= 1<<20:
			return sig3(v/(1<<20)) + " MiB"
		case a >= 1<<10:
			return sig3(v/(1<<10)) + " KiB"
		}
		return sig3(v) + " B"
	}
	s := sig3(v)
	if unit == "" || unit == "count" {
		return s
	}
	return s + " " + unit
}

// sig3 formats v with about three significant digits, in positional
// notation between 0.01 and 100000.
func sig3(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0"
	case a >= 1e5 || a < 0.01:
		return fmt.Sprintf("%.3g", v)
	case a >= 99.95:
		return fmt.Sprintf("%.0f", v)
	case a >= 9.995:
		return fmt.Sprintf("%.1f", v)
	case a >= 0.9995:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}
