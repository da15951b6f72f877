package netback

import (
	"bytes"
	"testing"

	"github.com/xenolith/xenolith/pvdrivers/netsw"
)

// TestTwoVifsOnSwitch connects two served vifs through an in-process
// switch: a frame one guest transmits lands in the other guest's rx buffer,
// with its blank checksum completed on the way.
func TestTwoVifsOnSwitch(t *testing.T) {
	sw := netsw.New("lan", netsw.Options{})
	join := func(v *Vif) { v.SetNetwork(sw.Attach(v.Deliver)) }
	a := serveWith(t, true, true, Config{}, join)
	b := serveWith(t, true, true, Config{}, join)

	b.f.postRx(50, 51)
	b.f.rx.PushRequests()
	b.rxCh.kick()
	fr := udp4Frame([]byte("across the switch"))
	copy(fr[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	fr[14+20+6], fr[14+20+7] = 0, 0
	a.f.g.fill(10, 0, fr)
	a.f.putTx(TxRequest{Gref: 10, Flags: TxCsumBlank, ID: 1, Size: uint16(len(fr))})
	a.f.tx.PushRequests()
	a.txCh.kick()
	var rsps []RxResponse
	waitFor(t, "frame at b", func() bool { rsps = append(rsps, b.f.rxResponses()...); return len(rsps) >= 1 })
	if rsps[0].Status != int16(len(fr)) {
		t.Fatalf("b got %+v", rsps[0])
	}
	got := b.f.g.read(50, len(fr))
	if !validL4(got) || !bytes.Equal(got[14+20+8:], []byte("across the switch")) {
		t.Errorf("frame at b: %x", got)
	}
	if s := sw.Stats(); s.Flooded != 1 || s.Delivered != 1 {
		t.Errorf("switch stats %+v", s)
	}
}
