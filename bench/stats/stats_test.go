package stats

import (
	"math"
	"math/rand/v2"
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

// TestMedianOrderCI checks the order-statistic interval against the
// bootstrap one on a large sample, and its coverage of the true median.
func TestMedianOrderCI(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	xs := make([]float64, 5000)
	for i := range xs {
		xs[i] = r.ExpFloat64() // median ln 2
	}
	s := sortedCopy(xs)
	lo, hi := MedianOrderCI(s)
	blo, bhi := BootstrapMedianCI(xs, 0.95, 1000)
	if !(lo < Percentile(s, 50) && Percentile(s, 50) < hi) {
		t.Fatalf("interval [%g, %g] misses the sample median %g", lo, hi, Percentile(s, 50))
	}
	w, bw := hi-lo, bhi-blo
	if w < 0.7*bw || w > 1.4*bw {
		t.Fatalf("order interval width %g, bootstrap %g", w, bw)
	}
	miss := 0
	for trial := 0; trial < 200; trial++ {
		for i := range xs {
			xs[i] = r.ExpFloat64()
		}
		lo, hi := MedianOrderCI(sortedCopy(xs))
		if !(lo <= math.Ln2 && math.Ln2 <= hi) {
			miss++
		}
	}
	if miss > 20 { // 5% expected: 10 of 200
		t.Fatalf("the true median fell outside %d of 200 intervals", miss)
	}
	if got := Summarize(xs); got.P50Lo > got.P50 || got.P50Hi < got.P50 {
		t.Fatalf("Summarize interval [%g, %g] around %g", got.P50Lo, got.P50Hi, got.P50)
	}
}

func TestPercentileRatioCI(t *testing.T) {
	seq := func(n int, k float64) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = k * float64(i+1)
		}
		return xs
	}
	cases := []struct {
		name     string
		num, den []float64
		p        float64
		want     float64 // NaN: no ratio
	}{
		{"same samples", seq(100, 1), seq(100, 1), 99, 1},
		{"twice as slow", seq(100, 2), seq(100, 1), 99, 2},
		{"medians", seq(101, 3), seq(101, 1), 50, 3},
		{"empty numerator", nil, seq(10, 1), 99, math.NaN()},
		{"empty denominator", seq(10, 1), nil, 99, math.NaN()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, lo, hi := PercentileRatioCI(c.num, c.den, c.p, 500)
			if math.IsNaN(c.want) {
				if !math.IsNaN(r) {
					t.Fatalf("ratio %v, want NaN", r)
				}
				return
			}
			if math.Abs(r-c.want) > 1e-9 {
				t.Errorf("ratio %v, want %v", r, c.want)
			}
			if !(lo <= r && r <= hi) || !(lo > 0) {
				t.Errorf("interval [%v, %v] does not hold %v", lo, hi, r)
			}
			r2, lo2, hi2 := PercentileRatioCI(c.num, c.den, c.p, 500)
			if r2 != r || lo2 != lo || hi2 != hi {
				t.Errorf("not reproducible: %v [%v, %v] then %v [%v, %v]", r, lo, hi, r2, lo2, hi2)
			}
		})
	}
}
