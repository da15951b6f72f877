package devices_test

import (
	"net"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/internal/devices"
	"github.com/xenolith/xenolith/internal/require"
	"github.com/xenolith/xenolith/pvdrivers/xenbus"
)

func TestParseNetSpec(t *testing.T) {
	mac := net.HardwareAddr{0, 0x16, 0x3e, 1, 2, 3}
	tests := []struct {
		in   string
		want devices.NetSpec
		err  bool
	}{
		{"switch:lan0", devices.NetSpec{Kind: devices.NetSwitch, Name: "lan0"}, false},
		{"tap:xtap1", devices.NetSpec{Kind: devices.NetTap, Name: "xtap1"}, false},
		{"switch:lan0,mac=00:16:3e:01:02:03", devices.NetSpec{Kind: devices.NetSwitch, Name: "lan0", MAC: mac}, false},
		{"tap:t,mac=00-16-3e-01-02-03", devices.NetSpec{Kind: devices.NetTap, Name: "t", MAC: mac}, false},
		{"switch:", devices.NetSpec{}, true},
		{"lan0", devices.NetSpec{}, true},
		{"bridge:br0", devices.NetSpec{}, true},
		{"switch:a,mac=zz", devices.NetSpec{}, true},
		{"switch:a,mac=00:11:22:33:44:55:66:77", devices.NetSpec{}, true},
		{"switch:a,mtu=9000", devices.NetSpec{}, true},
		{"tap:this-name-is-too-long", devices.NetSpec{}, true},
		{"tap:a/b", devices.NetSpec{}, true},
	}
	for _, tt := range tests {
		got, err := devices.ParseNetSpec(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("%q: err %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestSharedSwitch(t *testing.T) {
	a, b := devices.SharedSwitch("test-lan"), devices.SharedSwitch("test-lan")
	if a != b || a.Name() != "test-lan" {
		t.Error("two switches for one name")
	}
	if devices.SharedSwitch("other") == a {
		t.Error("one switch for two names")
	}
}

func TestDefaultMAC(t *testing.T) {
	m := devices.DefaultMAC(0x8102, 3)
	if m.String() != "00:16:3e:01:02:03" {
		t.Errorf("DefaultMAC = %s", m)
	}
	if m[0]&3 != 0 {
		t.Error("not a universal unicast address")
	}
}

// TestAttachNet attaches a vif to a VM that is not run and checks what the
// toolstack side wrote to xenstore, then detaches it.
func TestAttachNet(t *testing.T) {
	require.KVM(t)
	img, err := guestkit.Program("spin")
	if err != nil {
		t.Skip(err)
	}
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	m, err := vm.New(sys, vm.Config{MemBytes: 16 << 20, VCPUs: 1, Kernel: img, Cmdline: "spin 1"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	spec, err := devices.ParseNetSpec("switch:attach-test")
	if err != nil {
		t.Fatal(err)
	}
	n, err := devices.AttachNet(m, 0, spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if devices.SharedSwitch("attach-test").Ports() != 1 {
		t.Error("vif not on the switch")
	}
	c := m.Store().Dom0()
	dom := strconv.Itoa(int(m.DomID()))
	be := "/local/domain/0/backend/vif/" + dom + "/0"
	fe := "/local/domain/" + dom + "/device/vif/0"
	for path, want := range map[string]string{
		be + "/mac": n.MAC().String(), fe + "/mac": n.MAC().String(),
		be + "/feature-rx-copy": "1", be + "/frontend": fe, fe + "/backend": be,
	} {
		if v, err := c.Read(path); err != nil || string(v) != want {
			t.Errorf("%s = %q (%v), want %q", path, v, err, want)
		}
	}
	deadline := 5000
	for ; deadline > 0; deadline-- {
		if v, _ := c.Read(be + "/state"); string(v) == strconv.Itoa(int(xenbus.StateInitWait)) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if deadline == 0 {
		t.Error("backend never reached InitWait")
	}
	if err := n.Close(); err != nil {
		t.Error(err)
	}
	if devices.SharedSwitch("attach-test").Ports() != 0 {
		t.Error("vif still on the switch")
	}
}

func FuzzParseNetSpec(f *testing.F) {
	for _, s := range []string{"switch:lan0", "tap:t0,mac=00:16:3e:00:00:01", "x:", ",", "switch:a,mac="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := devices.ParseNetSpec(s)
		if err == nil && (spec.Name == "" || (spec.MAC != nil && len(spec.MAC) != 6)) {
			t.Fatalf("%q parsed to %+v", s, spec)
		}
	})
}
