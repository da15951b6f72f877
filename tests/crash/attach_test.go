package crash

import (
	"context"
	"sync"

	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/pvdrivers/blkback"
	"github.com/xenolith/xenolith/pvdrivers/ring"
	"github.com/xenolith/xenolith/pvdrivers/xenbus"
)

// storageDisk is a vbd served from any blkback.Storage. It mirrors
// internal/devices.AttachDisk, which only takes a *blkback.File, so that the
// fault tests can put a blkback.Faulty between the backend and the image.
type storageDisk struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex // protects stop
	stop func()
	err  error // the data path's error, if it ended with one (under mu)
}

// attachStorage creates vbd id for m served from st and runs its xenbus
// backend until close. Call it from RunOptions.Setup.
func attachStorage(m *vm.VM, id int, st blkback.Storage) (*storageDisk, error) {
	gr := blkback.TableGrants{Table: m.Grants(), DomID: 0}
	disk, err := blkback.NewDisk(st, gr, blkback.Config{Flush: true, Discard: true, MaxIndirectSegments: 256})
	if err != nil {
		return nil, err
	}
	const maxOrder = 4
	dev, err := xenbus.Create(m.Store().Dom0(), "vbd", m.DomID(), id, blkback.BackendKeys(disk, maxOrder))
	if err != nil {
		return nil, err
	}
	d := &storageDisk{}
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
				if err := blkback.Serve(sctx, back, disk, ep, 8); err != nil {
					d.mu.Lock()
					d.err = err
					d.mu.Unlock()
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
		dev.Run(ctx, h)
	}()
	return d, nil
}

// close stops the backend and returns the data path's error, if any.
func (d *storageDisk) close() error {
	d.cancel()
	d.wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}
