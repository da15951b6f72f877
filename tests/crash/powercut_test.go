package crash

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/internal/devices"
	"github.com/xenolith/xenolith/internal/require"
	"github.com/xenolith/xenolith/pvdrivers/blkback"
)

// TestPowerCut is the power-loss counterpart of TestKillDuringStream. A
// kill -9 of the monitor cannot lose what already reached the host page
// cache, so it cannot tell whether the backend flushed at the right time;
// here the disk is a blkback.Volatile, whose PowerCut drops every write not
// yet flushed through Storage.Flush. At a random point of a blkstream run
// the power is cut, and every record whose flush the guest saw complete
// must be in the backing image.
func TestPowerCut(t *testing.T) {
	require.KVM(t)
	if _, err := guestkit.Program("blkstream"); err != nil {
		require.File(t, "../../guestkit/build/blkstream.elf", "run make -C guestkit")
	}
	sys, err := kvmSystem()
	if err != nil {
		t.Fatal(err)
	}
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("trial seed %d (rerun with -crash.seed=%d)", seed, seed)
	r := rand.New(rand.NewPCG(seed, 7))
	n := trialCount(t)
	dir := t.TempDir()
	var flushed, lost, corrupt, beyond, torn uint64
	for i := range n {
		p := randomTrial(r, false)
		c, err := powerCutTrial(sys, filepath.Join(dir, "cut.img"), p)
		if err != nil {
			t.Fatalf("trial %d (%s): %v", i, p, err)
		}
		if testing.Verbose() {
			t.Logf("trial %d (%s): %s", i, p, c)
		}
		if c.NumLost > 0 || c.NumCorrupt > 0 {
			t.Errorf("trial %d (%s): %s; lost %v, corrupt %v", i, p, c, c.Lost, c.Corrupt)
		}
		flushed += c.Flushed
		lost += c.NumLost
		corrupt += c.NumCorrupt
		beyond += c.Beyond[Intact]
		torn += c.Beyond[Torn]
	}
	t.Logf("power cut: %d trials, %d flushed records checked, %d lost, %d corrupt; beyond the last flush %d intact and %d torn records",
		n, flushed, lost, corrupt, beyond, torn)
}

// powerCutImage is the size of a power-cut trial's image: small, since the
// cache holds a copy of every unflushed sector.
const powerCutImage = 8 << 20

// powerCutTrial runs blkstream over a Volatile on a fresh image, cuts the
// power at the trial's point, and checks the image.
func powerCutTrial(sys *kvm.System, img string, p trial) (*Census, error) {
	os.Remove(img)
	defer os.Remove(img)
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		return nil, err
	}
	if err := os.Truncate(img, powerCutImage); err != nil {
		return nil, err
	}
	file, err := blkback.OpenFile(img, blkback.FileOptions{})
	if err != nil {
		return nil, err
	}
	defer file.Close()
	cache := blkback.NewVolatile(file)

	var (
		mu          sync.Mutex // protects last, count and reports
		last, count uint64
		reports     int
	)
	reached := make(chan struct{}) // closed at killAfter flushes
	var once sync.Once
	if p.killAfter <= 0 {
		once.Do(func() { close(reached) })
	}
	stop := make(chan struct{})
	cutDone := make(chan struct{})
	go func() {
		defer close(cutDone)
		select {
		case <-reached:
		case <-stop:
			return
		}
		select {
		case <-time.After(p.sleep):
		case <-stop:
		}
		cache.PowerCut()
	}()
	_, err = runStream(sys, p.args(), time.Minute, func(m *vm.VM) (func() error, error) {
		disk, err := devices.AttachStorage(m, 0, cache, nil)
		if err != nil {
			return nil, err
		}
		return func() error { disk.Close(); return disk.Err() }, nil
	}, func(rep vm.Report) {
		if rep.Kind != vm.ReportMetric {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		switch rep.Msg {
		case "flushed":
			last = max(last, rep.Value)
			reports++
			if reports >= p.killAfter {
				once.Do(func() { close(reached) })
			}
		case "stream_count":
			count = rep.Value
		}
	})
	close(stop)
	<-cutDone
	if err != nil {
		return nil, err
	}
	cache.PowerCut() // a stream that ended before the cut loses nothing either
	mu.Lock()
	defer mu.Unlock()
	if count == 0 {
		count = powerCutImage / SectorSize / p.bs
	}
	data, err := os.ReadFile(img)
	if err != nil {
		return nil, err
	}
	return Check(bytes.NewReader(data), Layout{Seed: p.seed, BS: p.bs, Count: count}, last, nil)
}
