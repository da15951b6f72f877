package blkback

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
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

func TestReadRingConfig(t *testing.T) {
	tests := []struct {
		name  string
		keys  mapReader
		order int
		want  RingConfig
		err   bool
	}{
		{"single page", mapReader{"ring-ref": "8", "event-channel": "5", "protocol": "x86_64-abi"}, 0,
			RingConfig{Refs: []uint32{8}, EventChannel: 5, Protocol: ProtocolNative}, false},
		{"no protocol", mapReader{"ring-ref": "8", "event-channel": "5"}, 0,
			RingConfig{Refs: []uint32{8}, EventChannel: 5, Protocol: ProtocolNative}, false},
		{"two pages", mapReader{"ring-page-order": "1", "ring-ref0": "9", "ring-ref1": "10", "event-channel": "7"}, 2,
			RingConfig{PageOrder: 1, Refs: []uint32{9, 10}, EventChannel: 7, Protocol: ProtocolNative}, false},
		{"order 0 with ring-ref0", mapReader{"ring-page-order": "0", "ring-ref0": "3", "event-channel": "1"}, 2,
			RingConfig{Refs: []uint32{3}, EventChannel: 1, Protocol: ProtocolNative}, false},
		{"persistent", mapReader{"ring-ref": "8", "event-channel": "5", "feature-persistent": "1"}, 0,
			RingConfig{Refs: []uint32{8}, EventChannel: 5, Protocol: ProtocolNative, Persistent: true}, false},
		{"not persistent", mapReader{"ring-ref": "8", "event-channel": "5", "feature-persistent": "0"}, 0,
			RingConfig{Refs: []uint32{8}, EventChannel: 5, Protocol: ProtocolNative}, false},
		{"bad persistent", mapReader{"ring-ref": "8", "event-channel": "5", "feature-persistent": "yes"}, 0, RingConfig{}, true},
		{"one queue", mapReader{"multi-queue-num-queues": "1", "ring-ref": "8", "event-channel": "5"}, 0,
			RingConfig{Refs: []uint32{8}, EventChannel: 5, Protocol: ProtocolNative}, false},
		{"order above max", mapReader{"ring-page-order": "3", "ring-ref0": "9", "event-channel": "7"}, 2, RingConfig{}, true},
		{"missing ref of multi-page", mapReader{"ring-page-order": "1", "ring-ref0": "9", "event-channel": "7"}, 1, RingConfig{}, true},
		{"32-bit abi", mapReader{"ring-ref": "8", "event-channel": "5", "protocol": "x86_32-abi"}, 0, RingConfig{}, true},
		{"no ring-ref", mapReader{"event-channel": "5"}, 0, RingConfig{}, true},
		{"no event channel", mapReader{"ring-ref": "5"}, 0, RingConfig{}, true},
		{"ref too big", mapReader{"ring-ref": "4294967296", "event-channel": "5"}, 0, RingConfig{}, true},
		{"ref not a number", mapReader{"ring-ref": "-1", "event-channel": "5"}, 0, RingConfig{}, true},
		{"four queues", mapReader{"multi-queue-num-queues": "4", "ring-ref": "8", "event-channel": "5"}, 0, RingConfig{}, true},
	}
	for _, tt := range tests {
		got, err := ReadRingConfig(tt.keys, tt.order)
		if (err != nil) != tt.err {
			t.Errorf("%s: err %v, want error %v", tt.name, err, tt.err)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestBackendKeys(t *testing.T) {
	d, _, _ := setup(t, allFeatures, false)
	keys := BackendKeys(d, 2)
	for k, v := range map[string]string{
		"sectors": strconv.Itoa(testSectors), "sector-size": "512", "info": "0",
		"feature-flush-cache": "1", "feature-discard": "1", "feature-max-indirect-segments": "64",
		"max-ring-page-order": "2",
	} {
		if keys[k] != v {
			t.Errorf("%s = %q, want %q", k, keys[k], v)
		}
	}
	ro, _, _ := setup(t, Config{}, true)
	keys = BackendKeys(ro, 0)
	if keys["info"] != "4" || keys["feature-flush-cache"] != "" || keys["feature-discard"] != "" ||
		keys["feature-max-indirect-segments"] != "" || keys["max-ring-page-order"] != "" {
		t.Errorf("read-only, no features: %v", keys)
	}
}

// TestHandlerXenbus runs the handshake through xenbus and an in-process
// xenstore as Linux blkfront would drive it.
func TestHandlerXenbus(t *testing.T) {
	s := xenstore.New(xenstore.Options{})
	if err := s.Introduce(3); err != nil {
		t.Fatal(err)
	}
	c := s.Dom0()
	disk, _, _ := setup(t, allFeatures, false)
	dev, err := xenbus.Create(c, "vbd", 3, 51712, BackendKeys(disk, 1))
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan RingConfig, 1)
	stopped := make(chan struct{}, 1)
	h := &Handler{
		MaxRingPageOrder: 1,
		Start:            func(cfg RingConfig) error { started <- cfg; return nil },
		Stop:             func() { stopped <- struct{}{} },
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go dev.Run(ctx, h)
	waitFor(t, func() bool { return dev.State() == xenbus.StateInitWait })
	// The features are there when the frontend sees InitWait.
	if v, _ := c.Read(dev.BackendPath + "/feature-max-indirect-segments"); string(v) != "64" {
		t.Fatalf("feature-max-indirect-segments = %q", v)
	}
	for k, v := range map[string]string{"ring-page-order": "1", "ring-ref0": "11", "ring-ref1": "12",
		"event-channel": "9", "protocol": ProtocolNative} {
		c.Write(dev.FrontendPath+"/"+k, []byte(v))
	}
	c.Write(dev.FrontendPath+"/state", []byte("3"))
	select {
	case cfg := <-started:
		if !reflect.DeepEqual(cfg, RingConfig{PageOrder: 1, Refs: []uint32{11, 12}, EventChannel: 9, Protocol: ProtocolNative}) {
			t.Errorf("Start got %+v", cfg)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Start not called")
	}
	waitFor(t, func() bool { return dev.State() == xenbus.StateConnected })
	c.Write(dev.FrontendPath+"/state", []byte("5"))
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop not called")
	}
}

func TestHandlerRefuses(t *testing.T) {
	h := &Handler{Start: func(RingConfig) error { return errors.New("no") }}
	s := xenstore.New(xenstore.Options{})
	s.Introduce(4)
	c := s.Dom0()
	dev, err := xenbus.Create(c, "vbd", 4, 51712, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go dev.Run(ctx, h)
	waitFor(t, func() bool { return dev.State() == xenbus.StateInitWait })
	c.Write(dev.FrontendPath+"/state", []byte("3")) // no ring-ref
	waitFor(t, func() bool { return dev.State() == xenbus.StateClosing })
	if v, _ := c.Read(dev.BackendPath + "/error"); len(v) == 0 {
		t.Error("no error node")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not reached")
}
