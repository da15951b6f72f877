package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestFormatStatus(t *testing.T) {
	cases := []struct {
		name    string
		step    string
		running int
		el      time.Duration
		frac    float64
		want    string
	}{
		{"no VMs, no estimate", "hypercall: run 1/5", -1, 3 * time.Second, 0, "hypercall: run 1/5 | elapsed 3s"},
		{"VMs and estimate", "density idle: step to 100 VMs", 40, 10 * time.Second, 0.25, "density idle: step to 100 VMs | 40 VMs running | elapsed 10s | about 30s left"},
		{"too early for an estimate", "x", 0, time.Second, 0.01, "x | 0 VMs running | elapsed 1s"},
		{"finished", "x", 5, time.Second, 1, "x | 5 VMs running | elapsed 1s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := formatStatus(c.step, c.running, c.el, c.frac); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	if got := formatStatus(strings.Repeat("x", 500), -1, 0, 0); len(got) > 160 {
		t.Errorf("status line of %d characters", len(got))
	}
}

func TestProgressLine(t *testing.T) {
	var b bytes.Buffer
	now := time.Unix(1000, 0)
	p := NewProgress(&b)
	p.start, p.now = now, func() time.Time { return now }
	p.Status("a long first step", 3, 0.5)
	now = now.Add(50 * time.Millisecond)
	p.Status("dropped: too soon", 3, 0.6)
	now = now.Add(time.Second)
	p.Status("short", -1, -1)
	p.Done()
	out := b.String()
	if strings.Contains(out, "\n") {
		t.Errorf("progress scrolled: %q", out)
	}
	if strings.Contains(out, "dropped") {
		t.Errorf("an update 50 ms after the last was drawn: %q", out)
	}
	parts := strings.Split(out, "\r")
	// "", first, second (padded over the first), blank, "".
	if len(parts) != 5 || !strings.HasPrefix(parts[2], "short | elapsed 1s | about 1s left") {
		t.Fatalf("unexpected line sequence %q", parts)
	}
	if len(parts[2]) != len(parts[1]) {
		t.Errorf("a shorter line does not blank the longer one: %q after %q", parts[2], parts[1])
	}
	if strings.TrimSpace(parts[3]) != "" {
		t.Errorf("Done did not clear the line: %q", parts[3])
	}
}

func TestProgressQuiet(t *testing.T) {
	var p *Progress
	p.Status("x", 1, 0.5) // nil: no panic
	p.Done()
	if n, err := p.Write([]byte("line\n")); n != 5 || err != nil {
		t.Errorf("nil Write = %d, %v", n, err)
	}
	q := NewProgress(nil)
	q.Status("x", 1, 0.5)
	q.Write([]byte("y\n"))
	q.Done()
	if progressOf(nil).w != nil {
		t.Error("progressOf(nil) is not quiet")
	}
	var b bytes.Buffer
	pw := NewProgress(&b)
	if progressOf(pw) != pw {
		t.Error("progressOf does not reuse a Progress")
	}
	pw.Write([]byte("hypercall: run 1/5\n"))
	if !strings.Contains(b.String(), "\rhypercall: run 1/5 | elapsed") {
		t.Errorf("written line not shown as status: %q", b.String())
	}
}
