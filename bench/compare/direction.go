package compare

// Direction says which way a metric gets better.
type Direction int

// Directions of metrics.
const (
	// LowerIsBetter: times, counts of costly events, sizes.
	LowerIsBetter Direction = iota
	// HigherIsBetter: throughputs and capacities.
	HigherIsBetter
	// UnknownDirection: a significant change is reported as "changed" and
	// never fails a comparison.
	UnknownDirection
)

// String returns "lower is better", "higher is better" or "unknown
// direction".
func (d Direction) String() string {
	switch d {
	case LowerIsBetter:
		return "lower is better"
	case HigherIsBetter:
		return "higher is better"
	}
	return "unknown direction"
}

// directions maps the units the suites use to their direction. A rate is
// not better by being a rate: exits/s is a cost, ops/s a throughput.
var directions = map[string]Direction{
	"ns": LowerIsBetter, "us": LowerIsBetter, "ms": LowerIsBetter, "s": LowerIsBetter,
	"count": LowerIsBetter, "exits": LowerIsBetter, "exits/s": LowerIsBetter, "cores": LowerIsBetter,
	"B": LowerIsBetter, "bytes": LowerIsBetter, "KiB": LowerIsBetter, "MiB": LowerIsBetter, "GiB": LowerIsBetter,
	"%": LowerIsBetter, "ratio": LowerIsBetter, // cost relative to a floor

	"VMs": HigherIsBetter, "ops/s": HigherIsBetter, "req/s": HigherIsBetter, "iops": HigherIsBetter,
	"pps": HigherIsBetter, "B/s": HigherIsBetter, "KiB/s": HigherIsBetter, "MiB/s": HigherIsBetter,
	"GiB/s": HigherIsBetter, "kB/s": HigherIsBetter, "MB/s": HigherIsBetter, "GB/s": HigherIsBetter,
	"Mbit/s": HigherIsBetter, "Gbit/s": HigherIsBetter,
}

// DirectionOf infers a metric's direction from its unit. Lower is better
// for times ("ns", "us", "ms", "s"), counts of costly events ("count",
// "exits", "exits/s"), resources used ("cores", "B", "bytes", "KiB",
// "MiB", "GiB", "%"), costs relative to a floor ("ratio"); higher is better for capacity ("VMs") and
// throughput ("ops/s", "req/s", "iops", "pps", "B/s", "KiB/s", "MiB/s",
// "GiB/s", "kB/s", "MB/s", "GB/s", "Mbit/s", "Gbit/s"); any other unit has
// an unknown direction.
func DirectionOf(unit string) Direction {
	if d, ok := directions[unit]; ok {
		return d
	}
	return UnknownDirection
}
