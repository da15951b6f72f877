// Package soak holds Xenolith's soak test: many VMs running mixed guestkit
// workloads, started and stopped in waves for a bounded time, after which
// the process's open files, OS threads, Go heap and RSS must be back near
// the baseline taken before the first wave. CI runs it for about 30 s;
// XENOLITH_SOAK=10m (any Go duration) runs it longer. docs/measurements.md
// ("Soak") records long runs.
package soak
