package blkback

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/xenolith/xenolith/hv/evtchn"
	"github.com/xenolith/xenolith/hv/xenstore"
	"github.com/xenolith/xenolith/pvdrivers/xenbus"
)

// Xenstore values (io/blkif.h "Backend Device Properties").
const (
	// ProtocolNative is the only ring ABI served: the x86-64 layout
	// (XEN_IO_PROTO_ABI_X86_64). A frontend that writes no protocol key
	// is taken to use it.
	ProtocolNative = "x86_64-abi"
	// InfoCDROM, InfoRemovable and InfoReadOnly are the VDISK_* bits of
	// the "info" key.
	InfoCDROM     = 1 << 0
	InfoRemovable = 1 << 1
	InfoReadOnly  = 1 << 2
	// MaxRingPageOrder is the largest max-ring-page-order offered
	// (XENBUS_MAX_RING_GRANT_ORDER in Linux): 16 pages, 512 requests.
	MaxRingPageOrder = 4
)

// BackendKeys returns the keys the backend directory must hold before the
// backend enters InitWait (pass them to xenbus.Create): Linux blkfront reads
// the features when it sees InitWait, and sectors, info and sector-size when
// it sees Connected; writing all of them first satisfies both. A
// maxRingPageOrder above 0 offers multi-page rings.
func BackendKeys(d *Disk, maxRingPageOrder int) map[string]string {
	info := 0
	if d.ReadOnly() {
		info |= InfoReadOnly
	}
	keys := map[string]string{
		"sectors":            strconv.FormatUint(d.Sectors(), 10),
		"sector-size":        strconv.Itoa(SectorSize),
		"info":               strconv.Itoa(info),
		"feature-persistent": "1",
	}
	cfg := d.Config()
	if cfg.Flush {
		keys["feature-flush-cache"] = "1"
	}
	if cfg.Discard && !d.ReadOnly() {
		keys["feature-discard"] = "1"
		keys["discard-granularity"] = strconv.Itoa(SectorSize)
		keys["discard-alignment"] = "0"
		keys["discard-secure"] = "0"
	}
	if cfg.MaxIndirectSegments > 0 {
		keys["feature-max-indirect-segments"] = strconv.Itoa(cfg.MaxIndirectSegments)
	}
	if maxRingPageOrder > 0 {
		keys["max-ring-page-order"] = strconv.Itoa(min(maxRingPageOrder, MaxRingPageOrder))
	}
	return keys
}

// FrontendReader reads keys of the frontend's directory;
// *xenbus.Frontend satisfies it.
type FrontendReader interface {
	Read(key string) (string, error)
}

// RingConfig is what the frontend published for its ring.
type RingConfig struct {
	PageOrder    int         // ring-page-order (0 without the key)
	Refs         []uint32    // ring-ref, or ring-ref0..ring-ref<2^order-1>
	EventChannel evtchn.Port // event-channel: the guest's port
	Protocol     string      // protocol (ProtocolNative without the key)
	Persistent   bool        // feature-persistent: the frontend keeps its grants
}

// ReadRingConfig reads and checks the frontend's ring keys, allowing rings
// of up to 2^maxRingPageOrder pages. Only a single queue is served: a
// multi-queue-num-queues other than 1 is refused.
func ReadRingConfig(fe FrontendReader, maxRingPageOrder int) (RingConfig, error) {
	cfg := RingConfig{Protocol: ProtocolNative}
	if s, ok, err := readOptional(fe, "protocol"); err != nil {
		return cfg, err
	} else if ok && s != ProtocolNative {
		return cfg, fmt.Errorf("%w: ring protocol %q", ErrNotSupported, s)
	}
	if v, ok, err := readUint(fe, "multi-queue-num-queues", 1<<16); err != nil {
		return cfg, err
	} else if ok && v != 1 {
		return cfg, fmt.Errorf("%w: %d queues", ErrNotSupported, v)
	}
	order, ok, err := readUint(fe, "ring-page-order", uint64(max(maxRingPageOrder, 0)))
	if err != nil {
		return cfg, err
	}
	cfg.PageOrder = int(order)
	if !ok || order == 0 {
		ref, found, err := readUint(fe, "ring-ref", 1<<32-1)
		if err == nil && !found {
			ref, found, err = readUint(fe, "ring-ref0", 1<<32-1)
		}
		if err != nil {
			return cfg, err
		}
		if !found {
			return cfg, fmt.Errorf("%w: no ring-ref", ErrBadRequest)
		}
		cfg.Refs = []uint32{uint32(ref)}
	} else {
		for i := 0; i < 1<<order; i++ {
			key := "ring-ref" + strconv.Itoa(i)
			ref, found, err := readUint(fe, key, 1<<32-1)
			if err != nil {
				return cfg, err
			}
			if !found {
				return cfg, fmt.Errorf("%w: no %s", ErrBadRequest, key)
			}
			cfg.Refs = append(cfg.Refs, uint32(ref))
		}
	}
	port, found, err := readUint(fe, "event-channel", 1<<32-1)
	if err != nil {
		return cfg, err
	}
	if !found {
		return cfg, fmt.Errorf("%w: no event-channel", ErrBadRequest)
	}
	cfg.EventChannel = evtchn.Port(port)
	if v, ok, err := readUint(fe, "feature-persistent", 1<<32-1); err != nil {
		return cfg, err
	} else if ok && v != 0 {
		cfg.Persistent = true
	}
	return cfg, nil
}

// readOptional reads a key, reporting whether it exists.
func readOptional(fe FrontendReader, key string) (string, bool, error) {
	s, err := fe.Read(key)
	if errors.Is(err, xenstore.ENOENT) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return strings.TrimSpace(s), true, nil
}

// readUint reads an optional decimal key no larger than limit.
func readUint(fe FrontendReader, key string, limit uint64) (uint64, bool, error) {
	s, ok, err := readOptional(fe, key)
	if err != nil || !ok {
		return 0, false, err
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v > limit {
		return 0, false, fmt.Errorf("%w: frontend %s = %q", ErrBadRequest, key, s)
	}
	return v, true, nil
}

// Handler is the block backend's xenbus.Handler: Connect reads the ring
// keys and hands them to Start, which maps the ring, binds the event channel
// and starts Serve (that part needs the monitor's grant table and event
// channels, so the caller supplies it); Disconnect calls Stop.
type Handler struct {
	// MaxRingPageOrder is the max-ring-page-order offered in BackendKeys.
	MaxRingPageOrder int
	// Start begins serving the ring the frontend published. An error
	// refuses the connection (the backend closes with it in "error").
	Start func(RingConfig) error
	// Stop ends what Start began; it is called once per successful
	// Start.
	Stop func()
}

var _ xenbus.Handler = (*Handler)(nil)

// Connect implements xenbus.Handler.
func (h *Handler) Connect(fe *xenbus.Frontend) error {
	cfg, err := ReadRingConfig(fe, h.MaxRingPageOrder)
	if err != nil {
		return fmt.Errorf("blkback connect: %w", err)
	}
	if h.Start == nil {
		return fmt.Errorf("blkback connect: %w: no Start", ErrNotSupported)
	}
	if err := h.Start(cfg); err != nil {
		return fmt.Errorf("blkback connect: %w", err)
	}
	return nil
}

// Disconnect implements xenbus.Handler.
func (h *Handler) Disconnect() {
	if h.Stop != nil {
		h.Stop()
	}
}
