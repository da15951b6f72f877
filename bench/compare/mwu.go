package compare

import (
	"math"
	"sort"
)

// exactLimit is the largest combined sample size for which MannWhitney
// computes the exact permutation distribution; above it, the normal
// approximation is accurate and the exact count grows costly.
const exactLimit = 60

// MWU is the outcome of a two-sided Mann-Whitney U (Wilcoxon rank-sum)
// test of two samples.
type MWU struct {
	// U counts the pairs (x, y) with x > y, ties counting one half: R's W
	// statistic of wilcox.test(x, y). It lies in [0, len(x)*len(y)].
	U float64 `json:"u"`
	// P is the two-sided p-value.
	P float64 `json:"p"`
	// Exact tells whether P comes from the exact permutation distribution
	// of the rank sum (given the observed ties) rather than the normal
	// approximation.
	Exact bool `json:"exact"`
}

// MannWhitney tests whether x and y come from the same distribution
// against a shift in either direction. For a combined size up to
// exactLimit the p-value is exact: the permutation distribution of x's
// rank sum, with tied values given their mid-rank, counted by dynamic
// programming, and p = 2·min(P(S ≤ s), P(S ≥ s)) capped at 1 (without ties
// this is R's exact wilcox.test). Larger samples use the normal
// approximation with tie and continuity corrections (R's wilcox.test with
// exact = FALSE, correct = TRUE). Empty input yields P = 1.
func MannWhitney(x, y []float64) MWU {
	n1, n2 := len(x), len(y)
	if n1 == 0 || n2 == 0 {
		return MWU{P: 1}
	}
	ranks, ties := midRanks(x, y)
	var rx float64
	for i := 0; i < n1; i++ {
		rx += ranks[i]
	}
	u := rx - float64(n1*(n1+1))/2
	if n1+n2 <= exactLimit {
		return MWU{U: u, P: exactP(ranks, n1, rx), Exact: true}
	}
	return MWU{U: u, P: normalP(u, n1, n2, ties)}
}

// midRanks ranks the pooled sample (x first, then y) from 1, giving tied
// values the mean of their ranks, and returns the tie correction term
// Σ(t³ - t) over groups of t tied values.
func midRanks(x, y []float64) ([]float64, float64) {
	n := len(x) + len(y)
	idx := make([]int, n)
	val := func(i int) float64 {
		if i < len(x) {
			return x[i]
		}
		return y[i-len(x)]
	}
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return val(idx[a]) < val(idx[b]) })
	ranks := make([]float64, n)
	var ties float64
	for i := 0; i < n; {
		j := i + 1
		for j < n && val(idx[j]) == val(idx[i]) {
			j++
		}
		r := float64(i+1+j) / 2 // mean of ranks i+1..j
		for k := i; k < j; k++ {
			ranks[idx[k]] = r
		}
		if t := float64(j - i); t > 1 {
			ties += t*t*t - t
		}
		i = j
	}
	return ranks, ties
}

// exactP returns the two-sided p-value of x's rank sum rx among all ways
// to choose n1 of the pooled ranks. Ranks are doubled to make mid-ranks
// integers; count[k][s] is the number of k-subsets of the ranks seen so
// far with doubled sum s.
func exactP(ranks []float64, n1 int, rx float64) float64 {
	twice := make([]int, len(ranks))
	total := 0
	for i, r := range ranks {
		twice[i] = int(math.Round(2 * r))
		total += twice[i]
	}
	count := make([][]float64, n1+1)
	for k := range count {
		count[k] = make([]float64, total+1)
	}
	count[0][0] = 1
	for i, r := range twice {
		for k := min(i+1, n1); k >= 1; k-- {
			prev, cur := count[k-1], count[k]
			for s := total; s >= r; s-- {
				if prev[s-r] != 0 {
					cur[s] += prev[s-r]
				}
			}
		}
	}
	obs := int(math.Round(2 * rx))
	var all, le, ge float64
	for s, c := range count[n1] {
		all += c
		if s <= obs {
			le += c
		}
		if s >= obs {
			ge += c
		}
	}
	return math.Min(1, 2*math.Min(le, ge)/all)
}

// normalP is the two-sided p-value of U under the normal approximation
// with tie correction and a continuity correction of one half.
func normalP(u float64, n1, n2 int, ties float64) float64 {
	n := float64(n1 + n2)
	mean := float64(n1*n2) / 2
	variance := float64(n1*n2) / 12 * ((n + 1) - ties/(n*(n-1)))
	if variance <= 0 {
		return 1 // every value tied
	}
	d := u - mean
	switch {
	case d > 0:
		d -= 0.5
	case d < 0:
		d += 0.5
	}
	z := d / math.Sqrt(variance)
	return math.Min(1, math.Erfc(math.Abs(z)/math.Sqrt2))
}

// MinP returns the smallest two-sided p-value MannWhitney can give for
// samples of sizes n1 and n2 without ties: 2/C(n1+n2, n1) when exact, the
// normal tail at complete separation otherwise.
func MinP(n1, n2 int) float64 {
	if n1 == 0 || n2 == 0 {
		return 1
	}
	if n1+n2 <= exactLimit {
		return math.Min(1, 2/binomial(n1+n2, n1))
	}
	return normalP(float64(n1*n2), n1, n2, 0)
}

// binomial returns C(n, k) as a float.
func binomial(n, k int) float64 {
	if k > n-k {
		k = n - k
	}
	c := 1.0
	for i := 1; i <= k; i++ {
		c = c * float64(n-k+i) / float64(i)
	}
	return c
}

// Holm returns Holm-Bonferroni adjusted p-values: sorted ascending, the
// i-th smallest (from 0) is multiplied by m-i, made non-decreasing, and
// capped at 1. Rejecting where the adjusted value is below alpha controls
// the family-wise error rate at alpha.
func Holm(p []float64) []float64 {
	m := len(p)
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	adj := make([]float64, m)
	run := 0.0
	for i, j := range idx {
		v := math.Min(1, float64(m-i)*p[j])
		run = math.Max(run, v)
		adj[j] = run
	}
	return adj
}
