package compare

import (
	"encoding/json"
	"math"
)

// MarshalText renders a direction as its String.
func (d Direction) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// MarshalJSON encodes the row with its non-finite numbers (changes from
// zero, p-values of untested metrics) as null, which encoding/json cannot
// write as numbers.
func (r Row) MarshalJSON() ([]byte, error) {
	type plain Row
	return json.Marshal(struct {
		plain
		Change   *float64 `json:"change"`
		ChangeLo *float64 `json:"change_lo"`
		ChangeHi *float64 `json:"change_hi"`
		P        *float64 `json:"p"`
		PAdj     *float64 `json:"p_holm"`
		MinP     *float64 `json:"min_p"`
	}{plain(r), finiteOrNil(r.Change), finiteOrNil(r.ChangeLo), finiteOrNil(r.ChangeHi),
		finiteOrNil(r.P), finiteOrNil(r.PAdj), finiteOrNil(r.MinP)})
}

func finiteOrNil(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
