package main

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/xenolith/xenolith/bench"
)

// densityCycleFlags registers the flags of density's creation-latency
// measurement: create-to-main-then-destroy cycles of one extra VM at a low
// fleet size and at the largest fleet the ramp reaches.
func densityCycleFlags(fs *pflag.FlagSet, o *bench.DensityOptions) {
	fs.IntVar(&o.CreateCycles, "create-cycles", 100, "create-destroy cycles of one extra VM timed at --create-low VMs running and at the largest fleet (0: none)")
	fs.IntVar(&o.CreateLow, "create-low", 10, "VMs running at the low level of the creation cycles")
	fs.DurationVar(&o.CreateGap, "create-gap", 20*time.Millisecond, "pause before each creation cycle (lets spare VMs be prepared, as at a steady creation rate)")
}

// densityCycleCheck maps --create-cycles 0 (none) to the options' "off"
// and rejects negative counts.
func densityCycleCheck(o *bench.DensityOptions) error {
	if o.CreateCycles < 0 || o.CreateLow < 1 || o.CreateGap < 0 {
		return usagef("bench density: --create-cycles and --create-gap must be >= 0, --create-low >= 1")
	}
	if o.CreateCycles == 0 {
		o.CreateCycles = -1
	}
	return nil
}
