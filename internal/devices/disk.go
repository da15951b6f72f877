// Package devices attaches Xenolith's PV backends (pvdrivers) to VMs
// (hv/vm). It sits above both, so that neither imports the other; the CLI,
// the benchmarks and the tests share it.
package devices

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/hv/xenstore"
	"github.com/xenolith/xenolith/pvdrivers/blkback"
	"github.com/xenolith/xenolith/pvdrivers/ring"
	"github.com/xenolith/xenolith/pvdrivers/xenbus"
)

// DiskSpec describes one virtual disk: a raw image file.
type DiskSpec struct {
	Path     string
	ReadOnly bool
	Direct   bool // O_DIRECT
}

// ParseDiskSpec parses PATH[,ro][,direct].
func ParseDiskSpec(s string) (DiskSpec, error) {
	parts := strings.Split(s, ",")
	d := DiskSpec{Path: parts[0]}
	if d.Path == "" {
		return d, fmt.Errorf("disk %q: missing path", s)
	}
	for _, p := range parts[1:] {
		switch p {
		case "ro":
			d.ReadOnly = true
		case "direct":
			d.Direct = true
		default:
			return d, fmt.Errorf("disk %q: unknown option %q (ro, direct)", s, p)
		}
	}
	return d, nil
}

// OpenDisk opens the image of spec, checking it before any VM exists.
func OpenDisk(spec DiskSpec) (*blkback.File, error) {
	f, err := blkback.OpenFile(spec.Path, blkback.FileOptions{ReadOnly: spec.ReadOnly, Direct: spec.Direct})
	if err != nil {
		return nil, fmt.Errorf("disk %s: %w", spec.Path, err)
	}
	return f, nil
}

// Disk is a block device attached to a VM.
type Disk struct {
	dev    *xenbus.Device
	client *xenstore.Client // the backend's dom0 session
	file   *blkback.File    // closed by Close; nil for AttachStorage
	cancel context.CancelFunc
	wg     sync.WaitGroup

	closeOnce sync.Once
	mu        sync.Mutex // protects stop and err
	stop      func()
	err       error // the data path's error, if it ended with one
}

// AttachDisk creates vbd id for the VM, served from file, and runs its
// xenbus backend until Close, which also closes file. Call it after vm.New
// and before Run.
func AttachDisk(m *vm.VM, id int, file *blkback.File, log *slog.Logger) (*Disk, error) {
	d, err := AttachStorage(m, id, file, log)
	if err != nil {
		return nil, err
	}
	d.file = file
	return d, nil
}

// AttachStorage is AttachDisk for any blkback.Storage (a fault-injecting or
// in-memory one, say); Close leaves st open.
func AttachStorage(m *vm.VM, id int, st blkback.Storage, log *slog.Logger) (*Disk, error) {
	gr := blkback.TableGrants{Table: m.Grants(), DomID: 0}
	disk, err := blkback.NewDisk(st, gr, blkback.Config{Flush: true, Discard: true, MaxIndirectSegments: 256})
	if err != nil {
		return nil, err
	}
	const maxOrder = 4
	client := m.Store().Dom0()
	dev, err := xenbus.Create(client, "vbd", m.DomID(), id, blkback.BackendKeys(disk, maxOrder))
	if err != nil {
		client.Close()
		return nil, err
	}
	d := &Disk{dev: dev, client: client}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	h := &blkback.Handler{
		MaxRingPageOrder: maxOrder,
		Start: func(rc blkback.RingConfig) error {
			sr, err := blkback.MapRing(m.Grants(), 0, m.Memory(), rc.Refs)
			if err != nil {
				return err
			}
			back, err := ring.NewBackend(sr.Bytes, blkback.RequestSize)
			if err != nil {
				sr.Release()
				return err
			}
			ep, err := m.EventChannels().BindBackend(rc.EventChannel)
			if err != nil {
				sr.Release()
				return err
			}
			if err := m.Doorbell(rc.EventChannel, ep.KickFD()); err != nil {
				ep.Close()
				sr.Release()
				return err
			}
			sctx, scancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				if err := blkback.ServeWith(sctx, back, disk, ep, blkback.ServeOptions{Workers: 8, Persistent: rc.Persistent}); err != nil {
					d.mu.Lock()
					d.err = err
					d.mu.Unlock()
					if log != nil {
						log.Warn("vbd stopped", "vm", m.DomID(), "disk", id, "err", err)
					}
				}
			}()
			d.mu.Lock()
			d.stop = func() {
				scancel()
				<-done
				ep.Close()
				sr.Release()
			}
			d.mu.Unlock()
			return nil
		},
		Stop: func() {
			d.mu.Lock()
			stop := d.stop
			d.stop = nil
			d.mu.Unlock()
			if stop != nil {
				stop()
			}
		},
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := dev.Run(ctx, h); err != nil && log != nil {
			log.Warn("vbd backend ended", "vm", m.DomID(), "disk", id, "err", err)
		}
	}()
	return d, nil
}

// Close stops the backend (completing requests in flight) and closes the image.
//
// The device's frontend and backend directories are removed, as a toolstack
// does on detach, so that a later domain may reuse the id.
func (d *Disk) Close() error {
	d.cancel()
	d.wg.Wait()
	d.closeOnce.Do(func() {
		_ = d.dev.Destroy() // the store may be gone with its domain
		d.client.Close()
	})
	if d.file == nil {
		return nil
	}
	return d.file.Close()
}

// Err returns the error the data path ended with, if any (nil while it runs
// or after a clean stop).
func (d *Disk) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}
