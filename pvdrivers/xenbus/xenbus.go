// Package xenbus is the backend side of Xen's split-driver handshake
// (xen/include/public/io/xenbus.h): it creates a device's frontend and
// backend directories in xenstore as a toolstack does, then drives the
// backend through Initialising -> InitWait -> Connected -> Closing -> Closed
// as the frontend moves through its own states. Block and net backends
// plug in through Handler.
package xenbus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/xenolith/xenolith/hv/xenstore"
)

// State is a XenbusState value.
type State int

// XenbusState values (io/xenbus.h).
const (
	StateUnknown       State = 0
	StateInitialising  State = 1
	StateInitWait      State = 2
	StateInitialised   State = 3
	StateConnected     State = 4
	StateClosing       State = 5
	StateClosed        State = 6
	StateReconfiguring State = 7
	StateReconfigured  State = 8
)

var stateNames = [...]string{"Unknown", "Initialising", "InitWait", "Initialised", "Connected", "Closing", "Closed", "Reconfiguring", "Reconfigured"}

// String returns the state's name.
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Handler is a backend's device logic.
type Handler interface {
	// Connect is called when the frontend has published its ring details
	// (state Initialised or Connected); returning nil moves the backend to
	// Connected. An error is written to the backend's "error" node and the
	// backend closes.
	Connect(fe *Frontend) error
	// Disconnect is called when the frontend closes or the device is
	// destroyed after a successful Connect.
	Disconnect()
}

// Frontend gives a handler read access to the frontend's directory.
type Frontend struct {
	Dom  uint16 // frontend domain
	Path string // /local/domain/<Dom>/device/<type>/<id>
	c    *xenstore.Client
}

// Read returns the frontend key's value.
func (f *Frontend) Read(key string) (string, error) {
	b, err := f.c.Read(f.Path + "/" + key)
	if err != nil {
		return "", fmt.Errorf("xenbus: frontend %s/%s: %w", f.Path, key, err)
	}
	return string(b), nil
}

// ReadUint returns the frontend key's value as an unsigned integer.
func (f *Frontend) ReadUint(key string) (uint64, error) {
	s, err := f.Read(key)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("xenbus: frontend %s/%s: not a number: %q", f.Path, key, s)
	}
	return v, nil
}

// Device is one split device as the backend sees it.
type Device struct {
	Type         string // "vbd", "vif", ...
	ID           int    // device id within the type
	FrontDom     uint16
	FrontendPath string
	BackendPath  string

	c     *xenstore.Client
	mu    sync.Mutex // protects state
	state State
}

