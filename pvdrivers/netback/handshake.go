package netback

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/xenolith/xenolith/hv/evtchn"
	"github.com/xenolith/xenolith/hv/xenstore"
	"github.com/xenolith/xenolith/pvdrivers/xenbus"
)

// BackendKeys returns the keys the backend directory must hold before the
// backend enters InitWait (pass them to xenbus.Create), as Linux netback
// writes them: the MAC and handle a toolstack adds, rx-copy only, scatter-
// gather, IPv6 checksum offload (the backend completes blank checksums),
// split event channels and a single queue. GSO and multicast control are not
// offered.
func BackendKeys(mac net.HardwareAddr, handle int) map[string]string {
	return map[string]string{
		"mac":                          mac.String(),
		"handle":                       strconv.Itoa(handle),
		"feature-rx-copy":              "1",
		"feature-rx-flip":              "0",
		"feature-sg":                   "1",
		"feature-ipv6-csum-offload":    "1",
		"feature-split-event-channels": "1",
		"multi-queue-max-queues":       "1",
	}
}

// FrontendKeys returns the keys a toolstack writes into the frontend
// directory besides those xenbus.Create writes: Linux netfront reads its MAC
// from its own directory.
func FrontendKeys(mac net.HardwareAddr) map[string]string {
	return map[string]string{"mac": mac.String()}
}

// FrontendReader reads keys of the frontend's directory;
// *xenbus.Frontend satisfies it.
type FrontendReader interface {
	Read(key string) (string, error)
}

// RingConfig is what the frontend published for its rings.
type RingConfig struct {
	TxRef  uint32      // tx-ring-ref
	RxRef  uint32      // rx-ring-ref
	TxPort evtchn.Port // event-channel-tx, or event-channel
	RxPort evtchn.Port // event-channel-rx, or event-channel (then equal to TxPort)
	Split  bool        // separate tx and rx event channels
	SG     bool        // feature-sg: the frontend takes multi-slot rx frames
}

// ReadRingConfig reads and checks the frontend's keys as Linux netback's
// connect does: one queue (multi-queue-num-queues absent or 1), both ring
// refs, event-channel or both event-channel-tx and -rx, request-rx-copy=1
// (rx-flip is not served) and feature-rx-notify=1 (without it the backend
// could not know when buffers are posted).
func ReadRingConfig(fe FrontendReader) (RingConfig, error) {
	var cfg RingConfig
	if v, ok, err := readUint(fe, "multi-queue-num-queues", 1<<16); err != nil {
		return cfg, err
	} else if ok && v != 1 {
		return cfg, fmt.Errorf("%w: %d queues", ErrNotSupported, v)
	}
	for _, k := range []struct {
		key string
		dst *uint32
	}{{"tx-ring-ref", &cfg.TxRef}, {"rx-ring-ref", &cfg.RxRef}} {
		v, ok, err := readUint(fe, k.key, 1<<32-1)
		if err != nil {
			return cfg, err
		}
		if !ok {
			return cfg, fmt.Errorf("%w: no %s", ErrBadConfig, k.key)
		}
		*k.dst = uint32(v)
	}
	txp, txok, err := readUint(fe, "event-channel-tx", 1<<32-1)
	if err != nil {
		return cfg, err
	}
	rxp, rxok, err := readUint(fe, "event-channel-rx", 1<<32-1)
	if err != nil {
		return cfg, err
	}
	switch {
	case txok && rxok:
		cfg.TxPort, cfg.RxPort, cfg.Split = evtchn.Port(txp), evtchn.Port(rxp), txp != rxp
	case txok || rxok:
		return cfg, fmt.Errorf("%w: only one of event-channel-tx and -rx", ErrBadConfig)
	default:
		p, ok, err := readUint(fe, "event-channel", 1<<32-1)
		if err != nil {
			return cfg, err
		}
		if !ok {
			return cfg, fmt.Errorf("%w: no event-channel", ErrBadConfig)
		}
		cfg.TxPort, cfg.RxPort = evtchn.Port(p), evtchn.Port(p)
	}
	if v, _, err := readUint(fe, "request-rx-copy", 1); err != nil {
		return cfg, err
	} else if v != 1 {
		return cfg, fmt.Errorf("%w: rx-flip (request-rx-copy is not 1)", ErrNotSupported)
	}
	if v, _, err := readUint(fe, "feature-rx-notify", 1); err != nil {
		return cfg, err
	} else if v != 1 {
		return cfg, fmt.Errorf("%w: frontend without feature-rx-notify", ErrNotSupported)
	}
	sg, _, err := readUint(fe, "feature-sg", 1)
	if err != nil {
		return cfg, err
	}
	cfg.SG = sg == 1
	return cfg, nil
}

// readUint reads an optional decimal key no larger than limit.
func readUint(fe FrontendReader, key string, limit uint64) (uint64, bool, error) {
	s, err := fe.Read(key)
	if errors.Is(err, xenstore.ENOENT) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	s = strings.TrimSpace(s)
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v > limit {
		return 0, false, fmt.Errorf("%w: frontend %s = %q", ErrBadConfig, key, s)
	}
	return v, true, nil
}

// Handler is the net backend's xenbus.Handler: Connect reads the ring keys
// and hands them to Start, which maps the rings, binds the event channels
// and starts Vif.Serve (that needs the monitor's grant table and event
// channels, so the caller supplies it); Disconnect calls Stop.
type Handler struct {
	// Start begins serving the rings the frontend published. An error
	// refuses the connection (the backend closes with it in "error").
	Start func(RingConfig) error
	// Stop ends what Start began; it is called once per successful Start.
	Stop func()
}

var _ xenbus.Handler = (*Handler)(nil)

// Connect implements xenbus.Handler.
func (h *Handler) Connect(fe *xenbus.Frontend) error {
	cfg, err := ReadRingConfig(fe)
	if err != nil {
		return fmt.Errorf("netback connect: %w", err)
	}
	if h.Start == nil {
		return fmt.Errorf("netback connect: %w: no Start", ErrNotSupported)
	}
	if err := h.Start(cfg); err != nil {
		return fmt.Errorf("netback connect: %w", err)
	}
	return nil
}

// Disconnect implements xenbus.Handler.
func (h *Handler) Disconnect() {
	if h.Stop != nil {
		h.Stop()
	}
}
