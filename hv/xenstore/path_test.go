package xenstore

import (
	"errors"
	"strings"
	"testing"
)

func TestCanonicalize(t *testing.T) {
	home := "/local/domain/5"
	long := strings.Repeat("a", 2040)
	tests := []struct {
		in           string
		special      bool
		relMax       int
		want         string
		rel, wantBad bool
	}{
		{in: "/", relMax: -1, want: "/"},
		{in: "/a/b", relMax: -1, want: "/a/b"},
		{in: "a/b", relMax: -1, want: home + "/a/b", rel: true},
		{in: "", relMax: -1, wantBad: true},
		{in: "a/", relMax: -1, wantBad: true},
		{in: "/a//b", relMax: -1, wantBad: true},
		{in: "/a b", relMax: -1, wantBad: true},
		{in: "/a\x01", relMax: -1, wantBad: true},
		{in: "/A-z_0@9", relMax: -1, want: "/A-z_0@9"},
		{in: "@releaseDomain", relMax: -1, wantBad: true},
		{in: "@releaseDomain", special: true, relMax: -1, want: "@releaseDomain"},
		{in: "@releaseDomain/5", special: true, relMax: -1, want: "@releaseDomain/5"},
		{in: "/" + strings.Repeat("a", AbsPathMax), relMax: -1, wantBad: true},
		{in: "/" + strings.Repeat("a", AbsPathMax-1), relMax: -1, want: "/" + strings.Repeat("a", AbsPathMax-1)},
		{in: long, relMax: 2048, want: home + "/" + long, rel: true},
		{in: long + "/bbbbbbbbbb", relMax: 2048, wantBad: true},
		{in: "/local/domain/6/" + long, relMax: 2048, want: "/local/domain/6/" + long},
		{in: "/other/" + long + "bbbb", relMax: 2048, wantBad: true},
	}
	for _, tc := range tests {
		got, rel, ok := canonicalize(tc.in, home, tc.special, tc.relMax)
		if ok == tc.wantBad || got != tc.want || rel != tc.rel {
			t.Errorf("canonicalize(%.40q, special=%v) = %.40q, %v, %v; want %.40q, %v, ok=%v",
				tc.in, tc.special, got, rel, ok, tc.want, tc.rel, !tc.wantBad)
		}
	}
}

func TestPathHelpers(t *testing.T) {
	parents := map[string]string{"/a": "/", "/a/b": "/a", "@x": "/", "@x/5": "@x", "/": "/"}
	for in, want := range parents {
		if got := parentPath(in); got != want {
			t.Errorf("parentPath(%q) = %q, want %q", in, got, want)
		}
	}
	children := []struct {
		child, parent string
		depth         int
		want          bool
	}{
		{"/a/b", "/a", -1, true},
		{"/a", "/a", -1, true},
		{"/ab", "/a", -1, false},
		{"/a/b/c", "/", -1, true},
		{"/a", "/", 0, false},
		{"/a", "/", 1, true},
		{"/a/b", "/", 1, false},
		{"/a/b", "/a", 0, false},
		{"/a/b", "/a", 1, true},
		{"/a/b/c", "/a", 1, false},
		{"/a/b/c", "/a", 2, true},
		{"@releaseDomain/5", "@releaseDomain", 1, true},
		{"@releaseDomain", "/", -1, false},
	}
	for _, tc := range children {
		if got := isChild(tc.child, tc.parent, tc.depth); got != tc.want {
			t.Errorf("isChild(%q, %q, %d) = %v", tc.child, tc.parent, tc.depth, got)
		}
	}
	for in, want := range map[string]int{"/local/domain/5/x": 16, "/local/domain/12345/x": 20,
		"/local/domain/123456/x": 0, "/local/domain/5": 0, "/local/domain//x": 0, "/x": 0} {
		if got := localOffset(in); got != want {
			t.Errorf("localOffset(%q) = %d, want %d", in, got, want)
		}
	}
	for in, want := range map[string]int64{"12": 12, "-3": -3, "+4x": 4, "": 0, "x": 0, "99999999999999999999": 1 << 40} {
		if got := atoi(in); (want == 1<<40 && got < want) || (want != 1<<40 && got != want) {
			t.Errorf("atoi(%q) = %d, want %d", in, got, want)
		}
	}
	for in, ok := range map[string]bool{"0": true, "65535": true, "65536": false, "-1": false, "": false, "1x": false, "+1": false} {
		if _, got := parseDomID(in); got != ok {
			t.Errorf("parseDomID(%q) ok = %v, want %v", in, got, ok)
		}
	}
}

