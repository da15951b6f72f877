// Package record stores benchmark results as versioned JSON records: the
// suites' results with their raw run-level values, the tool's revision, the
// host they ran on and the command that made them, plus optional curves
// (series of points such as a density ramp) for reports. Records are what
// `xenolith bench compare` tests and `xenolith bench report` renders;
// results/README.md documents the schema.
package record

import (
	"fmt"
	"math"
	"time"

	"github.com/xenolith/xenolith/bench"
)

// SchemaVersion is the record schema this package writes and the newest it
// reads. Bump it when a field changes meaning or a reader would misread a
// newer record; adding an optional field does not need a bump.
const SchemaVersion = 1

// ToolName is the Tool.Name of every record this package writes.
const ToolName = "xenolith"

// Record is one benchmark invocation's output.
type Record struct {
	Schema  int       `json:"schema"`            // SchemaVersion at writing
	Tool    Tool      `json:"tool"`              // what measured
	Host    Host      `json:"host"`              // where it ran
	Created time.Time `json:"created"`           // when the record was made
	Command []string  `json:"command,omitempty"` // the command line (argv)
	// Results are the suites' outputs, at most one per suite.
	Results []*bench.Result `json:"results"`
	// Curves are series of points for reports (density ramps, CDFs).
	Curves []Curve `json:"curves,omitempty"`
}

// Tool identifies the build that produced a record.
type Tool struct {
	Name        string `json:"name"`         // always ToolName
	Version     string `json:"version"`      // the binary's version string
	GitRevision string `json:"git_revision"` // full commit hash, or "unknown"
	GitDirty    bool   `json:"git_dirty"`    // uncommitted source changes at build or run time
}

// New makes a record of results as measured now by this process: the
// host's facts, the git state of the build (see Git), the given tool
// version and command line.
func New(version string, command []string, results ...*bench.Result) *Record {
	rev, dirty := Git(".")
	return &Record{
		Schema:  SchemaVersion,
		Tool:    Tool{Name: ToolName, Version: version, GitRevision: rev, GitDirty: dirty},
		Host:    CollectHost(),
		Created: time.Now().Round(time.Second),
		Command: append([]string(nil), command...),
		Results: results,
	}
}

// ShortRevision returns the revision's first 7 characters with "-dirty"
// appended for a dirty tree.
func (r *Record) ShortRevision() string {
	rev := r.Tool.GitRevision
	if rev == "" {
		rev = "unknown"
	}
	if len(rev) > 7 && rev != "unknown" {
		rev = rev[:7]
	}
	if r.Tool.GitDirty {
		rev += "-dirty"
	}
	return rev
}

// Suites returns the suite names of the record's results in order, without
// repeats, and those of curves whose suite has no result.
func (r *Record) Suites() []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, res := range r.Results {
		if res != nil {
			add(res.Suite)
		}
	}
	for _, c := range r.Curves {
		add(c.Suite)
	}
	return out
}

// Validate checks what a reader relies on: a known schema and tool name,
// named suites appearing once each, named metrics unique within their
// suite, finite numbers, and well-formed curves.
func (r *Record) Validate() error {
	if r.Schema < 1 {
		return fmt.Errorf("%w: schema %d", ErrInvalid, r.Schema)
	}
	if r.Schema > SchemaVersion {
		return fmt.Errorf("schema %d is %w (schema %d)", r.Schema, ErrSchemaNewer, SchemaVersion)
	}
	if r.Tool.Name != ToolName {
		return fmt.Errorf("%w (tool %q)", ErrNotRecord, r.Tool.Name)
	}
	suites := map[string]bool{}
	for i, res := range r.Results {
		if res == nil {
			return fmt.Errorf("%w: result %d is null", ErrInvalid, i)
		}
		if res.Suite == "" {
			return fmt.Errorf("%w: result %d has no suite name", ErrInvalid, i)
		}
		if suites[res.Suite] {
			return fmt.Errorf("%w: suite %q appears twice", ErrInvalid, res.Suite)
		}
		suites[res.Suite] = true
		if err := validateMetrics(res); err != nil {
			return err
		}
		for i, c := range res.Curves {
			bc := FromBench(res.Suite, c)
			if err := bc.Validate(); err != nil {
				return fmt.Errorf("%w: suite %q: curve %d: %v", ErrInvalid, res.Suite, i, err)
			}
		}
	}
	curves := map[string]bool{}
	for i := range r.Curves {
		if err := r.Curves[i].Validate(); err != nil {
			return fmt.Errorf("%w: curve %d: %v", ErrInvalid, i, err)
		}
		if curves[r.Curves[i].Name] {
			return fmt.Errorf("%w: curve %q appears twice", ErrInvalid, r.Curves[i].Name)
		}
		curves[r.Curves[i].Name] = true
	}
	return nil
}

func validateMetrics(res *bench.Result) error {
	names := map[string]bool{}
	for i := range res.Metrics {
		m := &res.Metrics[i]
		if m.Name == "" {
			return fmt.Errorf("%w: suite %q: metric %d has no name", ErrInvalid, res.Suite, i)
		}
		if names[m.Name] {
			return fmt.Errorf("%w: suite %q: metric %q appears twice", ErrInvalid, res.Suite, m.Name)
		}
		names[m.Name] = true
		if field := nonFinite(m); field != "" {
			return fmt.Errorf("%w: suite %q: metric %q: %s is not a finite number", ErrInvalid, res.Suite, m.Name, field)
		}
	}
	return nil
}

// nonFinite names the first NaN or infinite field of m, or returns "".
// encoding/json cannot write such values, so a record holding one could
// not be saved.
func nonFinite(m *bench.Metric) string {
	s := m.Summary
	scalars := []struct {
		name string
		v    float64
	}{
		{"min", s.Min}, {"p50", s.P50}, {"p90", s.P90}, {"p99", s.P99}, {"max", s.Max},
		{"mean", s.Mean}, {"p50_ci_lo", s.P50Lo}, {"p50_ci_hi", s.P50Hi},
		{"ratio", m.Ratio}, {"ratio_ci_lo", m.RatioLo}, {"ratio_ci_hi", m.RatioHi},
	}
	for _, f := range scalars {
		if !finite(f.v) {
			return f.name
		}
	}
	for i, v := range m.Runs {
		if !finite(v) {
			return fmt.Sprintf("runs[%d]", i)
		}
	}
	for i, v := range m.Samples {
		if !finite(v) {
			return fmt.Sprintf("samples[%d]", i)
		}
	}
	return ""
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
