package bench

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/internal/devices"
)

// latSlots is the size of blkprobe's latency ring (guestkit/programs/blkprobe.c).
const latSlots = 4096

// probeImageMiB is the size of each blk-profile VM's own image file.
const probeImageMiB = 4

// probeSample is what one measuring window of a fleet's probe saw.
type probeSample struct {
	rates []float64 // work units/s (rate probe) or reads/s (blk probe), per VM
	lats  []float64 // blk and net probes: latencies of every VM, ns (failures left out)
	done  uint64    // blk and net probes: operations finished, failures included
}

// ringReader follows one blkprobe guest's latency ring in guest memory.
// The guest is hostile: every read is bounds-checked by hv/mem, and a
// sequence number that moves backwards or too far is treated as a restart.
type ringReader struct {
	gpa  uint64 // the ring's guest-physical address (0: no ring yet)
	seen uint64 // reads already taken
}

// follow points the reader at the ring at gpa (0 leaves it unset); a new
// address starts afresh.
func (r *ringReader) follow(gpa uint64) {
	if gpa != r.gpa {
		r.gpa, r.seen = gpa, 0
	}
}

// take returns the latencies (ns) completed since the previous call, at
// most the ring's size less a margin the guest may be overwriting, and
// how many reads completed.
func (r *ringReader) take(m *mem.Memory, tscKHz uint64) ([]float64, uint64) {
	if r.gpa == 0 || tscKHz == 0 {
		return nil, 0
	}
	seq, err := m.Load64(mem.GPA(r.gpa))
	if err != nil {
		return nil, 0
	}
	if seq < r.seen {
		r.seen = seq
		return nil, 0
	}
	done := seq - r.seen
	from := r.seen
	const margin = 64
	if seq-from > latSlots-margin {
		from = seq - (latSlots - margin)
	}
	var out []float64
	for i := from; i < seq; i++ {
		c, err := m.Load64(mem.GPA(r.gpa + 8 + (i%latSlots)*8))
		if err != nil {
			break
		}
		if c == 0 {
			continue // a failed read
		}
		out = append(out, float64(c)*1e6/float64(tscKHz))
	}
	r.seen = seq
	return out, done
}

// probeDisk gives one VM its own small image (in dir) as vbd 0.
type probeDisk struct {
	path string
	disk *devices.Disk
}

// attachProbeDisk writes an image for domain dom in dir and attaches it to m.
func attachProbeDisk(m *vm.VM, dir string, dom uint16) (*probeDisk, error) {
	path := filepath.Join(dir, fmt.Sprintf("vm%d.img", dom))
	if err := writeImage(path, probeImageMiB); err != nil {
		return nil, fmt.Errorf("probe image: %w", err)
	}
	f, err := devices.OpenDisk(devices.DiskSpec{Path: path})
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	d, err := devices.AttachDisk(m, 0, f, nil)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return &probeDisk{path: path, disk: d}, nil
}

// close detaches the disk and removes its image.
func (p *probeDisk) close() {
	if p == nil {
		return
	}
	p.disk.Close()
	os.Remove(p.path)
}
