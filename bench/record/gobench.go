package record

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"github.com/xenolith/xenolith/bench"
)

// WriteGobench writes results in the Go benchmark format, so that
// `benchstat old.txt new.txt` compares two invocations: a header of goos,
// goarch, pkg and cpu lines, then one line per run value,
//
//	BenchmarkSuite/metric_name 1 <value> <unit>
//
// where a suite "evtchn" becomes BenchmarkEvtchn, a metric name becomes an
// identifier of letters, digits and '_' ("->" reads "to"), and unit "ns"
// becomes "ns/op". A metric without run values contributes its median once.
func WriteGobench(w io.Writer, host Host, results ...*bench.Result) error {
	bw := bufio.NewWriter(w)
	cpu := host.CPUModel
	if cpu == "" {
		cpu = "unknown"
	}
	fmt.Fprintf(bw, "goos: %s\ngoarch: %s\npkg: %s/bench\ncpu: %s\n", orUnknown(host.OS), orUnknown(host.Arch), modulePath, oneLine(cpu))
	for _, res := range results {
		if res == nil {
			continue
		}
		prefix := "Benchmark" + upperFirst(GobenchName(res.Suite))
		used := map[string]int{}
		for _, m := range res.Metrics {
			name := GobenchName(m.Name)
			used[name]++
			if n := used[name]; n > 1 {
				name = fmt.Sprintf("%s_%d", name, n)
			}
			unit := gobenchUnit(m.Unit)
			vals := m.Runs
			if len(vals) == 0 {
				vals = []float64{m.Summary.P50}
			}
			for _, v := range vals {
				fmt.Fprintf(bw, "%s/%s 1 %s %s\n", prefix, name, strconv.FormatFloat(v, 'g', -1, 64), unit)
			}
		}
	}
	return bw.Flush()
}

// GobenchName turns a metric or suite name into a benchmark name element:
// letters, digits and single underscores, "->" read as "to".
func GobenchName(s string) string {
	s = strings.ReplaceAll(s, "->", " to ")
	var b strings.Builder
	under := false
	for _, c := range s {
		if c < unicode.MaxASCII && (unicode.IsLetter(c) || unicode.IsDigit(c)) {
			b.WriteRune(c)
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
	}
	out := strings.Trim(b.String(), "_")
	if out == "" {
		return "unnamed"
	}
	return out
}

// gobenchUnit maps a metric unit to a benchmark unit without spaces.
func gobenchUnit(u string) string {
	switch u {
	case "ns":
		return "ns/op"
	case "":
		return "count"
	}
	return strings.Join(strings.Fields(u), "-")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// oneLine replaces line breaks, which would end a header line early.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}
