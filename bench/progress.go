package bench

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Progress shows where a long run is: the current step, VMs running,
// elapsed time and an estimate of the time left. On a terminal it keeps
// one line up to date (carriage return, no scrolling); with a nil writer
// it is silent, which is what callers pass when stderr is not a terminal.
// Its methods are safe on a nil *Progress.
type Progress struct {
	mu    sync.Mutex // guards everything below
	w     io.Writer  // nil: quiet
	start time.Time
	last  time.Time // last time a line was drawn
	width int       // length of the line on screen, to blank leftovers
	frac  float64   // the last known share of the work done
	now   func() time.Time
}

// NewProgress returns a Progress writing to w; w nil makes it quiet.
func NewProgress(w io.Writer) *Progress {
	return &Progress{w: w, start: time.Now(), now: time.Now}
}

// progressOf wraps a suite's optional writer (nil when quiet).
func progressOf(w io.Writer) *Progress {
	if p, ok := w.(*Progress); ok {
		return p
	}
	return NewProgress(w)
}

// Write lets a Progress stand in for an io.Writer: each line written
// becomes the current status line.
func (p *Progress) Write(b []byte) (int, error) {
	if p == nil {
		return len(b), nil
	}
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	p.Status(s, -1, -1)
	return len(b), nil
}

// Status replaces the status line with step, the VMs running (negative
// leaves them out) and, when frac (0..1] of the work is done, an estimate
// of the time left; a negative frac keeps the last one. Updates closer
// than 100 ms apart are dropped, except the first.
func (p *Progress) Status(step string, running int, frac float64) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if frac < 0 {
		frac = p.frac
	}
	p.frac = frac
	now := p.now()
	if !p.last.IsZero() && now.Sub(p.last) < 100*time.Millisecond && frac < 1 {
		return
	}
	p.last = now
	line := formatStatus(step, running, now.Sub(p.start), frac)
	pad := ""
	if n := p.width - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	p.width = len(line)
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
}

// Done clears the status line (the record path and the tables follow).
func (p *Progress) Done() {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.width > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
		p.width = 0
	}
}

// formatStatus is one status line: step, VMs running, elapsed, estimate.
func formatStatus(step string, running int, elapsed time.Duration, frac float64) string {
	var b strings.Builder
	b.WriteString(step)
	if running >= 0 {
		fmt.Fprintf(&b, " | %d VMs running", running)
	}
	fmt.Fprintf(&b, " | elapsed %s", elapsed.Round(time.Second))
	if frac > 0.02 && frac < 1 {
		left := time.Duration(float64(elapsed) * (1 - frac) / frac)
		fmt.Fprintf(&b, " | about %s left", left.Round(time.Second))
	}
	const maxLen = 160
	if b.Len() > maxLen {
		return b.String()[:maxLen]
	}
	return b.String()
}
