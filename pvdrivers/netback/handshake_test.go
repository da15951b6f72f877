package netback

import (
	"context"
	"fmt"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/xenolith/xenolith/hv/xenstore"
	"github.com/xenolith/xenolith/pvdrivers/xenbus"
)

// mapReader is a frontend directory in a map; missing keys are ENOENT.
type mapReader map[string]string

func (m mapReader) Read(key string) (string, error) {
	v, ok := m[key]
	if !ok {
		return "", fmt.Errorf("read %s: %w", key, xenstore.ENOENT)
	}
	return v, nil
}

// with returns a copy of m with kv (pairs) set; an empty value deletes.
func (m mapReader) with(kv ...string) mapReader {
	out := mapReader{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

func TestReadRingConfig(t *testing.T) {
	// What Linux netfront writes for one queue without split channels.
	linux := mapReader{"tx-ring-ref": "8", "rx-ring-ref": "9", "event-channel": "5",
		"request-rx-copy": "1", "feature-rx-notify": "1", "feature-sg": "1",
		"feature-gso-tcpv4": "1", "feature-gso-tcpv6": "1", "feature-ipv6-csum-offload": "1",
		"multi-queue-num-queues": "1"}
	tests := []struct {
		name string
		keys mapReader
		want RingConfig
		err  bool
	}{
		{"linux single channel", linux, RingConfig{TxRef: 8, RxRef: 9, TxPort: 5, RxPort: 5, SG: true}, false},
		{"split channels", linux.with("event-channel", "", "event-channel-tx", "6", "event-channel-rx", "7"),
			RingConfig{TxRef: 8, RxRef: 9, TxPort: 6, RxPort: 7, Split: true, SG: true}, false},
		{"no sg, no queue key", linux.with("feature-sg", "", "multi-queue-num-queues", ""),
			RingConfig{TxRef: 8, RxRef: 9, TxPort: 5, RxPort: 5}, false},
		{"only tx channel", linux.with("event-channel", "", "event-channel-tx", "6"), RingConfig{}, true},
		{"two queues", linux.with("multi-queue-num-queues", "2"), RingConfig{}, true},
		{"no rx ring", linux.with("rx-ring-ref", ""), RingConfig{}, true},
		{"no event channel", linux.with("event-channel", ""), RingConfig{}, true},
		{"rx flip", linux.with("request-rx-copy", ""), RingConfig{}, true},
		{"rx flip explicit", linux.with("request-rx-copy", "0"), RingConfig{}, true},
		{"no rx notify", linux.with("feature-rx-notify", ""), RingConfig{}, true},
		{"ref not a number", linux.with("tx-ring-ref", "x"), RingConfig{}, true},
		{"ref too big", linux.with("tx-ring-ref", "4294967296"), RingConfig{}, true},
		{"sg of 2", linux.with("feature-sg", "2"), RingConfig{}, true},
	}
	for _, tt := range tests {
		got, err := ReadRingConfig(tt.keys)
		if (err != nil) != tt.err {
			t.Errorf("%s: err %v, want error %v", tt.name, err, tt.err)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// TestHandlerXenbus runs the handshake through xenbus and an in-process
// xenstore as Linux netfront drives it: it reads the backend's features and
// its own mac, writes its ring keys and goes straight to Connected.
func TestHandlerXenbus(t *testing.T) {
	s := xenstore.New(xenstore.Options{})
	if err := s.Introduce(3); err != nil {
		t.Fatal(err)
	}
	c := s.Dom0()
	mac := net.HardwareAddr{0, 0x16, 0x3e, 0, 3, 0}
	dev, err := xenbus.Create(c, "vif", 3, 0, BackendKeys(mac, 0))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range FrontendKeys(mac) {
		c.Write(dev.FrontendPath+"/"+k, []byte(v))
	}
	started := make(chan RingConfig, 1)
	stopped := make(chan struct{}, 1)
	h := &Handler{
		Start: func(cfg RingConfig) error { started <- cfg; return nil },
		Stop:  func() { stopped <- struct{}{} },
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go dev.Run(ctx, h)
	waitFor(t, "InitWait", func() bool { return dev.State() == xenbus.StateInitWait })
	for k, want := range map[string]string{
		"mac": "00:16:3e:00:03:00", "handle": "0", "feature-rx-copy": "1", "feature-rx-flip": "0",
		"feature-sg": "1", "feature-split-event-channels": "1", "multi-queue-max-queues": "1",
	} {
		if v, _ := c.Read(dev.BackendPath + "/" + k); string(v) != want {
			t.Errorf("backend %s = %q, want %q", k, v, want)
		}
	}
	if v, _ := c.Read(dev.BackendPath + "/feature-gso-tcpv4"); len(v) != 0 {
		t.Errorf("feature-gso-tcpv4 offered: %q", v)
	}
	if v, _ := c.Read(dev.FrontendPath + "/mac"); string(v) != mac.String() {
		t.Errorf("frontend mac = %q", v)
	}
	for k, v := range map[string]string{"tx-ring-ref": "11", "rx-ring-ref": "12",
		"event-channel-tx": "9", "event-channel-rx": "10", "request-rx-copy": "1",
		"feature-rx-notify": "1", "feature-sg": "1"} {
		c.Write(dev.FrontendPath+"/"+k, []byte(v))
	}
	c.Write(dev.FrontendPath+"/state", []byte("4"))
	select {
	case cfg := <-started:
		want := RingConfig{TxRef: 11, RxRef: 12, TxPort: 9, RxPort: 10, Split: true, SG: true}
		if cfg != want {
			t.Errorf("Start got %+v, want %+v", cfg, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Start not called")
	}
	waitFor(t, "Connected", func() bool { return dev.State() == xenbus.StateConnected })
	c.Write(dev.FrontendPath+"/state", []byte("5"))
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop not called")
	}
}

// TestHandlerRefusesFlip: a frontend without rx-copy is refused with an
// error node.
func TestHandlerRefusesFlip(t *testing.T) {
	s := xenstore.New(xenstore.Options{})
	s.Introduce(4)
	c := s.Dom0()
	dev, err := xenbus.Create(c, "vif", 4, 0, BackendKeys(net.HardwareAddr{0, 0x16, 0x3e, 0, 4, 0}, 0))
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{Start: func(RingConfig) error { t.Error("started"); return nil }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go dev.Run(ctx, h)
	waitFor(t, "InitWait", func() bool { return dev.State() == xenbus.StateInitWait })
	for k, v := range map[string]string{"tx-ring-ref": "11", "rx-ring-ref": "12", "event-channel": "9", "feature-rx-notify": "1"} {
		c.Write(dev.FrontendPath+"/"+k, []byte(v))
	}
	c.Write(dev.FrontendPath+"/state", []byte("4"))
	waitFor(t, "Closing", func() bool { return dev.State() == xenbus.StateClosing })
	if v, _ := c.Read(dev.BackendPath + "/error"); len(v) == 0 {
		t.Error("no error node")
	}
}
