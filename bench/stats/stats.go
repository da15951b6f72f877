// Package stats summarises benchmark samples: percentiles, medians with
// bootstrap confidence intervals, and ratios against a baseline measured in
// the same run.
package stats

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Summary describes a sample.
type Summary struct {
	N     int     `json:"n"`
	Min   float64 `json:"min"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
	P50Lo float64 `json:"p50_ci_lo"` // 95% interval of the median (see Summarize)
	P50Hi float64 `json:"p50_ci_hi"`
}

// Percentile returns the p-th percentile (0..100) of sorted xs, linearly
// interpolated. xs must be sorted and non-empty.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := p / 100 * float64(len(sorted)-1)
	i := int(pos)
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	f := pos - float64(i)
	return sorted[i]*(1-f) + sorted[i+1]*f
}

// Median returns the median of xs (not modified).
func Median(xs []float64) float64 {
	s := sortedCopy(xs)
	return Percentile(s, 50)
}

func sortedCopy(xs []float64) []float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s
}

// Summarize computes a Summary, with a 95% interval of the median: from
// 1000 bootstrap resamples (seeded, so repeatable) for up to
// orderCIMin values, from order statistics above that (MedianOrderCI),
// where the two agree and resampling would cost seconds.
func Summarize(xs []float64) Summary {
	if len(xs) == 0 {
		return Summary{}
	}
	s := sortedCopy(xs)
	var sum float64
	for _, x := range s {
		sum += x
	}
	var lo, hi float64
	if len(s) > orderCIMin {
		lo, hi = MedianOrderCI(s)
	} else {
		lo, hi = BootstrapMedianCI(xs, 0.95, 1000)
	}
	return Summary{
		N: len(s), Min: s[0], Max: s[len(s)-1], Mean: sum / float64(len(s)),
		P50: Percentile(s, 50), P90: Percentile(s, 90), P99: Percentile(s, 99),
		P50Lo: lo, P50Hi: hi,
	}
}

// orderCIMin is the sample size above which Summarize takes the median's
// interval from order statistics.
const orderCIMin = 1000

// MedianOrderCI returns the distribution-free 95% interval of the median of
// sorted: the order statistics whose ranks lie 1.96 standard deviations of
// Binomial(n, 1/2) either side of n/2 (normal approximation, good for
// large n).
func MedianOrderCI(sorted []float64) (lo, hi float64) {
	n := len(sorted)
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	h := 1.96 * math.Sqrt(float64(n)) / 2
	j := int(math.Floor(float64(n)/2 - h))
	k := int(math.Ceil(float64(n)/2 + h))
	return sorted[max(j, 0)], sorted[min(k, n-1)]
}

// BootstrapMedianCI returns a percentile-bootstrap confidence interval of
// the median at the given level.
func BootstrapMedianCI(xs []float64, level float64, resamples int) (lo, hi float64) {
	n := len(xs)
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	if n == 1 {
		return xs[0], xs[0]
	}
	r := rand.New(rand.NewPCG(1, uint64(n)))
	meds := make([]float64, resamples)
	buf := make([]float64, n)
	// Large samples: resample a bounded subset size for speed would bias the
	// interval, so resample fully but cap the work by resample count.
	for i := range meds {
		for j := range buf {
			buf[j] = xs[r.IntN(n)]
		}
		sort.Float64s(buf)
		meds[i] = Percentile(buf, 50)
	}
	sort.Float64s(meds)
	a := (1 - level) / 2 * 100
	return Percentile(meds, a), Percentile(meds, 100-a)
}

// RatioCI returns the ratio of medians num/den with a 95% bootstrap interval,
// resampling both samples independently.
func RatioCI(num, den []float64, resamples int) (ratio, lo, hi float64) {
	return PercentileRatioCI(num, den, 50, resamples)
}

// PercentileRatioCI returns the ratio of the p-th percentiles num/den and a
// 95% percentile-bootstrap interval of it, resampling both samples
// independently (seeded: the same data give the same interval); resamples
// whose denominator percentile is not positive are left out.
func PercentileRatioCI(num, den []float64, p float64, resamples int) (ratio, lo, hi float64) {
	if len(num) == 0 || len(den) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	ratio = Percentile(sortedCopy(num), p) / Percentile(sortedCopy(den), p)
	r := rand.New(rand.NewPCG(2, uint64(len(num)*31+len(den))))
	rs := make([]float64, 0, resamples)
	bn := make([]float64, len(num))
	bd := make([]float64, len(den))
	for i := 0; i < resamples; i++ {
		for j := range bn {
			bn[j] = num[r.IntN(len(num))]
		}
		for j := range bd {
			bd[j] = den[r.IntN(len(den))]
		}
		sort.Float64s(bn)
		sort.Float64s(bd)
		if d := Percentile(bd, p); d > 0 {
			rs = append(rs, Percentile(bn, p)/d)
		}
	}
	if len(rs) == 0 {
		return ratio, math.NaN(), math.NaN()
	}
	sort.Float64s(rs)
	return ratio, Percentile(rs, 2.5), Percentile(rs, 97.5)
}

// PairedRatio returns the median of per-run ratios num[i]/den[i] (values
// measured in the same run) with a 95% bootstrap interval of that median.
// Pairing removes run-to-run drift that an unpaired ratio of medians keeps.
func PairedRatio(num, den []float64) (ratio, lo, hi float64) {
	n := min(len(num), len(den))
	if n == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	rs := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		if den[i] != 0 {
			rs = append(rs, num[i]/den[i])
		}
	}
	if len(rs) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	lo, hi = BootstrapMedianCI(rs, 0.95, 1000)
	return Median(rs), lo, hi
}
