package vm

import "github.com/xenolith/xenolith/hv/mem"

// closeMemory unmaps guest RAM m once no backend holds a grant of the
// guest: a backend attached to the VM (a block or network device) may still
// be reading its ring when the VM ends, and unmapping under it would fault
// the whole process. If a backend never releases its grants, the RAM stays
// mapped (a leak of that VM's memory, not a crash).
func (p *pv) closeMemory(m *mem.Memory) {
	if p == nil || p.grants == nil {
		m.Close()
		return
	}
	p.grants.WhenIdle(func() { m.Close() })
}
