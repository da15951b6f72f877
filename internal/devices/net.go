package devices

// Network interfaces (vif): the API the CLI, the benchmarks and the guest
// tests use. It is stable; the implementation is being filled in.
//
//	spec, err := devices.ParseNetSpec("switch:lan0,mac=00:16:3e:00:00:01")
//	n, err := devices.AttachNet(m, 0, spec, log) // after vm.New, before Run
//	defer n.Close()
//
// "switch:NAME" joins the process-wide in-process L2 switch NAME (created on
// first use; every VM of the process naming it shares it); "tap:IFNAME"
// opens the host tap interface IFNAME (needs root). Without mac= the MAC is
// 00:16:3e (Xen's OUI) followed by three bytes derived from the domain id
// and device id.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/xenolith/xenolith/hv/evtchn"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/hv/xenstore"
	"github.com/xenolith/xenolith/pvdrivers/blkback"
	"github.com/xenolith/xenolith/pvdrivers/netback"
	"github.com/xenolith/xenolith/pvdrivers/netsw"
	"github.com/xenolith/xenolith/pvdrivers/ring"
	"github.com/xenolith/xenolith/pvdrivers/tap"
	"github.com/xenolith/xenolith/pvdrivers/xenbus"
)

// NetKind is the kind of network a vif is connected to.
type NetKind string

// Network kinds.
const (
	NetSwitch NetKind = "switch" // an in-process L2 switch, by name
	NetTap    NetKind = "tap"    // a host tap interface, by name
)

// NetSpec describes one virtual network interface.
type NetSpec struct {
	Kind NetKind          // NetSwitch or NetTap
	Name string           // the switch's or the tap interface's name
	MAC  net.HardwareAddr // the guest's MAC; nil derives one
}

// ParseNetSpec parses switch:NAME or tap:IFNAME, optionally followed by
// ,mac=xx:xx:xx:xx:xx:xx.
func ParseNetSpec(s string) (NetSpec, error) {
	parts := strings.Split(s, ",")
	kind, name, ok := strings.Cut(parts[0], ":")
	if !ok || name == "" {
		return NetSpec{}, fmt.Errorf("net %q: want switch:NAME or tap:IFNAME", s)
	}
	spec := NetSpec{Kind: NetKind(kind), Name: name}
	switch spec.Kind {
	case NetSwitch:
	case NetTap:
		// IFNAMSIZ is 16 with the NUL; the kernel refuses '/', ':' and blanks.
		if len(name) > 15 || strings.ContainsAny(name, "/: \t\n") || name == "." || name == ".." {
			return NetSpec{}, fmt.Errorf("net %q: bad interface name %q", s, name)
		}
	default:
		return NetSpec{}, fmt.Errorf("net %q: unknown kind %q (switch, tap)", s, kind)
	}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "mac":
			mac, err := net.ParseMAC(v)
			if err != nil || len(mac) != 6 {
				return NetSpec{}, fmt.Errorf("net %q: bad mac %q", s, v)
			}
			spec.MAC = mac
		default:
			return NetSpec{}, fmt.Errorf("net %q: unknown option %q (mac)", s, p)
		}
	}
	return spec, nil
}

// switches is the process's registry of named switches.
var switches struct {
	mu sync.Mutex
	m  map[string]*netsw.Switch
}

// SharedSwitch returns the process-wide switch called name, creating it on
// first use. Every vif attached with switch:NAME joins it.
func SharedSwitch(name string) *netsw.Switch {
	switches.mu.Lock()
	defer switches.mu.Unlock()
	if switches.m == nil {
		switches.m = make(map[string]*netsw.Switch)
	}
	sw, ok := switches.m[name]
	if !ok {
		sw = netsw.New(name, netsw.Options{})
		switches.m[name] = sw
	}
	return sw
}

// DefaultMAC is the MAC a vif gets without mac=: Xen's OUI 00:16:3e, then
// the domain id (15 bits) and the device id (8 bits).
func DefaultMAC(domID uint16, id int) net.HardwareAddr {
	return net.HardwareAddr{0x00, 0x16, 0x3e, byte(domID>>8) & 0x7f, byte(domID), byte(id)}
}

// Net is a network interface attached to a VM.
type Net struct {
	vif      *netback.Vif
	dev      *xenbus.Device
	client   *xenstore.Client // the backend's dom0 session
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	closeNet func() error // leaves the switch or closes the tap

	closeOnce sync.Once
	closeErr  error
	mu        sync.Mutex // protects stop
	stop      func()
}

