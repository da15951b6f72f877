package bench

import (
	"reflect"
	"strings"
	"testing"

	"github.com/xenolith/xenolith/hv/mem"
)

func TestParseChildSample(t *testing.T) {
	cases := []struct {
		name string
		line string
		want childSample
		err  string
	}{
		{"no latencies", "sample 10 20 0", childSample{exits: 10, counter: 20}, ""},
		{"latencies", "sample 1 2 3 100 200 300", childSample{1, 2, 3, []float64{100, 200, 300}}, ""},
		{"wrong word", "main", childSample{}, "bad sample line"},
		{"short", "sample 1 2", childSample{}, "bad sample line"},
		{"negative", "sample -1 2 3", childSample{}, "bad sample field"},
		{"overflow", "sample 1 99999999999999999999999 3", childSample{}, "bad sample field"},
		{"bad latency", "sample 1 2 3 x", childSample{}, "bad latency"},
		{"too many latencies", "sample 1 2 3" + strings.Repeat(" 5", maxChildLats+1), childSample{}, "latencies in one sample"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseChildSample(c.line)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

// FuzzParseChildSample: sample lines carry guest-controlled numbers; the
// parser must not panic and must bound what it accepts.
func FuzzParseChildSample(f *testing.F) {
	f.Add("sample 1 2 3 4 5")
	f.Add("sample 0 0 0")
	f.Add("sample 18446744073709551615 1 1 18446744073709551615")
	f.Add("ended stopped")
	f.Fuzz(func(t *testing.T, line string) {
		s, err := parseChildSample(line)
		if err == nil && len(s.lats) > maxChildLats {
			t.Errorf("%d latencies accepted", len(s.lats))
		}
	})
}

func TestRingReader(t *testing.T) {
	m, err := mem.New(1<<20, mem.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	const gpa = 0x10000
	const khz = 1000000 // 1 GHz: one cycle is one ns
	write := func(from, to uint64) {
		for i := from; i < to; i++ {
			m.Store64(mem.GPA(gpa+8+(i%latSlots)*8), 1000+i%7)
		}
		m.Store64(gpa, to)
	}
	var r ringReader
	if lats, n := r.take(m, khz); lats != nil || n != 0 {
		t.Errorf("no ring: %v, %d", lats, n)
	}
	r.follow(gpa)
	write(0, 10)
	lats, n := r.take(m, khz)
	if n != 10 || len(lats) != 10 || lats[0] != 1000 {
		t.Errorf("first take: %d reads, %v", n, lats)
	}
	// The guest lapped the ring: only the newest slots, less a margin.
	write(10, 10+3*latSlots)
	lats, n = r.take(m, khz)
	if n != 3*latSlots || len(lats) != latSlots-64 {
		t.Errorf("lapped: %d reads, %d latencies", n, len(lats))
	}
	// Failed reads (0) are skipped; a sequence that went backwards restarts.
	m.Store64(gpa+8+((10+3*latSlots)%latSlots)*8, 0)
	m.Store64(gpa, 11+3*latSlots)
	if lats, n = r.take(m, khz); n != 1 || len(lats) != 0 {
		t.Errorf("failed read: %d reads, %v", n, lats)
	}
	m.Store64(gpa, 5)
	if lats, n = r.take(m, khz); n != 0 || lats != nil {
		t.Errorf("backwards: %d reads, %v", n, lats)
	}
	// A ring address outside guest RAM yields nothing, not a fault.
	r.follow(1 << 40)
	if lats, n = r.take(m, khz); n != 0 || lats != nil {
		t.Errorf("bad address: %d reads, %v", n, lats)
	}
	r.follow(1<<20 - 16) // seq inside, slots beyond the end
	m.Store64(1<<20-16, 100)
	if lats, _ = r.take(m, khz); len(lats) != 0 {
		t.Errorf("slots beyond RAM: %v", lats)
	}
}

func TestProcCPU(t *testing.T) {
	if d := procCPU("/proc/self/stat"); d < 0 {
		t.Errorf("procCPU = %v", d)
	}
	if d := procCPU("/nonexistent"); d != 0 {
		t.Errorf("missing file: %v", d)
	}
}
