package bench

import (
	"errors"
	"strings"
	"testing"

	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/internal/require"
)

func TestPayloadRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		size int
		h    Payload
	}{
		{32, Payload{Kind: PayloadEnd, Seq: 7, Stream: 1}},
		{33, Payload{Kind: PayloadData, Seq: 1, Stream: 2}},
		{64, Payload{Kind: PayloadRequest, Seq: 1 << 40, Stamp: 99, Stream: 3}},
		{1400, Payload{Kind: PayloadData, Seq: 123456, Stream: 0xffffffff}},
		{1472, Payload{Kind: PayloadResponse, Seq: ^uint64(0), Stamp: 5, Stream: 9}},
	} {
		b := make([]byte, tc.size)
		FillPayload(b, tc.h)
		got, err := ParsePayload(b)
		if err != nil || got != tc.h {
			t.Errorf("size %d: got %+v, %v; want %+v", tc.size, got, err, tc.h)
			continue
		}
		for _, i := range []int{0, 5, 7, 9, 20, 27, 28, tc.size - 1} {
			c := append([]byte(nil), b...)
			c[i] ^= 0x10
			if _, err := ParsePayload(c); !errors.Is(err, ErrPayload) {
				t.Errorf("size %d: byte %d flipped, parse error %v", tc.size, i, err)
			}
		}
		if _, err := ParsePayload(b[:len(b)-1]); err == nil {
			t.Errorf("size %d: truncated payload accepted", tc.size)
		}
	}
	b := make([]byte, 100)
	FillPayload(b, Payload{Kind: PayloadRequest, Seq: 3, Stream: 4})
	SetPayloadKind(b, PayloadResponse)
	if h, err := ParsePayload(b); err != nil || h.Kind != PayloadResponse || h.Seq != 3 {
		t.Errorf("after SetPayloadKind: %+v, %v", h, err)
	}
}

// FuzzParsePayload feeds arbitrary datagrams (as a guest may send them) to
// the parser: it must never panic, and what it accepts must be well formed.
func FuzzParsePayload(f *testing.F) {
	b := make([]byte, 64)
	FillPayload(b, Payload{Kind: PayloadData, Seq: 1, Stream: 1})
	f.Add(b)
	f.Add([]byte{})
	f.Add(make([]byte, 31))
	f.Add([]byte(strings.Repeat("XBN1", 10)))
	f.Fuzz(func(t *testing.T, p []byte) {
		h, err := ParsePayload(p)
		if err != nil {
			return
		}
		if len(p) < PayloadHeader || int(p[6])|int(p[7])<<8 != len(p) {
			t.Fatalf("accepted a malformed payload of %d bytes: %+v", len(p), h)
		}
	})
}

func TestInetChecksum(t *testing.T) {
	// RFC 1071's example words sum to 0xddf2 before complementing.
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := inetChecksum(b); got != ^uint16(0xddf2) {
		t.Errorf("checksum %#x, want %#x", got, ^uint16(0xddf2))
	}
}

// TestNetSuiteShort runs the whole suite once with small counts: every
// path (veth, VM->VM, VM->host, round trips) must work end to end.
func TestNetSuiteShort(t *testing.T) {
	require.KVM(t)
	require.Root(t)
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	res, err := Net(sys, NetOptions{Runs: 1, Packets: 3000, Sizes: []int{1400}, RoundTrips: 200})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"UDP stream 1400 B throughput, host veth (floor)",
		"UDP stream 1400 B throughput, VM->VM switch",
		"UDP stream 1400 B throughput, VM->host tap",
		"UDP 64 B round trip, VM<->VM switch",
		"UDP 64 B round trip, host<->VM tap",
	}
	got := map[string]Metric{}
	for _, m := range res.Metrics {
		got[m.Name] = m
		t.Logf("%-80s %12.1f %s (ratio %.2f)", m.Name, m.Summary.P50, m.Unit, m.Ratio)
	}
	for _, n := range want {
		if m, ok := got[n]; !ok || m.Summary.N == 0 || m.Summary.P50 <= 0 {
			t.Errorf("metric %q missing or zero", n)
		}
	}
}
