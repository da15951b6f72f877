package compare

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

// Expected values are R's wilcox.test(x, y) (two-sided), worked out by
// hand and by enumeration for the small exact cases, and by R's formula
// for the normal approximation.
func TestMannWhitneyKnown(t *testing.T) {
	seq := func(lo, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(lo + i)
		}
		return out
	}
	mod := func(n, m, add int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(i%m + add)
		}
		return out
	}
	for _, c := range []struct {
		name  string
		x, y  []float64
		u, p  float64
		exact bool
	}{
		// W = 0, p-value = 0.1
		{"separated 3v3", []float64{1, 2, 3}, []float64{4, 5, 6}, 0, 0.1, true},
		// W = 9, p-value = 0.1
		{"separated 3v3 reversed", []float64{4, 5, 6}, []float64{1, 2, 3}, 9, 0.1, true},
		// W = 0, p-value = 0.007937 (2/252)
		{"separated 5v5", seq(1, 5), seq(6, 5), 0, 2.0 / 252, true},
		// R's ?wilcox.test example: W = 35, p-value = 0.1272 one-sided.
		{"R example", []float64{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46},
			[]float64{1.15, 0.88, 0.90, 0.74, 1.21}, 35, 0.2544122544122544, true},
		// Interleaved: W = 2 of 4 pairs... x={1,4}, y={2,3}: U=2, p=1.
		{"interleaved", []float64{1, 4}, []float64{2, 3}, 2, 1, true},
		{"all tied", []float64{5, 5, 5}, []float64{5, 5, 5}, 4.5, 1, true},
		// 70 values with heavy ties: normal approximation with tie and
		// continuity corrections, W = 388.5, p-value = 0.008371.
		{"normal, ties", mod(35, 10, 0), mod(35, 10, 2), 388.5, 0.008370678515616306, false},
		{"empty", nil, []float64{1}, 0, 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := MannWhitney(c.x, c.y)
			if got.U != c.u || !near(got.P, c.p, 1e-9) || got.Exact != c.exact {
				t.Errorf("MannWhitney = %+v, want U %v, p %v, exact %v", got, c.u, c.p, c.exact)
			}
		})
	}
}

// R: wilcox.test(c(1,2,2,3), c(2,3,4,4,5), exact = FALSE): W = 2.5,
// p-value = 0.07855.
func TestNormalPTies(t *testing.T) {
	x, y := []float64{1, 2, 2, 3}, []float64{2, 3, 4, 4, 5}
	ranks, ties := midRanks(x, y)
	if ties != 36 {
		t.Errorf("tie term %v, want 36", ties)
	}
	var rx float64
	for _, r := range ranks[:4] {
		rx += r
	}
	if u := rx - 10; u != 2.5 {
		t.Fatalf("U = %v, want 2.5", u)
	}
	if p := normalP(2.5, 4, 5, ties); !near(p, 0.0785458509511907, 1e-9) {
		t.Errorf("normalP = %v, want 0.07855", p)
	}
}

// exactP must agree with a brute-force enumeration of every split of the
// pooled ranks, ties included.
func TestExactPAgainstEnumeration(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for trial := 0; trial < 300; trial++ {
		n1, n2 := 1+r.IntN(6), 1+r.IntN(6)
		x, y := make([]float64, n1), make([]float64, n2)
		for i := range x {
			x[i] = float64(r.IntN(5))
		}
		for i := range y {
			y[i] = float64(r.IntN(5))
		}
		got := MannWhitney(x, y)
		want := enumerateP(x, y)
		if !near(got.P, want, 1e-12) {
			t.Fatalf("x %v y %v: p %v, enumeration %v", x, y, got.P, want)
		}
		if got.P <= 0 || got.P > 1 {
			t.Fatalf("p %v out of range", got.P)
		}
	}
}

func enumerateP(x, y []float64) float64 {
	ranks, _ := midRanks(x, y)
	n1 := len(x)
	var obs float64
	for _, v := range ranks[:n1] {
		obs += v
	}
	var all, le, ge float64
	n := len(ranks)
	for mask := 0; mask < 1<<n; mask++ {
		count, sum := 0, 0.0
		for i := 0; i < n; i++ {
			if mask&(1<<i) != 0 {
				count++
				sum += ranks[i]
			}
		}
		if count != n1 {
			continue
		}
		all++
		if sum <= obs+1e-9 {
			le++
		}
		if sum >= obs-1e-9 {
			ge++
		}
	}
	return math.Min(1, 2*math.Min(le, ge)/all)
}

// Past exactLimit the normal approximation takes over; near the boundary
// it must agree with the exact distribution.
func TestNormalNearExact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for trial := 0; trial < 20; trial++ {
		x, y := make([]float64, 35), make([]float64, 35)
		for i := range x {
			x[i] = r.NormFloat64()
			y[i] = r.NormFloat64() + 0.5
		}
		ranks, ties := midRanks(x, y)
		var rx float64
		for _, v := range ranks[:35] {
			rx += v
		}
		exact := exactP(ranks, 35, rx)
		approx := MannWhitney(x, y)
		if approx.Exact {
			t.Fatal("70 values tested exactly")
		}
		if exact > 1e-4 && math.Abs(approx.P-exact) > 0.1*exact+1e-3 {
			t.Errorf("normal p %v vs exact %v (ties %v)", approx.P, exact, ties)
		}
	}
}

func TestMinP(t *testing.T) {
	for _, c := range []struct {
		n1, n2 int
		want   float64
	}{
		{3, 3, 0.1}, {5, 5, 2.0 / 252}, {10, 10, 2.0 / 184756}, {0, 4, 1}, {1, 1, 1},
	} {
		if got := MinP(c.n1, c.n2); !near(got, c.want, 1e-12) {
			t.Errorf("MinP(%d, %d) = %v, want %v", c.n1, c.n2, got, c.want)
		}
	}
	if p := MinP(40, 40); p <= 0 || p > 1e-10 {
		t.Errorf("MinP(40, 40) = %v", p)
	}
}

// R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") = 0.03 0.06 0.06 0.02.
func TestHolm(t *testing.T) {
	for _, c := range []struct{ in, want []float64 }{
		{[]float64{0.01, 0.04, 0.03, 0.005}, []float64{0.03, 0.06, 0.06, 0.02}},
		{[]float64{0.5, 0.9}, []float64{1, 1}},
		{[]float64{0.02}, []float64{0.02}},
		{nil, []float64{}},
	} {
		got := Holm(c.in)
		if len(got) != len(c.want) {
			t.Fatalf("Holm(%v) = %v", c.in, got)
		}
		for i := range got {
			if !near(got[i], c.want[i], 1e-12) {
				t.Errorf("Holm(%v) = %v, want %v", c.in, got, c.want)
				break
			}
		}
	}
}

func FuzzMannWhitney(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6}, uint8(3))
	f.Add([]byte{5, 5, 5, 5}, uint8(2))
	f.Add(make([]byte, 70), uint8(30))
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		if len(data) > 200 {
			data = data[:200]
		}
		k := int(split)
		if k > len(data) {
			k = len(data)
		}
		x, y := make([]float64, k), make([]float64, len(data)-k)
		for i, b := range data {
			if i < k {
				x[i] = float64(b)
			} else {
				y[i-k] = float64(b)
			}
		}
		got := MannWhitney(x, y)
		if !(got.P > 0 && got.P <= 1) || got.U < 0 || got.U > float64(len(x)*len(y)) {
			t.Fatalf("MannWhitney(%v, %v) = %+v", x, y, got)
		}
	})
}
