package xen

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"testing"
)

func TestXenVersion(t *testing.T) {
	type tc struct {
		name  string
		opts  Options
		cmd   uint64
		arg   uint64
		setup func(arg []byte)
		want  int64
		check func(t *testing.T, arg []byte)
	}
	str := func(want string, n int) func(*testing.T, []byte) {
		return func(t *testing.T, arg []byte) {
			t.Helper()
			exp := make([]byte, n)
			copy(exp, want)
			if !bytes.Equal(arg[:n], exp) {
				t.Errorf("got %q, want %q", arg[:n], exp)
			}
			if arg[n] != 0xaa {
				t.Errorf("wrote past %d bytes", n)
			}
		}
	}
	zeroIdx := func(a []byte) { binary.LittleEndian.PutUint32(a, 0) }
	tests := []tc{
		{name: "version default", cmd: XenverVersion, want: 4<<16 | 19},
		{name: "version configured", opts: Options{Major: 4, Minor: 20}, cmd: XenverVersion, want: 4<<16 | 20},
		{name: "version ignores arg", cmd: XenverVersion, arg: badGVA, want: 4<<16 | 19},
		{name: "version cmd truncated to int", cmd: 1<<32 | XenverVersion, want: 4<<16 | 19},
		{name: "extraversion", cmd: XenverExtraversion, arg: argGVA, check: str(".0-xenolith", 16)},
		{name: "extraversion truncated", opts: Options{Extraversion: "0123456789abcdefXYZ"},
			cmd: XenverExtraversion, arg: argGVA, check: str("0123456789abcde", 16)},
		{name: "extraversion fault", cmd: XenverExtraversion, arg: badGVA, want: -14},
		{name: "compile_info", opts: Options{CompileDomain: "example.org", CompileDate: "today"},
			cmd: XenverCompileInfo, arg: argGVA, check: func(t *testing.T, a []byte) {
				want := make([]byte, 144)
				copy(want[0:], runtime.Version())
				copy(want[64:], "xenolith")
				copy(want[80:], "example.org")
				copy(want[112:], "today")
				if !bytes.Equal(a[:144], want) {
					t.Errorf("compile_info = %q", a[:144])
				}
			}},
		{name: "compile_info fault", cmd: XenverCompileInfo, arg: badGVA, want: -14},
		{name: "capabilities", cmd: XenverCapabilities, arg: argGVA, check: str("hvm-3.0-x86_64", 1024)},
		{name: "capabilities fault", cmd: XenverCapabilities, arg: badGVA, want: -14},
		{name: "changeset", cmd: XenverChangeset, arg: argGVA, check: str("unavailable", 64)},
		{name: "changeset fault", cmd: XenverChangeset, arg: badGVA, want: -14},
		{name: "platform_parameters", cmd: XenverPlatformParameters, arg: argGVA,
			setup: func(a []byte) { copy(a, bytes.Repeat([]byte{0x55}, 8)) }, check: str("", 8)},
		{name: "platform_parameters fault", cmd: XenverPlatformParameters, arg: badGVA, want: -14},
		{name: "get_features default", cmd: XenverGetFeatures, arg: argGVA, setup: zeroIdx, check: func(t *testing.T, a []byte) {
			if got := binary.LittleEndian.Uint32(a[4:]); got != 0x5 {
				t.Errorf("submap = %#x, want 0x5", got)
			}
		}},
		{name: "get_features configured", opts: Options{Features: 1<<8 | 1<<9 | 5}, cmd: XenverGetFeatures,
			arg: argGVA, setup: zeroIdx, check: func(t *testing.T, a []byte) {
				if got := binary.LittleEndian.Uint32(a[4:]); got != 0x305 {
					t.Errorf("submap = %#x, want 0x305", got)
				}
			}},
		{name: "get_features bad submap", cmd: XenverGetFeatures, arg: argGVA,
			setup: func(a []byte) { binary.LittleEndian.PutUint32(a, 1) }, want: -22},
		{name: "get_features fault", cmd: XenverGetFeatures, arg: badGVA, want: -14},
		{name: "pagesize", cmd: XenverPagesize, want: 4096},
		{name: "pagesize non-null arg", cmd: XenverPagesize, arg: argGVA, want: -22},
		{name: "guest_handle", opts: Options{GuestHandle: [16]byte{1, 2, 3, 15: 16}}, cmd: XenverGuestHandle,
			arg: argGVA, check: func(t *testing.T, a []byte) {
				if want := []byte{1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16}; !bytes.Equal(a[:16], want) {
					t.Errorf("handle = %x", a[:16])
				}
			}},
		{name: "guest_handle fault", cmd: XenverGuestHandle, arg: badGVA, want: -14},
		{name: "commandline denied", cmd: XenverCommandline, arg: argGVA, check: str("<denied>", 9)},
		{name: "commandline fault", cmd: XenverCommandline, arg: badGVA, want: -14},
		{name: "build_id denied", cmd: XenverBuildID, arg: argGVA, want: -1},
		{name: "commandline2 denied", cmd: XenverCommandline2, arg: argGVA, want: -1},
		{name: "extraversion2 length", cmd: XenverExtraversion2, want: int64(len(".0-xenolith"))},
		{name: "extraversion2", cmd: XenverExtraversion2, arg: argGVA,
			setup: func(a []byte) { binary.LittleEndian.PutUint32(a, 64) }, want: 11,
			check: func(t *testing.T, a []byte) {
				if got := string(a[4:16]); got != ".0-xenolith\xaa" {
					t.Errorf("buf = %q", got)
				}
			}},
		{name: "extraversion2 too small", cmd: XenverExtraversion2, arg: argGVA,
			setup: func(a []byte) { binary.LittleEndian.PutUint32(a, 10) }, want: -105},
		{name: "extraversion2 fault", cmd: XenverExtraversion2, arg: badGVA, want: -14},
		{name: "capabilities2", cmd: XenverCapabilities2, arg: argGVA,
			setup: func(a []byte) { binary.LittleEndian.PutUint32(a, 64) }, want: 14},
		{name: "changeset2 length", cmd: XenverChangeset2, want: 11},
		{name: "unknown", cmd: 15, arg: argGVA, want: -38},
		{name: "negative", cmd: 0xffffffff, arg: argGVA, want: -38},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, _, v, arg, _ := newTest(tt.opts)
			for i := range arg {
				arg[i] = 0xaa
			}
			if tt.setup != nil {
				tt.setup(arg)
			}
			got := x.Hypercall(v, Call{Nr: HypercallXenVersion, Args: [5]uint64{tt.cmd, tt.arg}})
			if got != tt.want {
				t.Fatalf("xen_version(%d) = %d, want %d", tt.cmd, got, tt.want)
			}
			if tt.check != nil {
				tt.check(t, arg)
			}
		})
	}
}
