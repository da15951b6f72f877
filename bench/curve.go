package bench

// Curve is a chart's worth of data a suite produces, e.g. the SLO metric
// against VMs running. Reports draw it; records keep it.
type Curve struct {
	Name   string   `json:"name"`
	Kind   string   `json:"kind"` // "line", "cdf" or "stacked"
	XLabel string   `json:"x_label"`
	YLabel string   `json:"y_label"`
	Series []Series `json:"series"`
	HLines []HLine  `json:"hlines,omitempty"` // e.g. the SLO limit
	VLines []HLine  `json:"vlines,omitempty"` // e.g. the stop point (Y holds the x value)
}

// Series is one labelled set of (x, y) points.
type Series struct {
	Label  string       `json:"label"`
	Points [][2]float64 `json:"points"`
}

// HLine is a labelled reference line at Y.
type HLine struct {
	Label string  `json:"label"`
	Y     float64 `json:"y"`
}