// AttachNet creates vif id for the VM, connected as spec says, and runs its
// xenbus backend until Close. Call it after vm.New and before Run. A nil log
// logs to slog.Default().
func AttachNet(m *vm.VM, id int, spec NetSpec, log *slog.Logger) (*Net, error) {
	if log == nil {
		log = slog.Default()
	}
	mac := spec.MAC
	if mac == nil {
		mac = DefaultMAC(m.DomID(), id)
	}
	log = log.With("vm", m.DomID(), "vif", id)
	vif := netback.NewVif(netback.Config{MAC: mac, Log: log})
	n := &Net{vif: vif}
	switch spec.Kind {
	case NetSwitch:
		port := SharedSwitch(spec.Name).Attach(vif.Deliver)
		vif.SetNetwork(port)
		n.closeNet = port.Close
	case NetTap:
		dev, err := tap.Open(spec.Name)
		if err != nil {
			return nil, fmt.Errorf("net %s: %w", spec.Name, err)
		}
		if err := dev.SetUp(); err != nil {
			dev.Close()
			return nil, fmt.Errorf("net %s: %w", spec.Name, err)
		}
		vif.SetNetwork(dev)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := dev.Run(vif.Deliver); err != nil {
				log.Warn("tap read loop ended", "tap", spec.Name, "err", err)
			}
		}()
		n.closeNet = func() error { err := dev.Close(); <-done; return err }
	default:
		return nil, fmt.Errorf("net: unknown kind %q", spec.Kind)
	}
	c := m.Store().Dom0()
	dev, err := xenbus.Create(c, "vif", m.DomID(), id, netback.BackendKeys(mac, id))
	if err == nil {
		for k, v := range netback.FrontendKeys(mac) {
			if err = c.Write(dev.FrontendPath+"/"+k, []byte(v)); err != nil {
				break
			}
		}
	}
	if err != nil {
		c.Close()
		n.closeNet()
		return nil, fmt.Errorf("vif %d: %w", id, err)
	}
	n.dev, n.client = dev, c
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	h := &netback.Handler{
		Start: func(rc netback.RingConfig) error { return n.start(ctx, m, rc, log) },
		Stop: func() {
			n.mu.Lock()
			stop := n.stop
			n.stop = nil
			n.mu.Unlock()
			if stop != nil {
				stop()
			}
		},
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := dev.Run(ctx, h); err != nil {
			log.Warn("vif backend ended", "err", err)
		}
	}()
	return n, nil
}

// start maps the rings the frontend published, binds its event channels
// (with in-kernel doorbells) and runs the vif's data path.
func (n *Net) start(ctx context.Context, m *vm.VM, rc netback.RingConfig, log *slog.Logger) (err error) {
	if n.vif.Abused() {
		return fmt.Errorf("%w: vif was disconnected", netback.ErrAbuse)
	}
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	var backs [2]*ring.Backend
	for i, r := range []struct {
		ref   uint32
		entry int
	}{{rc.TxRef, netback.TxEntrySize}, {rc.RxRef, netback.RxEntrySize}} {
		sr, err := blkback.MapRing(m.Grants(), 0, m.Memory(), []uint32{r.ref})
		if err != nil {
			return fmt.Errorf("%w: %w", netback.ErrGrant, err)
		}
		undo = append(undo, sr.Release)
		if backs[i], err = ring.NewBackend(sr.Bytes, r.entry); err != nil {
			return err
		}
	}
	bind := func(port evtchn.Port) (netback.Channel, error) {
		ep, err := m.EventChannels().BindBackend(port)
		if err != nil {
			return nil, err
		}
		undo = append(undo, func() { ep.Close() })
		if err := m.Doorbell(ep.Port(), ep.KickFD()); err != nil {
			return nil, err
		}
		return ep, nil
	}
	txCh, err := bind(rc.TxPort)
	if err != nil {
		return err
	}
	rxCh := txCh
	if rc.Split {
		if rxCh, err = bind(rc.RxPort); err != nil {
			return err
		}
	}
	sctx, scancel := context.WithCancel(ctx)
	done := make(chan struct{})
	rings := netback.Rings{Tx: backs[0], Rx: backs[1], TxCh: txCh, RxCh: rxCh,
		Grants: netback.TableGrants{Table: m.Grants()}, SG: rc.SG}
	go func() {
		defer close(done)
		err := n.vif.Serve(sctx, rings)
		if err == nil {
			return
		}
		log.Warn("vif stopped", "err", err)
		if errors.Is(err, netback.ErrAbuse) || errors.Is(err, netback.ErrRing) {
			// Disconnect this vif only: tell the frontend the backend is
			// closing, with the reason.
			n.client.Write(n.dev.BackendPath+"/error", []byte(err.Error()))
			n.client.Write(n.dev.BackendPath+"/state", []byte(strconv.Itoa(int(xenbus.StateClosing))))
		}
	}()
	n.mu.Lock()
	n.stop = func() {
		scancel()
		<-done
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	n.mu.Unlock()
	return nil
}

// MAC returns the guest's MAC.
func (n *Net) MAC() net.HardwareAddr { return n.vif.MAC() }

// Stats returns the vif's counters.
func (n *Net) Stats() netback.Stats { return n.vif.Stats() }

// Vif returns the backend's vif.
func (n *Net) Vif() *netback.Vif { return n.vif }

// Close stops the backend (the frontend sees it go away), leaves the
// network and removes the device's xenstore directories (as a toolstack does
// on detach). Calling it again returns the first call's error.
func (n *Net) Close() error {
	n.cancel()
	n.wg.Wait()
	n.closeOnce.Do(func() {
		n.closeErr = n.closeNet()
		_ = n.dev.Destroy() // the store may be gone with its domain
		n.client.Close()
	})
	return n.closeErr
}
