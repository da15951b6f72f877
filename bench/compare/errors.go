package compare

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnusable is wrapped by every error that means the two records cannot
// be compared (too few runs, different configurations, nothing in
// common); the CLI maps it to exit status 2.
var ErrUnusable = errors.New("records cannot be compared")

// ErrNoCommonMetrics means no (suite, metric) pair appears in both records.
var ErrNoCommonMetrics = fmt.Errorf("%w: no metric in common", ErrUnusable)

// TooFewRunsError lists the metrics with too few run values on a side.
type TooFewRunsError struct {
	Min int // run values needed per side
	// Metrics lists "suite: metric (A n, B m)" for too few runs, or the
	// distinct "n vs m" run counts when Power is set.
	Metrics []string
	// Single is set when every compared metric has one value per record,
	// Metrics then naming them.
	Single bool
	// Power is set when every side has Min runs but no metric can reach
	// significance after correction; Need is the runs per side that could.
	Power bool
	Need  int
	M     int     // metrics compared
	Alpha float64 // significance level
}

// Error says which metrics lack runs, or how many runs would do.
func (e *TooFewRunsError) Error() string {
	if e.Power {
		return fmt.Sprintf("too few runs: with %d metrics compared and %s runs no change can reach p < %g after Holm correction; record at least %d runs per side",
			e.M, strings.Join(e.Metrics, ", "), e.Alpha, e.Need)
	}
	if e.Single {
		return fmt.Sprintf("too few runs: every metric in common has one value per record, nothing to test (%s); record at least %d runs",
			strings.Join(e.Metrics, "; "), e.Min)
	}
	return fmt.Sprintf("too few runs (need at least %d per side): %s", e.Min, strings.Join(e.Metrics, "; "))
}

// Unwrap makes the error an ErrUnusable.
func (e *TooFewRunsError) Unwrap() error { return ErrUnusable }

// ConfigError says which configuration keys of a suite differ.
type ConfigError struct {
	Suite string
	Diffs []string // "key: A vs B"
}

// Error names the suite and each differing key with both values.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("different configurations of suite %s: %s", e.Suite, strings.Join(e.Diffs, "; "))
}

// Unwrap makes the error an ErrUnusable.
func (e *ConfigError) Unwrap() error { return ErrUnusable }