// Create writes the device's frontend and backend directories as a
// toolstack does: the frontend directory is owned by the frontend domain
// (the backend may read it), the backend directory by domain 0 (the
// frontend may read it). keys go into the backend directory.
func Create(c *xenstore.Client, typ string, frontDom uint16, id int, keys map[string]string) (*Device, error) {
	if typ == "" || strings.ContainsAny(typ, "/ ") {
		return nil, fmt.Errorf("xenbus: bad device type %q", typ)
	}
	d := &Device{
		Type: typ, ID: id, FrontDom: frontDom, c: c,
		FrontendPath: fmt.Sprintf("/local/domain/%d/device/%s/%d", frontDom, typ, id),
		BackendPath:  fmt.Sprintf("/local/domain/0/backend/%s/%d/%d", typ, frontDom, id),
		state:        StateInitialising,
	}
	fe := xenstore.DomID(frontDom)
	err := c.Transaction(func(tx *xenstore.Tx) error {
		// A new node takes its parent's permissions, so each directory
		// gets its permissions before its keys are written (as libxl does).
		dirs := []struct {
			path  string
			perms []xenstore.Perm
		}{
			{d.FrontendPath, []xenstore.Perm{{Domid: fe, Access: xenstore.AccessNone}, {Domid: 0, Access: xenstore.AccessRead}}},
			{d.BackendPath, []xenstore.Perm{{Domid: 0, Access: xenstore.AccessNone}, {Domid: fe, Access: xenstore.AccessRead}}},
		}
		for _, dir := range dirs {
			if err := tx.Mkdir(dir.path); err != nil {
				return err
			}
			if err := tx.SetPerms(dir.path, dir.perms); err != nil {
				return err
			}
		}
		w := func(p, v string) error { return tx.Write(p, []byte(v)) }
		for _, kv := range [][2]string{
			{d.FrontendPath + "/backend", d.BackendPath},
			{d.FrontendPath + "/backend-id", "0"},
			{d.FrontendPath + "/state", strconv.Itoa(int(StateInitialising))},
			{d.FrontendPath + "/handle", strconv.Itoa(id)},
			{d.BackendPath + "/frontend", d.FrontendPath},
			{d.BackendPath + "/frontend-id", strconv.Itoa(int(frontDom))},
			{d.BackendPath + "/online", "1"},
			{d.BackendPath + "/state", strconv.Itoa(int(StateInitialising))},
		} {
			if err := w(kv[0], kv[1]); err != nil {
				return err
			}
		}
		for k, v := range keys {
			if err := w(d.BackendPath+"/"+k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("xenbus: create %s/%d for domain %d: %w", typ, id, frontDom, err)
	}
	return d, nil
}

// State returns the backend's current state.
func (d *Device) State() State {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state
}

func (d *Device) setState(s State) error {
	d.mu.Lock()
	d.state = s
	d.mu.Unlock()
	return d.c.Write(d.BackendPath+"/state", []byte(strconv.Itoa(int(s))))
}

// FrontendState reads the frontend's state node.
func (d *Device) FrontendState() (State, error) {
	b, err := d.c.Read(d.FrontendPath + "/state")
	if err != nil {
		return StateUnknown, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return StateUnknown, fmt.Errorf("xenbus: frontend state %q is not a number", b)
	}
	return State(n), nil
}

// Run drives the backend until ctx ends: InitWait at once, Connected after
// h.Connect succeeds, Closing/Closed when the frontend closes, and back to
// InitWait if the frontend starts over.
func (d *Device) Run(ctx context.Context, h Handler) error {
	token := "xenbus:" + d.FrontendPath
	events, err := d.c.Watch(d.FrontendPath+"/state", token)
	if err != nil {
		return fmt.Errorf("xenbus: watch %s/state: %w", d.FrontendPath, err)
	}
	defer d.c.Unwatch(d.FrontendPath+"/state", token)
	if err := d.setState(StateInitWait); err != nil {
		return err
	}
	connected := false
	defer func() {
		if connected {
			h.Disconnect()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-events:
			if !ok {
				return errors.New("xenbus: watch closed")
			}
		}
		fs, err := d.FrontendState()
		if err != nil {
			continue // the frontend directory may be gone
		}
		switch fs {
		case StateInitialised, StateConnected:
			if connected {
				continue
			}
			if err := h.Connect(&Frontend{Dom: d.FrontDom, Path: d.FrontendPath, c: d.c}); err != nil {
				d.c.Write(d.BackendPath+"/error", []byte(err.Error()))
				d.setState(StateClosing)
				continue
			}
			connected = true
			if err := d.setState(StateConnected); err != nil {
				return err
			}
		case StateClosing:
			if connected {
				h.Disconnect()
				connected = false
			}
			d.setState(StateClosing)
			d.setState(StateClosed)
		case StateClosed, StateInitialising:
			if connected {
				h.Disconnect()
				connected = false
			}
			if d.State() == StateClosed || d.State() == StateClosing {
				d.setState(StateInitWait)
			}
		}
	}
}

// Destroy removes the device's directories.
func (d *Device) Destroy() error {
	err1 := d.c.Rm(d.FrontendPath)
	err2 := d.c.Rm(d.BackendPath)
	return errors.Join(err1, err2)
}
