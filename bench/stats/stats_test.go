package stats

import (
	"math"
	"testing"
)

func TestPercentile(t *testing.T) {
	s := []float64{1, 2, 3, 4, 5}
	for _, c := range []struct{ p, want float64 }{{0, 1}, {50, 3}, {100, 5}, {25, 2}, {90, 4.6}} {
		if got := Percentile(s, c.p); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("p%.0f = %v, want %v", c.p, got, c.want)
		}
	}
}

func TestSummarizeAndCI(t *testing.T) {
	xs := make([]float64, 1000)
	for i := range xs {
		xs[i] = float64(i % 100)
	}
	s := Summarize(xs)
	if s.N != 1000 || s.Min != 0 || s.Max != 99 {
		t.Fatalf("summary %+v", s)
	}
	if !(s.P50Lo <= s.P50 && s.P50 <= s.P50Hi) {
		t.Errorf("median %v outside its interval [%v, %v]", s.P50, s.P50Lo, s.P50Hi)
	}
}

func TestRatioCI(t *testing.T) {
	a := []float64{10, 11, 9, 10, 10, 12, 8}
	b := []float64{20, 22, 18, 20, 20, 24, 16}
	r, lo, hi := RatioCI(b, a, 500)
	if math.Abs(r-2) > 1e-9 || lo > 2 || hi < 2 {
		t.Errorf("ratio %v [%v, %v], want 2 inside", r, lo, hi)
	}
}

func TestPairedRatio(t *testing.T) {
	// Run-to-run drift affects both sides alike; the paired ratio stays 1.1.
	den := []float64{10, 20, 30, 40, 50}
	num := []float64{11, 22, 33, 44, 55}
	r, lo, hi := PairedRatio(num, den)
	if math.Abs(r-1.1) > 1e-9 || math.Abs(lo-1.1) > 1e-9 || math.Abs(hi-1.1) > 1e-9 {
		t.Errorf("paired ratio %v [%v, %v], want 1.1", r, lo, hi)
	}
}