func TestPerms(t *testing.T) {
	for _, s := range []string{"n0", "r5", "w65535", "b32756"} {
		p, err := ParsePerm(s)
		if err != nil || p.String() != s {
			t.Errorf("ParsePerm(%q) = %v, %v", s, p, err)
		}
	}
	for _, s := range []string{"", "r", "x5", "r-1", "r65536", "r5 ", "R5"} {
		if _, err := ParsePerm(s); !errors.Is(err, EINVAL) {
			t.Errorf("ParsePerm(%q) error %v, want EINVAL", s, err)
		}
	}
}

func TestWireCodec(t *testing.T) {
	m := Message{Type: TypeWrite, ReqID: 0x01020304, TxID: 7, Payload: []byte("a\x00b")}
	b, err := m.Append([]byte("prefix"))
	if err != nil {
		t.Fatal(err)
	}
	want := "prefix\x0b\x00\x00\x00\x04\x03\x02\x01\x07\x00\x00\x00\x03\x00\x00\x00a\x00b"
	if string(b) != want {
		t.Fatalf("Append = %q, want %q", b, want)
	}
	got, n, err := ParseMessage(append(b[6:], "next"...))
	if err != nil || n != HeaderSize+3 || got.Type != m.Type || got.ReqID != m.ReqID || got.TxID != m.TxID || string(got.Payload) != "a\x00b" {
		t.Fatalf("ParseMessage = %+v, %d, %v", got, n, err)
	}
	if _, _, err := ParseMessage(b[6 : 6+HeaderSize+2]); !errors.Is(err, ErrShortMessage) {
		t.Errorf("short message: %v", err)
	}
	if _, _, err := ParseMessage(Header{Len: PayloadMax + 1}.Append(nil)); !errors.Is(err, ErrPayloadTooLarge) {
		t.Errorf("oversized: %v", err)
	}
	if _, err := (Message{Payload: make([]byte, PayloadMax+1)}).Append(nil); !errors.Is(err, ErrPayloadTooLarge) {
		t.Errorf("oversized Append: %v", err)
	}
	if TypeDirectoryPart.String() != "DIRECTORY_PART" || MsgType(20).String() != "type(20)" {
		t.Errorf("MsgType.String: %v %v", TypeDirectoryPart, MsgType(20))
	}
}

func TestABIConstants(t *testing.T) {
	// Offsets of struct xenstore_domain_interface and the type numbers of
	// enum xsd_sockmsg_type (xs_wire.h).
	offs := []int{RingReqOff, RingRspOff, RingReqConsOff, RingReqProdOff, RingRspConsOff, RingRspProdOff,
		RingFeaturesOff, RingConnectionOff, RingErrorOff, RingEvtchnOff, RingInterfaceSize}
	want := []int{0, 1024, 2048, 2052, 2056, 2060, 2064, 2068, 2072, 2076, 2080}
	for i := range offs {
		if offs[i] != want[i] {
			t.Errorf("offset %d = %d, want %d", i, offs[i], want[i])
		}
	}
	if TypeSetTarget != 19 || TypeResetWatches != 21 || TypeSetQuota != 26 || TypeInvalid != 0xffff {
		t.Error("message type numbers differ from xs_wire.h")
	}
}
