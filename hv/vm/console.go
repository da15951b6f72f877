package vm

import (
	"context"

	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/xen"
)

// PV console ring layout (xen/include/public/io/console.h, struct
// xencons_interface).
const (
	consInSize   = 1024
	consOutOff   = 1024
	consOutSize  = 2048
	consInCons   = 3072
	consInProd   = 3076
	consOutCons  = 3080
	consOutProd  = 3084
	consMaxChunk = consOutSize
)

// setupConsole publishes the PV console ring and serves its output.
func (p *pv) setupConsole(ctx context.Context) error {
	ring, err := p.v.mem.Slice(mem.GPA(p.reserve+reservedConsoleRing*4096), 4096)
	if err != nil {
		return err
	}
	port, ep, err := p.backendPort()
	if err != nil {
		return err
	}
	p.consEP = ep
	p.v.xen.SetParam(xen.HVMParamConsolePFN, p.reserve/4096+reservedConsoleRing)
	p.v.xen.SetParam(xen.HVMParamConsoleEvtchn, uint64(port))
	p.serve(ctx, ep, func() { p.drainConsole(ring) })
	return nil
}

// drainConsole copies guest output from the ring to the console. Indices
// are free-running; a producer more than the ring size ahead is a guest
// error, answered by resynchronising the consumer.
func (p *pv) drainConsole(ring []byte) {
	cons, err1 := mem.LoadUint32(ring, consOutCons)
	prod, err2 := mem.LoadUint32(ring, consOutProd)
	if err1 != nil || err2 != nil {
		return
	}
	n := prod - cons
	if n == 0 {
		return
	}
	if n > consOutSize {
		p.v.guestFault("console ring producer ahead of consumer", "prod", prod, "cons", cons)
		mem.StoreUint32(ring, consOutCons, prod)
		p.consEP.Notify()
		return
	}
	buf := make([]byte, n)
	for i := uint32(0); i < n; i++ {
		buf[i] = ring[consOutOff+int((cons+i)%consOutSize)]
	}
	p.v.consoleWrite(buf)
	mem.StoreUint32(ring, consOutCons, prod)
	p.consEP.Notify()
}
