// Package bench holds Xenolith's benchmark suites. Every figure is measured
// against its floor in the same run (design.md, "Measurement rules") and
// reported as medians and percentiles with 95% intervals.
package bench
