package vm

import "time"

// ReportKind is the kind of a guestkit test-protocol report
// (docs/guest-abi.md, port 0xc8).
type ReportKind int

// Report kinds.
const (
	ReportPass   ReportKind = 0
	ReportFail   ReportKind = 1
	ReportAbort  ReportKind = 2
	ReportMetric ReportKind = 3
	ReportSkip   ReportKind = 4
	ReportSeries ReportKind = 5
	ReportMark   ReportKind = 6
)

var reportNames = [...]string{"pass", "fail", "abort", "metric", "skip", "series", "mark"}

// String returns the kind's name.
func (k ReportKind) String() string {
	if k >= 0 && int(k) < len(reportNames) {
		return reportNames[k]
	}
	return "unknown"
}

// Report is one test-protocol report from a guest.
type Report struct {
	Kind   ReportKind
	VCPU   int
	File   string
	Line   uint64
	Msg    string   // message, or metric/series/mark name
	Value  uint64   // metric value
	Series []uint64 // series values
	Time   time.Time
}

// Limits on guest-supplied test-protocol data.
const (
	maxReportFile   = 256
	maxReportMsg    = 1024
	maxReportSeries = 1 << 20
)
