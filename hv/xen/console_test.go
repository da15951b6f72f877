package xen

import (
	"bytes"
	"testing"
)

func TestConsoleIO(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 16*PageSize/16) // the whole 64 KiB buffer
	tests := []struct {
		name    string
		opts    Options
		cmd     uint64
		count   uint64
		buf     uint64
		input   string
		want    int64
		printed []byte
		read    string
	}{
		{name: "write", cmd: ConsoleIOWrite, count: 5, buf: bufGVA, want: 0, printed: big[:5]},
		{name: "write zero", cmd: ConsoleIOWrite, count: 0, buf: badGVA, want: 0},
		{name: "write spans pages", cmd: ConsoleIOWrite, count: 3 * PageSize, buf: bufGVA + 100,
			want: 0, printed: big[100 : 100+3*PageSize]},
		{name: "write fault", cmd: ConsoleIOWrite, count: 5, buf: badGVA, want: -14},
		// The buffer ends at bufGVA+16 pages: the pages before the fault
		// are printed, as Xen prints the chunks before a faulting one.
		{name: "write partial fault", cmd: ConsoleIOWrite, count: 2 * PageSize, buf: bufGVA + 15*PageSize,
			want: -14, printed: big[15*PageSize:]},
		{name: "write count truncated to u32", cmd: ConsoleIOWrite, count: 1<<32 | 3, buf: bufGVA,
			want: 0, printed: big[:3]},
		{name: "write huge count faults", cmd: ConsoleIOWrite, count: 0xffffffff, buf: bufGVA,
			want: -14, printed: big},
		{name: "read", cmd: ConsoleIORead, count: 100, buf: bufGVA, input: "hello", want: 5, read: "hello"},
		{name: "read limited by count", cmd: ConsoleIORead, count: 3, buf: bufGVA, input: "hello", want: 3, read: "hel"},
		{name: "read nothing", cmd: ConsoleIORead, count: 100, buf: bufGVA, want: 0},
		{name: "read fault", cmd: ConsoleIORead, count: 100, buf: badGVA, input: "x", want: -14},
		{name: "read count too big", cmd: ConsoleIORead, count: 0x80000000, buf: bufGVA, input: "x", want: -7},
		{name: "read max count", cmd: ConsoleIORead, count: 0x7fffffff, buf: bufGVA, input: "xy", want: 2, read: "xy"},
		{name: "unknown cmd", cmd: 2, want: -38},
		{name: "denied write", opts: Options{DenyConsoleIO: true}, cmd: ConsoleIOWrite, count: 5, buf: bufGVA, want: -1},
		{name: "denied read", opts: Options{DenyConsoleIO: true}, cmd: ConsoleIORead, count: 5, buf: bufGVA, want: -1},
		{name: "denied unknown", opts: Options{DenyConsoleIO: true}, cmd: 7, want: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, d, v, _, buf := newTest(tt.opts)
			copy(buf, big)
			d.input = []byte(tt.input)
			if tt.read != "" {
				clear(buf)
			}
			got := x.Hypercall(v, Call{Nr: HypercallConsoleIO, Args: [5]uint64{tt.cmd, tt.count, tt.buf}})
			if got != tt.want {
				t.Fatalf("console_io = %d, want %d", got, tt.want)
			}
			if !bytes.Equal(d.console, tt.printed) {
				t.Errorf("printed %d bytes, want %d", len(d.console), len(tt.printed))
			}
			if tt.read != "" && string(buf[:len(tt.read)]) != tt.read {
				t.Errorf("read %q, want %q", buf[:len(tt.read)], tt.read)
			}
		})
	}
}
