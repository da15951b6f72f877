package xenbus

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/xenolith/xenolith/hv/xenstore"
)

type fakeHandler struct {
	connects    chan string
	disconnects chan struct{}
	fail        error
}

func (h *fakeHandler) Connect(fe *Frontend) error {
	if h.fail != nil {
		return h.fail
	}
	ref, err := fe.Read("ring-ref")
	if err != nil {
		return err
	}
	h.connects <- ref
	return nil
}

func (h *fakeHandler) Disconnect() { h.disconnects <- struct{}{} }

func waitState(t *testing.T, d *Device, want State) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, err := d.c.Read(d.BackendPath + "/state")
		if err == nil && string(b) == strconv.Itoa(int(want)) {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("backend never reached %s (now %s)", want, d.State())
}

func TestHandshake(t *testing.T) {
	s := xenstore.New(xenstore.Options{})
	if err := s.Introduce(5); err != nil {
		t.Fatal(err)
	}
	c := s.Dom0()
	d, err := Create(c, "vtest", 5, 0, map[string]string{"feature-x": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Read(d.FrontendPath + "/backend"); string(v) != d.BackendPath {
		t.Errorf("frontend backend key = %q", v)
	}
	if v, _ := c.Read(d.BackendPath + "/feature-x"); string(v) != "1" {
		t.Errorf("backend key = %q", v)
	}
	h := &fakeHandler{connects: make(chan string, 1), disconnects: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, h) }()
	waitState(t, d, StateInitWait)

	c.Write(d.FrontendPath+"/ring-ref", []byte("8"))
	c.Write(d.FrontendPath+"/state", []byte("3"))
	select {
	case ref := <-h.connects:
		if ref != "8" {
			t.Errorf("ring-ref %q", ref)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Connect not called")
	}
	waitState(t, d, StateConnected)

	c.Write(d.FrontendPath+"/state", []byte("5"))
	select {
	case <-h.disconnects:
	case <-time.After(5 * time.Second):
		t.Fatal("Disconnect not called")
	}
	waitState(t, d, StateClosed)

	// The frontend starts over: the backend waits again.
	c.Write(d.FrontendPath+"/state", []byte("1"))
	waitState(t, d, StateInitWait)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := d.Destroy(); err != nil {
		t.Fatal(err)
	}
}

func TestConnectErrorCloses(t *testing.T) {
	s := xenstore.New(xenstore.Options{})
	s.Introduce(6)
	c := s.Dom0()
	d, err := Create(c, "vtest", 6, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHandler{fail: errors.New("bad ring")}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx, h)
	waitState(t, d, StateInitWait)
	c.Write(d.FrontendPath+"/state", []byte("3"))
	waitState(t, d, StateClosing)
	if v, _ := c.Read(d.BackendPath + "/error"); string(v) != "bad ring" {
		t.Errorf("error node %q", v)
	}
}

func TestStateNames(t *testing.T) {
	if StateConnected.String() != "Connected" || State(42).String() != "State(42)" {
		t.Error("state names")
	}
}

// TestPermissions checks that the frontend domain may read the backend's
// keys and write its own, and that another domain may do neither.
func TestPermissions(t *testing.T) {
	s := xenstore.New(xenstore.Options{})
	s.Introduce(7)
	d, err := Create(s.Dom0(), "vtest", 7, 0, map[string]string{"feature-x": "1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path       string
		dom        xenstore.DomID
		read, want xenstore.Access
	}{
		{d.BackendPath + "/state", 7, xenstore.AccessRead, xenstore.AccessRead},
		{d.BackendPath + "/feature-x", 7, xenstore.AccessRead, xenstore.AccessRead},
		{d.FrontendPath + "/state", 7, xenstore.AccessBoth, xenstore.AccessBoth},
	} {
		perms, err := s.Dom0().GetPerms(c.path)
		if err != nil {
			t.Fatal(err)
		}
		var got xenstore.Access
		if perms[0].Domid == c.dom {
			got = xenstore.AccessBoth
		} else {
			got = perms[0].Access
			for _, p := range perms[1:] {
				if p.Domid == c.dom {
					got = p.Access
				}
			}
		}
		if got != c.want {
			t.Errorf("%s: domain %d has %v (perms %v), want %v", c.path, c.dom, got, perms, c.want)
		}
	}
}
